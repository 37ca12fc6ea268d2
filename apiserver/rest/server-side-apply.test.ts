import test from 'ava';
import { ApiError } from '../../api/errors';
import type { JsonMap } from '../../api/patch/shape';
import { ANCIENT_CHANGES, isResetManagedFields, recordUpdate, serverSideApply, updatedManagedFields } from './server-side-apply';

const T0 = '2026-12-07T08:00:00Z';
const T1 = '2026-12-07T08:05:00Z';

const rc = (spec: JsonMap, labels: JsonMap = { app: 'web' }): JsonMap => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', namespace: 'default', labels },
  spec,
});
const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } };
const managed = (o: JsonMap): JsonMap[] => ((o['metadata'] as JsonMap)['managedFields'] ?? []) as JsonMap[];
const apply = (live: JsonMap, config: JsonMap, fieldManager: string, force = false, now = T0): JsonMap =>
  serverSideApply('tsk.v1.ReplicationController', live, config, { fieldManager, force, now });

test('the first apply creates the object and owns exactly its fields', (t) => {
  const out = apply({}, rc({ replicas: 2, template }), 'kubectl');
  t.is((out['spec'] as JsonMap)['replicas'], 2);
  t.deepEqual(managed(out), [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
      },
    },
  ]);
});

test('fields the manager applied before and no longer applies are removed, unless another manager owns them', (t) => {
  const first = apply({}, rc({ replicas: 2, template }, { app: 'web', tier: 'front', team: 'a' }), 'kubectl');
  // Another writer changes the team label: the field is its own now.
  const shared = recordUpdate('tsk.v1.ReplicationController', first, rc({ replicas: 2, template }, { app: 'web', tier: 'front', team: 'b' }), {
    manager: 'labeller',
    now: T1,
  });
  const merged = { ...shared, metadata: { ...(shared['metadata'] as JsonMap), managedFields: managed(shared) } };
  const out = apply(merged, rc({ replicas: 2, template }, { app: 'web' }), 'kubectl', false, T1);
  t.deepEqual((out['metadata'] as JsonMap)['labels'], { app: 'web', team: 'b' });
  const kubectl = managed(out).find((e) => e['manager'] === 'kubectl')!;
  t.deepEqual((kubectl['fieldsV1'] as JsonMap)['f:metadata'], { 'f:labels': { 'f:app': {} } });
  t.deepEqual(
    managed(out).map((e) => e['manager']),
    ['kubectl', 'labeller'],
  );
});

test("a field another manager set conflicts: 409 with Kubernetes' message and causes; force takes it over", (t) => {
  const created = recordUpdate('tsk.v1.ReplicationController', undefined, rc({ replicas: 2, template }), { manager: 'kubectl-client-side-apply', now: T0 });
  const err = t.throws(() => apply(created, rc({ replicas: 3 }), 'kubectl'), { instanceOf: ApiError });
  t.is(err?.reason, 'Conflict');
  t.is(err?.httpCode, 409);
  t.is(err?.message, `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.replicas`);
  t.deepEqual(err?.causes, [{ reason: 'FieldManagerConflict', message: `conflict with "kubectl-client-side-apply" using v1`, field: '.spec.replicas' }]);

  const forced = apply(created, rc({ replicas: 3 }), 'kubectl', true, T1);
  t.is((forced['spec'] as JsonMap)['replicas'], 3);
  const csa = managed(forced).find((e) => e['manager'] === 'kubectl-client-side-apply')!;
  t.false('f:replicas' in ((csa['fieldsV1'] as JsonMap)['f:spec'] as JsonMap));
  // Applying the value the other manager set is no conflict: the field is shared.
  t.notThrows(() => apply(created, rc({ replicas: 2 }), 'kubectl'));
});

