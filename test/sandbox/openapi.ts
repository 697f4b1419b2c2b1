// Just enough OpenAPI v3 for kubectl's create/apply: kubectl validates a manifest either on the
// server (when the GVK's PATCH operation lists the fieldValidation query parameter) or on the
// client (full schemas). Declaring the parameter makes kubectl send ?fieldValidation=Strict and skip
// client-side schemas, which the sandbox does not have.

const KINDS = [
  { kind: 'Pod', plural: 'pods' },
  { kind: 'ConfigMap', plural: 'configmaps' },
];

export function openapiV3Root(): object {
  return { paths: { 'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=sandbox' } } };
}

export function openapiV3CoreV1(): object {
  const paths: Record<string, object> = {};
  for (const { kind, plural } of KINDS) {
    paths[`/api/v1/namespaces/{namespace}/${plural}/{name}`] = {
      patch: {
        'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind },
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        responses: {},
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas: {} },
  };
}
