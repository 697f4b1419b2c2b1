// The objects a fresh sandbox has: namespaces, the single Node, the two pre-created pods.
import type { PodObject } from './pods.ts';
import type { KubeObject } from './store.ts';

export const NAMESPACES = ['default', 'audited-exec', 'kube-system'];

export function namespaceObject(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export function nodeObject(name: string, hostIP: string, kubeletVersion = 'v1.32.0'): KubeObject {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
    },
    spec: {},
    status: {
      addresses: [
        { type: 'InternalIP', address: hostIP },
        { type: 'Hostname', address: name },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'sandbox node',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      nodeInfo: {
        kubeletVersion,
        containerRuntimeVersion: 'runc://sandbox',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'audited-exec sandbox',
        kernelVersion: '',
        machineID: '',
        systemUUID: '',
        bootID: '',
        kubeProxyVersion: '',
      },
    },
  };
}

function simplePod(
  name: string,
  image: string,
  probes: Partial<PodObject['spec']['containers'][number]> = {},
): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { containers: [{ name: 'app', image, ...probes }] },
  };
}

/** web's exec liveness probe and postStart hook: the kubelet's own execs, which the unrecorded-activity
 *  page must not show. The probe runs every 2 s (the kubelet's default is 10) so tests see one soon. */
export const WEB_LIVENESS = ['cat', '/etc/hostname'];
export const WEB_POST_START = ['/bin/true', 'post-start'];

export const PRESET_PODS: PodObject[] = [
  simplePod('web', 'sandbox/bash', {
    livenessProbe: { exec: { command: WEB_LIVENESS }, periodSeconds: 2 },
    lifecycle: { postStart: { exec: { command: WEB_POST_START } } },
  }),
  simplePod('noenv', 'sandbox/noenv'),
];