test('several conflicts are listed by manager', (t) => {
  const created = recordUpdate('tsk.v1.ReplicationController', undefined, rc({ replicas: 2, template }), { manager: 'editor', now: T0 });
  const err = t.throws(() => apply(created, rc({ replicas: 3, template: { spec: { containers: [{ name: 'nginx', image: 'nginx:2' }] } } }), 'kubectl'), {
    instanceOf: ApiError,
  });
  t.is(
    err?.message,
    `Apply failed with 2 conflicts: conflicts with "editor" using v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image`,
  );
  t.is(err?.causes.length, 2);
});

test('two appliers conflict; an Apply manager is named without apiVersion', (t) => {
  const a = apply({}, rc({ replicas: 2 }), 'ci');
  t.throws(() => apply(a, rc({ replicas: 5 }), 'me'), { message: 'Apply failed with 1 conflict: conflict with "ci": .spec.replicas' });
  // Re-applying the same configuration changes nothing, not even the time.
  t.deepEqual(apply(a, rc({ replicas: 2 }), 'ci', false, T1), a);
});

test('an object written before managed fields were tracked is owned by before-first-apply', (t) => {
  const old = rc({ replicas: 2, template });
  t.throws(() => apply(old, rc({ replicas: 4 }), 'kubectl'), {
    message: 'Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .spec.replicas',
  });
});

test('apply needs a fieldManager (422, as Kubernetes validates PatchOptions); status is not applied', (t) => {
  const err = t.throws(() => serverSideApply('tsk.v1.Pod', {}, { metadata: { name: 'p' } }, { force: false, now: T0 }), { instanceOf: ApiError });
  t.is(err?.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  t.is(err?.httpCode, 422);
  t.throws(
    () => serverSideApply('tsk.v1.Pod', {}, { metadata: { name: 'p', managedFields: [{ manager: 'x' }] } }, { fieldManager: 'm', force: false, now: T0 }),
    {
      message: 'metadata.managedFields must be nil',
    },
  );
  const pod = serverSideApply('tsk.v1.Pod', {}, { metadata: { name: 'p' }, status: { phase: 'Running' } }, { fieldManager: 'm', force: false, now: T0 });
  t.false('status' in pod);
});

test('list items merge by key: a port without protocol is the live TCP port', (t) => {
  const live: JsonMap = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
  };
  const out = serverSideApply(
    'tsk.v1.Pod',
    live,
    { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }] }] } },
    { fieldManager: 'm', force: true, now: T0 },
  );
  t.deepEqual((out['spec'] as JsonMap)['containers'], [{ name: 'c', image: 'x', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }]);
});

test('recordUpdate: the updater owns what it changed and takes it from others; no change keeps the entries', (t) => {
  const applied = apply({}, rc({ replicas: 2, template }), 'kubectl');
  const scaled = recordUpdate(
    'tsk.v1.ReplicationController',
    applied,
    { ...applied, spec: { ...(applied['spec'] as JsonMap), replicas: 5 } },
    { manager: 'kube-controller', now: T1 },
  );
  const entries = managed(scaled);
  t.deepEqual(entries[1], {
    manager: 'kube-controller',
    operation: 'Update',
    apiVersion: 'v1',
    time: T1,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:replicas': {} } },
  });
  t.false('f:replicas' in ((entries[0]!['fieldsV1'] as JsonMap)['f:spec'] as JsonMap));
  // The applier now conflicts with the controller when it applies its old value.
  t.throws(() => apply(scaled, rc({ replicas: 2, template }), 'kubectl'), {
    message: `Apply failed with 1 conflict: conflict with "kube-controller" using v1: .spec.replicas`,
  });
  // An update that does not send managedFields keeps them.
  const { metadata, ...rest } = scaled;
  const again = recordUpdate(
    'tsk.v1.ReplicationController',
    scaled,
    { ...rest, metadata: { ...(metadata as JsonMap), managedFields: null } },
    { manager: 'x', now: T1 },
  );
  t.deepEqual(managed(again), managed(scaled));
});

