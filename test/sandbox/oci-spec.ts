// The OCI runtime config (config.json) runc gets for one container. Pure: spec in, JSON out.
// Own pid/mount/ipc/uts namespaces, host network, container devpts (newinstance) so ttys are the
// container's own pts0..., cgroup at /audited-exec-sandbox/<64-hex id> (the shim reads that id back
// as the last 64-hex segment of /proc/PID/cgroup).
import { CONTAINER_PATH } from './rootfs.ts';
import type { ContainerSpec } from './runtime.ts';

export const CGROUP_PARENT = '/audited-exec-sandbox';

// Linux capability numbers (linux/capability.h), so the set can be cut down to the caller's
// bounding set: runc fails with EPERM on any capability the host process lacks.
const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
};

/** containerd's default set for unprivileged containers. */
const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Parses CapBnd from /proc/self/status text; all bits when absent. */
export function boundingSetFrom(status: string): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : (1n << 64n) - 1n;
}

export function capabilitiesFor(privileged: boolean, bounding: bigint): string[] {
  const wanted = privileged ? Object.keys(CAP_BITS) : DEFAULT_CAPS;
  return wanted.filter((c) => (bounding >> BigInt(CAP_BITS[c]!)) & 1n);
}

export function cgroupPathFor(id: string): string {
  return `${CGROUP_PARENT}/${id}`;
}

export function containerEnv(spec: ContainerSpec): string[] {
  const env: Record<string, string> = {
    PATH: CONTAINER_PATH,
    HOSTNAME: spec.podName,
    HOME: '/root',
    ...(spec.tty ? { TERM: 'xterm' } : {}),
    ...spec.env,
  };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

export function ociConfig(spec: ContainerSpec, rootfs: string, bounding = (1n << 64n) - 1n): object {
  const caps = capabilitiesFor(spec.privileged, bounding);
  const privileged = spec.privileged || spec.mounts.some((m) => m.hostPath === '/');
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: spec.tty,
      user: { uid: 0, gid: 0 },
      args: spec.command,
      env: containerEnv(spec),
      cwd: spec.workingDir ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
      noNewPrivileges: false,
    },
    root: { path: rootfs, readonly: false },
    hostname: spec.podName.slice(0, 63),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...spec.mounts.map((m) => ({
        destination: m.containerPath,
        type: 'bind',
        source: m.hostPath,
        options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'],
      })),
    ],
    linux: {
      cgroupsPath: cgroupPathFor(spec.id),
      resources: { devices: [{ allow: privileged, access: 'rwm' }] },
      namespaces: [
        ...(spec.hostPID ? [] : [{ type: 'pid' }]),
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      ...(privileged
        ? {}
        : {
            maskedPaths: [
              '/proc/acpi',
              '/proc/asound',
              '/proc/kcore',
              '/proc/keys',
              '/proc/latency_stats',
              '/proc/timer_list',
              '/proc/timer_stats',
              '/proc/sched_debug',
              '/sys/firmware',
              '/proc/scsi',
            ],
            readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
          }),
    },
  };
}
