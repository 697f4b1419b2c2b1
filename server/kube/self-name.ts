// The recorder's own username as the apiserver sees it (SelfSubjectReview): stored on each session
// as its impersonator. Asked when first needed and kept once known; a failure is logged and asked
// again next time.
import { errorMessage } from '../../common/errors.ts';
import type { KubeClient } from './client.ts';

export function selfName(kube: KubeClient, log: (line: string) => void): () => Promise<string | undefined> {
  let known: string | undefined;
  return async () => {
    if (known) return known;
    try {
      const res = await kube.request<{ status?: { userInfo?: { username?: string } } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      known = res.body?.status?.userInfo?.username;
    } catch (err) {
      log(`warning: the recorder cannot learn its own name (SelfSubjectReview): ${errorMessage(err)}`);
    }
    return known;
  };
}
