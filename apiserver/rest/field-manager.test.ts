import test from 'ava';
import { ApiError } from '../../api/errors';
import type { ManagedFieldsEntry } from '../../api/gen/tsk/v1/meta';
import { managerOf, prefixFromUserAgent, requestedManagedFields, updateRecorder } from './field-manager';

test("the manager is the fieldManager, else the User-Agent's part before the first '/'", (t) => {
  t.is(managerOf('kubectl-client-side-apply', 'kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd', 'PatchOptions'), 'kubectl-client-side-apply');
  t.is(managerOf(null, 'kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd', 'PatchOptions'), 'kubectl');
  t.is(managerOf('', undefined, 'CreateOptions'), '');
  t.is(prefixFromUserAgent('my\u0007tool/1.0'), 'mytool');
  t.is(prefixFromUserAgent('x'.repeat(200)).length, 128);
});

test('a fieldManager too long or with unprintable characters is a 422 on the options kind', (t) => {
  const long = t.throws(() => managerOf('m'.repeat(129), undefined, 'CreateOptions'), { instanceOf: ApiError });
  t.is(long?.httpCode, 422);
  t.is(long?.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes');
  t.throws(() => managerOf('a\tb', undefined, 'UpdateOptions'), {
    message: 'UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\tb": invalid character U+0009 (at position 1)',
  });
});

test('requestedManagedFields tells an absent list from an empty one', (t) => {
  t.is(requestedManagedFields({ metadata: { name: 'x' } }), undefined);
  t.deepEqual(requestedManagedFields({ metadata: { managedFields: [] } }), []);
});

const rc = (replicas: number, managedFields?: ManagedFieldsEntry[]) => ({
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, ...(managedFields ? { managedFields } : {}) },
  spec: { replicas, selector: { app: 'web' } },
});

test('the registry step records on the objects themselves: fieldsV1 as JSON text, the live entries kept when nothing changed', (t) => {
  const now = (): Date => new Date('2026-12-07T08:00:00.700Z');
  const created = rc(2);
  updateRecorder('ReplicationController', { manager: 'kubectl-create', now })(created, undefined);
  t.is(created.metadata.managedFields?.length, 1);
  t.like(created.metadata.managedFields?.[0], {
    manager: 'kubectl-create',
    operation: 'Update',
    apiVersion: 'v1',
    time: '2026-12-07T08:00:00Z',
    fieldsType: 'FieldsV1',
  });
  t.is(typeof created.metadata.managedFields?.[0]?.fieldsV1, 'string');

  const same = rc(2);
  updateRecorder('ReplicationController', { manager: 'kubectl-edit', now })(same, created);
  t.is(same.metadata.managedFields, created.metadata.managedFields);

  const scaled = rc(3, created.metadata.managedFields);
  const later = (): Date => new Date('2026-12-07T08:01:00Z');
  updateRecorder('ReplicationController', { manager: 'kubectl', subresource: 'scale', now: later })(scaled, created);
  t.deepEqual(
    scaled.metadata.managedFields?.map((e) => [e.manager, e.subresource ?? '', JSON.parse(e.fieldsV1 ?? '{}') as unknown]),
    [
      ['kubectl-create', '', { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:selector': { '.': {}, 'f:app': {} } } }],
      ['kubectl', 'scale', { 'f:spec': { 'f:replicas': {} } }],
    ],
  );
});

test('a /status write is its own entry with subresource status; the fields it sent in managedFields are ignored', (t) => {
  const now = (): Date => new Date('2026-12-07T08:00:00Z');
  const old = { ...rc(2), status: { replicas: 0 } };
  updateRecorder('ReplicationController', { manager: 'kubectl-create', now })(old, undefined);
  const next = { ...rc(2, old.metadata.managedFields), status: { replicas: 2, readyReplicas: 1 } };
  const sent = [{ manager: 'forged', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
  updateRecorder('ReplicationController', { manager: 'kube-controller-manager', subresource: 'status', requested: sent, now })(next, old);
  const status = next.metadata.managedFields?.find((e) => e.subresource === 'status');
  t.like(status, { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1' });
  t.deepEqual(JSON.parse(status?.fieldsV1 ?? '{}'), { 'f:status': { 'f:readyReplicas': {}, 'f:replicas': {} } });
  t.false(next.metadata.managedFields?.some((e) => e.manager === 'forged'));
});
