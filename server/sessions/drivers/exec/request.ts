// An exec request names its pod: namespace and pod are required, as for kubectl exec.
import type { RequestShape } from '../../driver.ts';
import { invalid, isDnsLabel, isDnsSubdomain, optionalText } from '../../request-fields.ts';

export const execRequest: RequestShape = {
  target(b, req) {
    const namespace = optionalText(b.namespace, 'namespace') ?? invalid('namespace is required');
    const pod = optionalText(b.pod, 'pod') ?? invalid('pod is required');
    if (!isDnsLabel(namespace)) invalid(`namespace "${namespace}" is not a valid namespace name`);
    if (!isDnsSubdomain(pod)) invalid(`pod "${pod}" is not a valid pod name`);
    req.namespace = namespace;
    req.pod = pod;
  },
};
