// The debug pod must be the one `kubectl debug node/NODE --profile P` creates (kubectl
// pkg/cmd/debug generateNodeDebugPod + profiles.go, node style), plus our marker and labels.
import { describe, expect, it } from 'vitest';
import type { DebugProfile } from '../../../../../common/wire.ts';
import {
  DEBUG_POD_SELECTOR,
  debugPodName,
  nodeDebugPod,
  randomSuffix,
  SUFFIX_ALPHABET,
} from '../../../../../server/sessions/drivers/node-debug/pod-spec.ts';
import {
  containerStart,
  progressLine,
  timeoutMessage,
  waitingDetail,
} from '../../../../../server/sessions/drivers/node-debug/start.ts';
import { validateCreateRequest } from '../../../../../server/sessions/validate.ts';

const SESSION = '0b7e3a52-4c1d-4f6e-9a2b-3c4d5e6f7a8b';

function pod(profile: DebugProfile, extra: Partial<Parameters<typeof nodeDebugPod>[0]> = {}) {
  return nodeDebugPod({
    node: 'worker-1',
    image: 'busybox:1.36',
    profile,
    sessionId: SESSION,
    user: 'alice',
    namespace: 'audited-exec-debug',
    command: [],
    stdin: true,
    tty: true,
    suffix: 'x7k2q',
    ...extra,
  });
}

const HOST_ROOT_VOLUME = [{ name: 'host-root', hostPath: { path: '/' } }];
const HOST_ROOT_MOUNT = [{ name: 'host-root', mountPath: '/host' }];
const HOST_NS = { hostNetwork: true, hostPID: true, hostIPC: true };