test('a container the applier no longer applies is removed; one another manager changed stays', (t) => {
  const two = {
    spec: {
      containers: [
        { name: 'a', image: 'x' },
        { name: 'b', image: 'y' },
      ],
    },
  };
  const first = serverSideApply('tsk.v1.Pod', {}, { kind: 'Pod', metadata: { name: 'p' }, ...two }, { fieldManager: 'm', force: false, now: T0 });
  const one = serverSideApply(
    'tsk.v1.Pod',
    first,
    { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }] } },
    { fieldManager: 'm', force: false, now: T1 },
  );
  t.deepEqual((one['spec'] as JsonMap)['containers'], [{ name: 'a', image: 'x' }]);
  // Another writer changed b's image: it owns that field, so b stays with it, without m's fields.
  const edited = recordUpdate(
    'tsk.v1.Pod',
    first,
    {
      ...first,
      spec: {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'z' },
        ],
      },
    },
    { manager: 'editor', now: T1 },
  );
  const kept = serverSideApply(
    'tsk.v1.Pod',
    edited,
    { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }] } },
    { fieldManager: 'm', force: false, now: T1 },
  );
  t.deepEqual((kept['spec'] as JsonMap)['containers'], [
    { name: 'a', image: 'x' },
    { name: 'b', image: 'z' },
  ]);
});

// ---------------------------------------------------------------- updates (Kubernetes' FieldManager.Update)

const RC = 'tsk.v1.ReplicationController';
const fieldsOf = (o: JsonMap, manager: string): JsonMap | undefined => managed(o).find((e) => e['manager'] === manager)?.['fieldsV1'] as JsonMap | undefined;
const withManaged = (o: JsonMap, entries: JsonMap[]): JsonMap => ({ ...o, metadata: { ...(o['metadata'] as JsonMap), managedFields: entries } });

test('a create is one Update entry owning every field it set', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }), { manager: 'kubectl-create', now: T0 });
  t.deepEqual(managed(created), [
    {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'v1',
      time: T0,
      fieldsType: 'FieldsV1',
      // The labels map is new, so it is owned itself ("."), as Kubernetes shows it.
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } },
    },
  ]);
});

test('only the entry whose fields changed gets the new time; a write that changes nothing keeps the live entries', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }), { manager: 'kubectl-create', now: T0 });
  const labelled = recordUpdate(
    RC,
    created,
    { ...created, metadata: { ...(created['metadata'] as JsonMap), labels: { app: 'web', tier: 'a' } } },
    {
      manager: 'kubectl-label',
      now: T1,
    },
  );
  t.deepEqual(
    managed(labelled).map((e) => [e['manager'], e['time']]),
    [
      ['kubectl-create', T0],
      ['kubectl-label', T1],
    ],
  );
  t.deepEqual(fieldsOf(labelled, 'kubectl-label'), { 'f:metadata': { 'f:labels': { 'f:tier': {} } } });
  t.is(updatedManagedFields(RC, labelled, labelled, { manager: 'kubectl-edit', now: '2026-12-07T09:00:00Z' }), undefined);
});

test('a write that only removes fields takes them from every entry and changes no time', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }, { app: 'web', tier: 'a' }), { manager: 'kubectl-create', now: T0 });
  const out = recordUpdate(
    RC,
    created,
    { ...created, metadata: { ...(created['metadata'] as JsonMap), labels: { app: 'web' } } },
    { manager: 'kubectl-edit', now: T1 },
  );
  t.deepEqual(
    managed(out).map((e) => [e['manager'], e['time']]),
    [['kubectl-create', T0]],
  );
  t.deepEqual((fieldsOf(out, 'kubectl-create')!['f:metadata'] as JsonMap)['f:labels'], { '.': {}, 'f:app': {} });
});

