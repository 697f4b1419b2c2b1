// The ways a process outlives, escapes or imitates a recorded session, as scenarios run on real
// parts (test/scenarios/capture.ts: runc containers from the sandbox's bash+coreutils image, this
// machine's auditd). Each shape carries its truth: which session every exec of the scenario
// belongs to, decided by how the scenario was built, never by what the shim says.
//
// Steps run as the recorder runs a session: `env AUDITED_EXEC_SESSION=<id> bash -c SCRIPT` through
// `runc exec` (or unmarked, as a direct `kubectl exec` would). A shape is done when every file in
// `done` exists in the container's /tmp (its last detached process writes it), so the capture
// waits for the event, never for a time.

export type Label = 'A' | 'B';

export const SESSION_IDS: Record<Label, string> = {
  A: '5c0a1e2b-7d3f-4a6b-9c8d-0e1f2a3b4c5d',
  B: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
};

export interface Step {
  /** the session marker the exec carries; null: an exec nobody recorded */
  session: Label | null;
  script: string;
  tty?: boolean;
  /** start together with the next step instead of waiting for this one to exit */
  concurrent?: boolean;
  /** the host forces a pid reuse after this step (see capture.ts forcePidReuse) */
  reusePidOf?: string;
}

/** The session an exec belongs to: the first rule whose pattern matches its argv (joined by
 *  spaces) decides; an exec no rule matches belongs to no session. */
export interface TruthRule {
  argv: string;
  session: Label | null;
}

export interface Shape {
  name: string;
  about: string;
  /** the container's pid 1 */
  init: string[];
  /** share the host's pid namespace, as a node debug pod does */
  hostPID?: boolean;
  steps: Step[];
  done: string[];
  truth: TruthRule[];
  /** why, under execve-only rules, the log may not link every exec (docs/attribution.md) */
  needsForkRules?: string;
  /** alerts the shim must raise, in every mode (the claimed session for marker alerts) */
  alerts?: { alert: 'marker-forged' | 'unrecorded-tty' | 'unrecorded-exec'; declared?: Label }[];
}

/** What a marked step's own process tree always is: the marker, its shell. */
const sessionRoot = (label: Label): TruthRule[] => [
  { argv: `^env AUDITED_EXEC_SESSION=${SESSION_IDS[label]}`, session: label },
];

/** A child the shell leaves behind may be re-parented before its own first exec: then only its
 *  fork event links it to the session. */
const ORPHAN_BEFORE_EXEC =
  "a child whose shell exits before the child's first exec names only its adopter as parent: without fork events nothing links it to the session";

const SLEEP_INIT = ['sleep', 'infinity'];
/** An init that adopts orphans and keeps starting children of its own, none of them anybody's. */
const LOOP_INIT = ['bash', '-c', 'while :; do /bin/true init-tick; sleep 0.21; done'];
const LOOP_TRUTH: TruthRule[] = [
  { argv: '^bash -c while :; do', session: null },
  { argv: '^/bin/true init-tick$', session: null },
  { argv: '^sleep 0\\.21$', session: null },
];