describe('nodeDebugPod: what every profile shares (generateNodeDebugPod)', () => {
  it('names, schedules, tolerates, never restarts, and marks the session', () => {
    const p = pod('general', { reason: 'disk full', ticket: 'OPS-1' });
    expect(p.metadata).toEqual({
      name: 'node-debugger-worker-1-x7k2q',
      namespace: 'audited-exec-debug',
      labels: { 'app.kubernetes.io/managed-by': 'audited-exec', 'audited-exec.io/session': SESSION },
      annotations: {
        'audited-exec.io/user': 'alice',
        'audited-exec.io/reason': 'disk full',
        'audited-exec.io/ticket': 'OPS-1',
      },
    });
    expect(p.spec.nodeName).toBe('worker-1');
    expect(p.spec.restartPolicy).toBe('Never');
    expect(p.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    const [c] = p.spec.containers;
    expect(c).toMatchObject({
      name: 'debugger',
      image: 'busybox:1.36',
      stdin: true,
      tty: true,
      terminationMessagePolicy: 'File',
      env: [{ name: 'AUDITED_EXEC_SESSION', value: SESSION }],
    });
    expect(c).not.toHaveProperty('command');
  });

  it('sets the command (not args) only when one is given, as kubectl without --arguments-only', () => {
    const p = pod('legacy', { command: ['chroot', '/host', 'bash'], stdin: false, tty: false });
    // The session marker leads the entry's argv, so the audit log itself names the session.
    expect(p.spec.containers[0].command).toEqual([
      'env',
      `AUDITED_EXEC_SESSION=${SESSION}`,
      'chroot',
      '/host',
      'bash',
    ]);
    expect(p.spec.containers[0]).not.toHaveProperty('args');
    expect(p.spec.containers[0]).toMatchObject({ stdin: false, tty: false });
  });

  it('uses kubectl name suffixes: five characters without vowels', () => {
    let i = 0;
    const s = randomSuffix(() => i++);
    expect(s).toBe(SUFFIX_ALPHABET.slice(0, 5));
    expect(debugPodName('n', s)).toBe('node-debugger-n-bcdfg');
    expect(DEBUG_POD_SELECTOR).toBe('app.kubernetes.io/managed-by=audited-exec,audited-exec.io/session');
  });
});

describe('nodeDebugPod: one pod per profile (profiles.go, node style)', () => {
  it('legacy: host namespaces and / at /host, no security context', () => {
    const p = pod('legacy');
    expect(p.spec).toMatchObject({ ...HOST_NS, volumes: HOST_ROOT_VOLUME });
    expect(p.spec.containers[0].volumeMounts).toEqual(HOST_ROOT_MOUNT);
    expect(p.spec.containers[0]).not.toHaveProperty('securityContext');
  });

  it('general: the same as legacy with the container security context cleared', () => {
    const p = pod('general');
    expect(p.spec).toMatchObject({ ...HOST_NS, volumes: HOST_ROOT_VOLUME });
    expect(p.spec.containers[0].volumeMounts).toEqual(HOST_ROOT_MOUNT);
    expect(p.spec.containers[0]).not.toHaveProperty('securityContext');
  });

  it('baseline: isolated namespaces, no host mount, no security context', () => {
    const p = pod('baseline');
    for (const k of ['hostNetwork', 'hostPID', 'hostIPC', 'volumes'] as const)
      expect(p.spec).not.toHaveProperty(k);
    expect(p.spec.containers[0]).not.toHaveProperty('volumeMounts');
    expect(p.spec.containers[0]).not.toHaveProperty('securityContext');
  });

  it('restricted: non-root, all capabilities dropped, no escalation, RuntimeDefault seccomp', () => {
    const p = pod('restricted');
    for (const k of ['hostNetwork', 'hostPID', 'hostIPC', 'volumes'] as const)
      expect(p.spec).not.toHaveProperty(k);
    expect(p.spec.containers[0].securityContext).toEqual({
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('netadmin: host namespaces and NET_ADMIN + NET_RAW, but no host filesystem', () => {
    const p = pod('netadmin');
    expect(p.spec).toMatchObject(HOST_NS);
    expect(p.spec).not.toHaveProperty('volumes');
    expect(p.spec.containers[0]).not.toHaveProperty('volumeMounts');
    expect(p.spec.containers[0].securityContext).toEqual({ capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } });
  });

  it('sysadmin: privileged, host namespaces and / at /host', () => {
    const p = pod('sysadmin');
    expect(p.spec).toMatchObject({ ...HOST_NS, volumes: HOST_ROOT_VOLUME });
    expect(p.spec.containers[0].volumeMounts).toEqual(HOST_ROOT_MOUNT);
    expect(p.spec.containers[0].securityContext).toEqual({ privileged: true });
  });
});

describe('debug container start state', () => {
  it('is running or terminated from the container status, waiting otherwise', () => {
    const running = {
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'debugger', containerID: `runc://${'a'.repeat(64)}`, state: { running: {} } },
        ],
      },
    };
    expect(containerStart(running, 'debugger')).toEqual({ state: 'running', containerId: 'a'.repeat(64) });
    const exited = {
      status: {
        containerStatuses: [
          { name: 'debugger', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      },
    };
    expect(containerStart(exited, 'debugger')).toMatchObject({ state: 'terminated' });
    expect(containerStart({ status: { phase: 'Failed', reason: 'StartError' } }, 'debugger')).toMatchObject({
      state: 'terminated',
      detail: 'pod Failed: StartError',
    });
    expect(containerStart({ status: { phase: 'Pending' } }, 'debugger')).toEqual({
      state: 'waiting',
      detail: 'pod phase Pending',
    });
  });

  it('names the most specific reason the pod is not running', () => {
    const pulling = {
      status: {
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes' },
        ],
        containerStatuses: [
          { name: 'debugger', state: { waiting: { reason: 'ErrImagePull', message: 'pull access denied' } } },
        ],
      },
    };
    expect(waitingDetail(pulling, 'debugger')).toBe(
      'container debugger waiting: ErrImagePull: pull access denied',
    );
    delete (pulling.status as { containerStatuses?: unknown }).containerStatuses;
    expect(waitingDetail(pulling, 'debugger')).toBe('PodScheduled: Unschedulable: 0/1 nodes');
    expect(progressLine('ns/p', 3200, 'pod phase Pending')).toBe(
      'waiting for pod ns/p to start (3s): pod phase Pending…',
    );
    expect(timeoutMessage(120_000, 'pod phase Pending')).toBe(
      'the debug pod did not start within 120s: pod phase Pending',
    );
  });
});

describe('node-debug requests', () => {
  it('may omit the command (the image default runs), unlike exec', () => {
    expect(
      validateCreateRequest({ kind: 'node-debug', node: 'worker-1', tty: true, stdin: true }),
    ).toMatchObject({
      kind: 'node-debug',
      node: 'worker-1',
      command: [],
    });
    expect(() => validateCreateRequest({ kind: 'exec', namespace: 'default', pod: 'web' })).toThrow(
      'command must be a non-empty list of strings',
    );
  });
});