test('the same manager through a subresource is another entry, and takes the field from its main-resource entry', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }), { manager: 'kubectl', now: T0 });
  const scaled = recordUpdate(RC, created, rc({ replicas: 3 }), { manager: 'kubectl', subresource: 'scale', now: T1 });
  t.deepEqual(
    managed(scaled).map((e) => [e['manager'], e['subresource'], e['time']]),
    [
      ['kubectl', undefined, T0],
      ['kubectl', 'scale', T1],
    ],
  );
  t.deepEqual(fieldsOf(scaled, 'kubectl'), { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } });
});

test('a field last changed through /scale conflicts with an apply as Kubernetes words it; force takes it', (t) => {
  const applied = apply({}, rc({ replicas: 2 }), 'kubectl');
  const scaled = recordUpdate(RC, applied, { ...applied, spec: { replicas: 3 } }, { manager: 'kubectl', subresource: 'scale', now: T1 });
  t.throws(() => apply(scaled, rc({ replicas: 2 }), 'kubectl'), {
    message: 'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using v1: .spec.replicas',
  });
  const forced = apply(scaled, rc({ replicas: 2 }), 'kubectl', true, T1);
  t.deepEqual(
    managed(forced).map((e) => [e['manager'], e['operation']]),
    [['kubectl', 'Apply']],
  );
});

test('managedFields a client sends are kept when valid, and the write is recorded on top of them', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }), { manager: 'kubectl-create', now: T0 });
  const sent = managed(created).map((e) => ({ ...e, manager: 'renamed' }));
  const out = recordUpdate(RC, created, withManaged(rc({ replicas: 4 }), sent), { manager: 'kubectl-replace', requested: sent, now: T1 });
  t.deepEqual(
    managed(out).map((e) => e['manager']),
    ['renamed', 'kubectl-replace'],
  );
  t.deepEqual(fieldsOf(out, 'kubectl-replace'), { 'f:spec': { 'f:replicas': {} } });
});

test('managedFields: [] or [{}] clear them; invalid ones or a subresource write keep the live ones', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }), { manager: 'kubectl-create', now: T0 });
  for (const requested of [[], [{}]]) {
    t.is(updatedManagedFields(RC, created, rc({ replicas: 2 }), { manager: 'kubectl-patch', requested, now: T1 })?.length, 0);
  }
  const invalid = [{ manager: 'x', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
  t.is(updatedManagedFields(RC, created, rc({ replicas: 2 }), { manager: 'kubectl-patch', requested: invalid, now: T1 }), undefined);
  t.is(updatedManagedFields(RC, created, rc({ replicas: 2 }), { manager: 'kubelet', subresource: 'status', requested: [], now: T1 }), undefined);
  t.true(isResetManagedFields([{ manager: '', fieldsV1: {} }]));
  t.false(isResetManagedFields(undefined));
  t.false(isResetManagedFields([{ manager: 'x' }]));
});

test('more than 10 Update entries: the oldest merge into ancient-changes', (t) => {
  let o = recordUpdate(RC, undefined, rc({ replicas: 0 }, {}), { manager: 'm0', now: '2026-12-07T08:00:00Z' });
  for (let i = 1; i <= 11; i++) {
    const labels = Object.fromEntries(Array.from({ length: i }, (_, j) => [`l${j}`, 'x']));
    o = recordUpdate(
      RC,
      o,
      { ...o, metadata: { ...(o['metadata'] as JsonMap), labels } },
      { manager: `m${i}`, now: `2026-12-07T08:${String(i).padStart(2, '0')}:00Z` },
    );
  }
  const names = managed(o).map((e) => e['manager']);
  t.is(names.length, 10);
  t.is(names[0], ANCIENT_CHANGES);
  t.deepEqual(names.slice(1), ['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
});

test('entries are in Kubernetes order: Apply first, then by time', (t) => {
  const created = recordUpdate(RC, undefined, rc({ replicas: 2 }), { manager: 'kubectl-create', now: T0 });
  const applied = apply(created, rc({ replicas: 2, template }), 'kubectl', false, T1);
  t.deepEqual(
    managed(applied).map((e) => e['operation']),
    ['Apply', 'Update'],
  );
});
