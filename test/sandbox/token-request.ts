// POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token (TokenRequest), as the real apiserver:
// a service-account token for the audiences asked (the apiserver's own by default), for up to the
// seconds asked; bound to a pod when asked, which names the pod's node in the token (as the
// kubelet's projected tokens do), so the recorder reads the shim's node from it. Pure but for the
// signing the Authenticator does.
import { HttpError } from './http.ts';
import { API_AUDIENCE, type Authenticator } from './identity.ts';

export interface TokenRequestBody {
  spec?: {
    audiences?: string[];
    expirationSeconds?: number | string;
    boundObjectRef?: { kind?: string; name?: string };
  };
}

/** Within the range the apiserver allows: 10 minutes to 48 hours (default 1 hour). */
const MIN_SECONDS = 600;
const MAX_SECONDS = 48 * 3600;

export function tokenRequest(
  authn: Pick<Authenticator, 'serviceAccountToken'>,
  o: {
    namespace: string;
    name: string;
    body: TokenRequestBody;
    /** the node a bound pod runs on; undefined when the pod does not exist */
    nodeOfPod: (namespace: string, pod: string) => string | undefined;
    now?: number;
  },
): object {
  const spec = o.body.spec ?? {};
  const seconds = Number(spec.expirationSeconds ?? 3600);
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS) {
    throw new HttpError(
      422,
      `spec.expirationSeconds: Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
    );
  }
  const expirationSeconds = Math.min(seconds, MAX_SECONDS);
  const bound = spec.boundObjectRef;
  let nodeName: string | undefined;
  if (bound?.name) {
    if (bound.kind !== 'Pod') {
      throw new HttpError(
        422,
        `spec.boundObjectRef.kind: Unsupported value: "${bound.kind ?? ''}": supported values: "Pod"`,
      );
    }
    nodeName = o.nodeOfPod(o.namespace, bound.name);
    if (nodeName === undefined) throw new HttpError(404, `pods "${bound.name}" not found`);
  }
  const audiences = spec.audiences?.length ? spec.audiences : undefined;
  const now = o.now ?? Date.now();
  const token = authn.serviceAccountToken(
    {
      namespace: o.namespace,
      name: o.name,
      ...(nodeName ? { nodeName } : {}),
      ...(audiences ? { audiences } : {}),
      expirationSeconds,
    },
    now,
  );
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: o.name, namespace: o.namespace, creationTimestamp: null },
    spec: { audiences: audiences ?? [API_AUDIENCE], expirationSeconds, boundObjectRef: bound ?? null },
    status: {
      token,
      expirationTimestamp: new Date(now + expirationSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}
