// The contracts that name a session outside the recorder, defined once for every part: the id's
// form, the marker the recorder puts on a command (and the shim reads back from the audit log or a
// process's environment), and the impersonation extra and pod label the API server sees. Pure.

/** Session ids are lower-case UUID v4: nothing else reaches a file path, a query or a marker. */
export const SESSION_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isSessionId(s: string): boolean {
  return SESSION_ID_RE.test(s);
}

/** The environment variable of the marker (`env AUDITED_EXEC_SESSION=<id> CMD…`). */
export const SESSION_VAR = 'AUDITED_EXEC_SESSION';
const PREFIX = `${SESSION_VAR}=`;

/** The impersonation extra (`Impersonate-Extra-audited-exec.io-session`) a recorded exec carries. */
export const SESSION_EXTRA = 'audited-exec.io/session';
/** The label a node debug pod carries. */
export const SESSION_LABEL = 'audited-exec.io/session';

/** The command as the recorder runs it: `env` sets the marker and execs the command in its pid. */
export function markedCommand(session: string, command: readonly string[]): string[] {
  return ['env', `${PREFIX}${session}`, ...command];
}

/** The session an `env` exec declares, or null. Only env's own NAME=VALUE operands count (up to
 *  the command it runs), so a command that merely mentions the marker declares nothing. */
export function markerOf(argv: readonly string[]): string | null {
  const argv0 = argv[0];
  if (argv0 === undefined || (argv0 !== 'env' && !argv0.endsWith('/env'))) return null;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith(PREFIX)) {
      const id = arg.slice(PREFIX.length);
      if (isSessionId(id)) return id;
      continue;
    }
    if (arg.startsWith('-') || arg.includes('=')) continue;
    break;
  }
  return null;
}

/** The session a process environment (NAME=VALUE strings) carries, or null. */
export function markerInEnviron(environ: readonly string[]): string | null {
  for (const kv of environ) {
    if (kv.startsWith(PREFIX)) {
      const id = kv.slice(PREFIX.length);
      return isSessionId(id) ? id : null;
    }
  }
  return null;
}