export const SHAPES: Shape[] = [
  {
    name: 'nohup-after-exit',
    about: 'nohup bash -c "sleep; cat; touch" & in a session whose shell exits at once; init is sleep',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        script: 'nohup bash -c "sleep 0.6; cat /etc/hostname; touch /tmp/ae-done" >/dev/null 2>&1 & exit 0',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'background-after-exit',
    about: 'a subshell and a bash -c put in the background with &, the shell exits at once',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        script:
          '( sleep 0.6; /bin/true bg-subshell; touch /tmp/ae-done1 ) & bash -c "sleep 0.5; /bin/true bg-inner; touch /tmp/ae-done2" & exit 0',
      },
    ],
    done: ['ae-done1', 'ae-done2'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'daemonize',
    about: 'setsid and a double fork: the daemon is re-parented twice and leaves the session',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        script:
          'setsid bash -c "( sleep 0.6; /bin/true daemon-1; /bin/cat /etc/hostname; touch /tmp/ae-done ) & exit 0" </dev/null >/dev/null 2>&1 & exit 0',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'disown',
    about: 'a job disowned by an interactive-style shell that then exits',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        script: 'bash -c "sleep 0.6; /bin/true disowned; touch /tmp/ae-done" & disown; exit 0',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'exec-chain',
    about: 'exec env … bash -c …; exec true: one pid through several programs',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        script: "exec env CHAIN=1 bash -c '/bin/true chain-1; touch /tmp/ae-done; exec /bin/true chain-end'",
      },
    ],
    done: ['ae-done'],
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'init-loop-adopts',
    about: "a nohup'd child re-parented to an init that is a shell loop exec'ing children of its own",
    init: LOOP_INIT,
    steps: [
      {
        session: 'A',
        script:
          'nohup bash -c "sleep 0.7; /bin/cat /etc/hostname; /bin/true adopted; touch /tmp/ae-done" >/dev/null 2>&1 & exit 0',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...LOOP_TRUTH, ...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'tini-init',
    about: 'orphans go to tini, the container init that reaps them',
    init: ['tini', '--', 'sleep', 'infinity'],
    steps: [
      {
        session: 'A',
        script:
          'nohup bash -c "sleep 0.6; /bin/true under-tini; touch /tmp/ae-done" >/dev/null 2>&1 & exit 0',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [
      { argv: '^tini ', session: null },
      { argv: '^sleep infinity$', session: null },
      ...sessionRoot('A'),
      { argv: '.', session: 'A' },
    ],
  },
  {
    name: 'subreaper',
    about:
      'tini -s as a child subreaper inside the session: the orphan goes to it, then (tini gone) to the init',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        script:
          'tini -s -- bash -c \'nohup bash -c "sleep 0.6; /bin/true subreaped; touch /tmp/ae-done" >/dev/null 2>&1 & sleep 0.2\'',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'host-session',
    about:
      "a session in a host-pid container (a node debug pod): its orphan goes to the host's pid 1 or a subreaper",
    init: SLEEP_INIT,
    hostPID: true,
    steps: [
      {
        session: 'A',
        script:
          'nohup bash -c "sleep 0.6; /bin/true host-orphan; /bin/cat /etc/hostname; touch /tmp/ae-done" >/dev/null 2>&1 & exit 0',
      },
    ],
    done: ['ae-done'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [...sessionRoot('A'), { argv: '.', session: 'A' }],
  },
  {
    name: 'two-sessions',
    about: 'two sessions at once in one container, each leaving a child behind',
    init: SLEEP_INIT,
    steps: [
      {
        session: 'A',
        concurrent: true,
        script:
          'nohup bash -c "sleep 0.51; /bin/true from-a; touch /tmp/ae-done-a" >/dev/null 2>&1 & /bin/true a-fg; sleep 0.11',
      },
      {
        session: 'B',
        script:
          'nohup bash -c "sleep 0.52; /bin/true from-b; touch /tmp/ae-done-b" >/dev/null 2>&1 & /bin/true b-fg; sleep 0.12',
      },
    ],
    done: ['ae-done-a', 'ae-done-b'],
    needsForkRules: ORPHAN_BEFORE_EXEC,
    truth: [
      ...sessionRoot('A'),
      ...sessionRoot('B'),
      { argv: 'from-a|a-fg|ae-done-a|^sleep 0\\.(51|11)$', session: 'A' },
      { argv: 'from-b|b-fg|ae-done-b|^sleep 0\\.(52|12)$', session: 'B' },
    ],
  },
  {
    name: 'unmarked-exec',
    about: 'an exec nobody recorded (a direct kubectl exec), with and without a tty, beside a session',
    init: SLEEP_INIT,
    steps: [
      { session: 'A', concurrent: true, script: '/bin/true in-session; sleep 0.3' },
      { session: null, tty: true, script: '/bin/true unmarked-tty; /bin/cat /etc/hostname' },
      { session: null, script: '/bin/true unmarked-plain; touch /tmp/ae-done' },
    ],
    done: ['ae-done'],
    truth: [
      ...sessionRoot('A'),
      { argv: 'in-session|^sleep 0\\.3$', session: 'A' },
      { argv: '.', session: null },
    ],
    alerts: [{ alert: 'unrecorded-tty' }, { alert: 'unrecorded-exec' }],
  },
  {
    name: 'forged-marker',
    about:
      "a workload in the container (an unrecorded exec) claims session A's marker while A is open: never A's",
    init: LOOP_INIT,
    steps: [
      { session: 'A', concurrent: true, script: '/bin/true real-a; sleep 0.4' },
      {
        session: null,
        // a service of the container (its shell forks the env): not what the runtime started
        script: `/bin/true workload; env AUDITED_EXEC_SESSION=${SESSION_IDS.A} bash -c "/bin/true forged-1; touch /tmp/ae-done"`,
      },
    ],
    done: ['ae-done'],
    truth: [
      ...LOOP_TRUTH,
      { argv: 'forged-1', session: null },
      { argv: 'real-a|^sleep 0\\.4$', session: 'A' },
      ...sessionRoot('A'),
    ],
    alerts: [{ alert: 'marker-forged', declared: 'A' }],
  },
  {
    name: 'pid-reuse',
    about: "a session's process exits and the init loop's next child gets its pid (forced with ns_last_pid)",
    init: LOOP_INIT,
    steps: [
      { session: 'A', script: 'sleep 0.37; /bin/true after-reuse', reusePidOf: 'sleep 0.37' },
      { session: null, script: 'touch /tmp/ae-done' },
    ],
    done: ['ae-done'],
    truth: [...LOOP_TRUTH, ...sessionRoot('A'), { argv: 'sleep 0\\.37|after-reuse', session: 'A' }],
    needsForkRules:
      'with execve-only rules nothing in the log tells a pid handed out again from the same process re-parented; the process table marks such an exec inferred',
  },
];
