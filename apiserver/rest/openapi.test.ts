import test from 'ava';
import { createHash } from 'node:crypto';
import type { JsonObject } from '../../api/codec';
import { KINDS, KIND_NAMES } from '../../api/kinds';
import { openapiDocument } from './openapi';

type Obj = Record<string, unknown>;
const doc = (path: string): Obj => {
  const d = openapiDocument(path);
  if (!d) throw new Error(`no document at ${path}`);
  return d as Obj;
};
const at = (o: unknown, ...keys: string[]): Obj => keys.reduce((cur, k) => (cur as Obj)[k] as Obj, o as Obj);

/** Every $ref of a document, to check they all resolve. */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref') out.push(String(x));
      else refs(x, out);
    }
  }
  return out;
}

test('/openapi/v3 lists each group/version with its hashed serverRelativeURL', (t) => {
  const paths = at(doc('/openapi/v3'), 'paths');
  t.deepEqual(Object.keys(paths).sort(), ['api/v1', 'apis/coordination.k8s.io/v1']);
  const url = String(at(paths, 'api/v1')['serverRelativeURL']);
  const hash = createHash('sha512')
    .update(JSON.stringify(openapiDocument('/openapi/v3/api/v1')))
    .digest('hex')
    .toUpperCase();
  t.is(url, `/openapi/v3/api/v1?hash=${hash}`);
  // kubectl fetches that very URL, query and all.
  t.is(openapiDocument(url), openapiDocument('/openapi/v3/api/v1'));
  t.is(openapiDocument('/openapi/v3/apis/apps/v1'), undefined);
  t.is(openapiDocument('/openapi/v1'), undefined);
});

test('v3 api/v1: what kubectl explain pod.spec.containers walks', (t) => {
  const v3 = doc('/openapi/v3/api/v1');
  t.is(v3['openapi'], '3.0.0');
  const schemas = at(v3, 'components', 'schemas');
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.Pod')['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.Pod', 'properties', 'spec'), {
    allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }],
    default: {},
  });
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.PodSpec', 'properties', 'containers'), {
    type: 'array',
    items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.Container' }], default: {} },
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': 'name',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
  });
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.Container')['required'], ['name']);
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.Container', 'properties', 'args'), {
    type: 'array',
    items: { type: 'string' },
    'x-kubernetes-list-type': 'atomic',
  });
  // Descriptions are the proto comments.
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.ServicePort', 'properties', 'targetPort'), {
    description: 'A number or a named container port; defaults to port.',
    allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }],
    default: {},
  });
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.Container', 'properties', 'imagePullPolicy'), {
    description: "Always, IfNotPresent or Never; defaulted from the image's tag.",
    type: 'string',
  });
  t.deepEqual(at(schemas, 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'), { type: 'string', format: 'int-or-string' });
  t.deepEqual(at(schemas, 'io.k8s.api.core.v1.ResourceRequirements', 'properties', 'limits', 'additionalProperties'), {
    allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' }],
    default: {},
  });
  t.truthy(at(schemas, 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'properties', 'managedFields'));
  // fieldsV1 is JSON text in proto but an object on the wire.
  t.deepEqual(at(schemas, 'io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry', 'properties', 'fieldsV1', 'allOf'), [
    { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1' },
  ]);
  t.is(at(schemas, 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1')['type'], 'object');
  t.is(schemas['io.k8s.api.coordination.v1.Lease'], undefined, 'a group/version document holds its own kinds');
  for (const r of refs(v3)) t.truthy(schemas[r.replace('#/components/schemas/', '')], r);
});

test('v3: every kind has a PATCH with x-kubernetes-group-version-kind and the fieldValidation query parameter (kubectl --validate=strict)', (t) => {
  for (const name of KIND_NAMES) {
    const k = KINDS[name];
    const gvPath = k.group === '' ? 'api/v1' : `apis/${k.group}/${k.version}`;
    const paths = Object.values(at(doc(`/openapi/v3/${gvPath}`), 'paths')) as Obj[];
    // kubectl's queryParamVerifierV3: the first PATCH operation of the GVK decides.
    const patch = paths
      .map((p) => p['patch'] as Obj | undefined)
      .find((op) => op && JSON.stringify(op['x-kubernetes-group-version-kind']) === JSON.stringify({ group: k.group, kind: k.kind, version: k.version }));
    t.truthy(patch, k.kind);
    t.true(
      (patch!['parameters'] as Obj[]).some((p) => p['name'] === 'fieldValidation' && p['in'] === 'query'),
      k.kind,
    );
  }
  const podPaths = at(doc('/openapi/v3/api/v1'), 'paths');
  t.deepEqual(
    Object.keys(podPaths).filter((p) => p.includes('/pods')),
    ['/api/v1/namespaces/{namespace}/pods', '/api/v1/namespaces/{namespace}/pods/{name}', '/api/v1/namespaces/{namespace}/pods/{name}/status', '/api/v1/pods'],
  );
  t.is(at(podPaths, '/api/v1/namespaces/{namespace}/pods/{name}', 'patch')['operationId'], 'patchCoreV1NamespacedPod');
  t.deepEqual(Object.keys(at(podPaths, '/api/v1/namespaces/{namespace}/pods/{name}', 'patch', 'requestBody', 'content')), [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
    'application/apply-patch+yaml',
  ]);
});

test("v2: Swagger 2.0 with every kind and list under Kubernetes' definition names", (t) => {
  const v2 = doc('/openapi/v2');
  t.is(v2['swagger'], '2.0');
  const defs = at(v2, 'definitions');
  for (const name of KIND_NAMES) {
    const k = KINDS[name];
    const pkg = k.group === '' ? 'io.k8s.api.core.v1' : `io.k8s.api.${k.group.split('.')[0]}.v1`;
    t.deepEqual(at(defs, `${pkg}.${k.kind}`)['x-kubernetes-group-version-kind'], [{ group: k.group, kind: k.kind, version: k.version }]);
    t.deepEqual(at(defs, `${pkg}.${k.listKind}`)['x-kubernetes-group-version-kind'], [{ group: k.group, kind: k.listKind, version: k.version }]);
  }
  t.deepEqual(at(defs, 'io.k8s.api.core.v1.ServiceSpec', 'properties', 'ports'), {
    type: 'array',
    items: { $ref: '#/definitions/io.k8s.api.core.v1.ServicePort' },
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': 'port',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['port', 'protocol'],
  });
  t.deepEqual(at(defs, 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'properties', 'creationTimestamp'), {
    $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  });
  for (const r of refs(v2)) t.truthy(defs[r.replace('#/definitions/', '')], r);
  t.false(JSON.stringify(v2 as JsonObject).includes('tsk.v1'), 'no tsk proto names leak');
});
