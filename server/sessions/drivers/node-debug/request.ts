// A node-debug request names its node, and may name an image, a namespace and a profile. It may
// omit the command, like `kubectl debug node/N -it --image I`: the image's default runs.
import type { DebugProfile } from '../../../../common/wire.ts';
import type { RequestShape } from '../../driver.ts';
import { invalid, isDnsLabel, isDnsSubdomain, optionalText } from '../../request-fields.ts';

const PROFILES: DebugProfile[] = ['legacy', 'general', 'baseline', 'restricted', 'netadmin', 'sysadmin'];

export const nodeDebugRequest: RequestShape = {
  defaultCommand: [],
  target(b, req) {
    const node = optionalText(b.node, 'node') ?? invalid('node is required for node-debug sessions');
    if (!isDnsSubdomain(node)) invalid(`node "${node}" is not a valid node name`);
    req.node = node;
    const image = optionalText(b.image, 'image');
    if (image !== undefined) req.image = image;
    const namespace = optionalText(b.namespace, 'namespace');
    if (namespace !== undefined) {
      if (!isDnsLabel(namespace)) invalid(`namespace "${namespace}" is not a valid namespace name`);
      req.namespace = namespace;
    }
    if (b.profile !== undefined) {
      if (!PROFILES.includes(b.profile as DebugProfile))
        invalid(`profile must be one of ${PROFILES.join(', ')}`);
      req.profile = b.profile as DebugProfile;
    }
  },
};
