// Record type numbers (linux/audit.h, libaudit) for the names ausearch would print. Logs written by
// the kernel's printk path or by some plugins carry "type=1300" instead of "type=SYSCALL".

const NAMES: Record<string, string> = {
  '1100': 'USER_AUTH',
  '1101': 'USER_ACCT',
  '1103': 'CRED_ACQ',
  '1104': 'CRED_DISP',
  '1105': 'USER_START',
  '1106': 'USER_END',
  '1112': 'USER_LOGIN',
  '1113': 'USER_LOGOUT',
  '1123': 'USER_CMD',
  '1124': 'USER_TTY',
  '1130': 'SERVICE_START',
  '1131': 'SERVICE_STOP',
  '1300': 'SYSCALL',
  '1302': 'PATH',
  '1305': 'CONFIG_CHANGE',
  '1306': 'SOCKADDR',
  '1307': 'CWD',
  '1309': 'EXECVE',
  '1320': 'EOE',
  '1321': 'BPRM_FCAPS',
  '1327': 'PROCTITLE',
  '1331': 'ANOM_LINK',
  '1400': 'AVC',
};

// The types of nearly every line: returned as these constants rather than a fresh slice, so the
// assembler's and exec-event's type comparisons are pointer compares and the slice is never made.
const COMMON = ['SYSCALL', 'PATH', 'PROCTITLE', 'CWD', 'EXECVE', 'BPRM_FCAPS', 'EOE', 'SOCKADDR'];

/** recordTypeName(line.slice(start, end)), without the slice for the common types. */
export function recordTypeAt(line: string, start: number, end: number): string {
  const length = end - start;
  for (let i = 0; i < COMMON.length; i++) {
    const name = COMMON[i]!;
    if (name.length === length && line.startsWith(name, start)) return name;
  }
  return recordTypeName(line.slice(start, end));
}

export function recordTypeName(raw: string): string {
  const c = raw.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) return NAMES[raw] ?? `UNKNOWN[${raw}]`;
  return raw;
}

/** Records a user-space program sends (auditd, PAM, sshd…): always one record per event, so the
 *  assembler can close them at once instead of waiting for a later serial. */
export function isSingleRecordType(type: string): boolean {
  if (type.startsWith('USER_') || type.startsWith('DAEMON_') || type.startsWith('CRED_')) return true;
  switch (type) {
    case 'SERVICE_START':
    case 'SERVICE_STOP':
    case 'SYSTEM_BOOT':
    case 'SYSTEM_SHUTDOWN':
    case 'SYSTEM_RUNLEVEL':
    case 'ADD_USER':
    case 'DEL_USER':
    case 'ADD_GROUP':
    case 'DEL_GROUP':
    case 'GRP_MGMT':
    case 'USYS_CONFIG':
    case 'CRYPTO_KEY_USER':
    case 'CRYPTO_SESSION':
    case 'TTY':
      return true;
    default:
      return false;
  }
}
