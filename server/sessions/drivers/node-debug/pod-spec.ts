// The pod `kubectl debug node/NODE` creates, reproduced faithfully (kubectl
// staging/src/k8s.io/kubectl/pkg/cmd/debug: debug.go generateNodeDebugPod + profiles.go, node style),
// plus what makes it ours: the session marker for the shim, and the labels/annotations start-up
// cleanup and auditors look for. Pure: the random suffix is passed in.
//
// The marker is in the entry's argv (`env AUDITED_EXEC_SESSION=<id> CMD…`) whenever a command is
// given: the audit log then carries it in the container's first execve, so the shim needs nothing
// from /proc. `-- sh -c 'hostname; uname -r'` is over in milliseconds, before the shim could read
// the process's environment. Without a command the image's own entrypoint runs (which we cannot
// wrap without knowing it); then only the container environment carries the marker, read from /proc
// while the entry runs (an interactive shell waits for its user).
import { markedCommand, SESSION_LABEL, SESSION_VAR } from '../../../../common/session-marker.ts';
import type { DebugProfile } from '../../../../common/wire.ts';

export const USER_ANNOTATION = 'audited-exec.io/user';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'audited-exec';
/** Selects every debug pod a recorder made (start-up cleanup). */
export const DEBUG_POD_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY},${SESSION_LABEL}`;
/** kubectl's container name for node debugging. */
export const DEBUG_CONTAINER = 'debugger';

// The slice of core/v1 the debug pod uses; field names as the API spells them.
export interface SecurityContext {
  privileged?: boolean;
  runAsNonRoot?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}

export interface DebugContainer {
  name: string;
  image: string;
  command?: string[];
  env: { name: string; value: string }[];
  stdin: boolean;
  tty: boolean;
  terminationMessagePolicy: 'File';
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface DebugPod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    containers: [DebugContainer];
    nodeName: string;
    restartPolicy: 'Never';
    tolerations: { operator: 'Exists' }[];
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    volumes?: { name: string; hostPath: { path: string } }[];
  };
}

export interface NodeDebugPodOptions {
  node: string;
  image: string;
  profile: DebugProfile;
  sessionId: string;
  user: string;
  namespace: string;
  /** Empty: the image's own entrypoint (kubectl sets Command only when given args). */
  command: string[];
  stdin: boolean;
  tty: boolean;
  /** Five characters from SUFFIX_ALPHABET (kubectl's utilrand.String(5)). */
  suffix: string;
  reason?: string;
  ticket?: string;
}

/** k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable characters. */
export const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(random: (n: number) => number): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[random(SUFFIX_ALPHABET.length)];
  return s;
}

export function debugPodName(node: string, suffix: string): string {
  return `node-debugger-${node}-${suffix}`;
}

export function nodeDebugPod(o: NodeDebugPodOptions): DebugPod {
  const container: DebugContainer = {
    name: DEBUG_CONTAINER,
    image: o.image,
    ...(o.command.length ? { command: markedCommand(o.sessionId, o.command) } : {}),
    env: [{ name: SESSION_VAR, value: o.sessionId }],
    stdin: o.stdin,
    tty: o.tty,
    terminationMessagePolicy: 'File',
  };
  const annotations: Record<string, string> = { [USER_ANNOTATION]: o.user };
  if (o.reason) annotations['audited-exec.io/reason'] = o.reason;
  if (o.ticket) annotations['audited-exec.io/ticket'] = o.ticket;
  const pod: DebugPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: debugPodName(o.node, o.suffix),
      namespace: o.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SESSION_LABEL]: o.sessionId },
      annotations,
    },
    spec: {
      containers: [container],
      nodeName: o.node,
      restartPolicy: 'Never',
      tolerations: [{ operator: 'Exists' }],
    },
  };
  PROFILES[o.profile](pod, container);
  return pod;
}

// profiles.go, node style only. The base pod has no securityContext, so "clear" is a no-op kept
// for the profiles that call it, to read like the original.
const PROFILES: Record<DebugProfile, (pod: DebugPod, c: DebugContainer) => void> = {
  legacy: (pod, c) => {
    mountRootPartition(pod, c);
    useHostNamespaces(pod);
  },
  general: (pod, c) => {
    mountRootPartition(pod, c);
    delete c.securityContext;
    useHostNamespaces(pod);
  },
  baseline: (_pod, c) => {
    delete c.securityContext;
  },
  restricted: (_pod, c) => {
    c.securityContext = {
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    };
  },
  netadmin: (pod, c) => {
    c.securityContext = { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } };
    useHostNamespaces(pod);
  },
  sysadmin: (pod, c) => {
    c.securityContext = { privileged: true };
    useHostNamespaces(pod);
    mountRootPartition(pod, c);
  },
};

function mountRootPartition(pod: DebugPod, c: DebugContainer): void {
  pod.spec.volumes = [...(pod.spec.volumes ?? []), { name: 'host-root', hostPath: { path: '/' } }];
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'host-root', mountPath: '/host' }];
}

function useHostNamespaces(pod: DebugPod): void {
  pod.spec.hostNetwork = true;
  pod.spec.hostPID = true;
  pod.spec.hostIPC = true;
}
