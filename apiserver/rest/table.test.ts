import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { columnDefinitions, parseIncludeObject, toTable, wantsTable } from './table';

const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

test('kubectl get asks for a Table; a plain client does not', (t) => {
  t.true(wantsTable(KUBECTL_ACCEPT));
  t.false(wantsTable('application/json'));
  t.false(wantsTable('application/json, application/json;as=Table;v=v1;g=meta.k8s.io'), 'the first acceptable type wins');
  t.false(wantsTable(undefined));
});

test("pod columns are kubectl's, the -o wide ones at priority 1", (t) => {
  t.deepEqual(
    columnDefinitions('Pod').map((c) => [c['name'], c['priority']]),
    [
      ['NAME', 0],
      ['READY', 0],
      ['STATUS', 0],
      ['RESTARTS', 0],
      ['AGE', 0],
      ['IP', 1],
      ['NODE', 1],
      ['NOMINATED NODE', 1],
      ['READINESS GATES', 1],
    ],
  );
  t.deepEqual(
    columnDefinitions('Service').map((c) => c['name']),
    ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR'],
  );
  t.deepEqual(
    columnDefinitions('Node')
      .filter((c) => c['priority'] === 0)
      .map((c) => c['name']),
    ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
  );
});

const pod: Pod = {
  metadata: { name: 'web-1', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: 'web' } },
  spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'busybox' }] },
  status: { phase: 'Running', podIP: '10.244.1.5', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, state: { running: {} } }] },
};

test('rows: cells and the object as PartialObjectMetadata by default', (t) => {
  const now = Date.parse('2026-01-01T00:05:00Z');
  const table = toTable('Pod', [pod], {
    includeObject: 'Metadata',
    now,
    withColumns: true,
    listMeta: { resourceVersion: '9' },
    toJson: () => ({ metadata: { name: 'web-1' }, spec: {} }),
  });
  t.like(table, { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '9' } });
  t.deepEqual(table['rows'], [
    {
      cells: ['web-1', '1/1', 'Running', '0', '5m', '10.244.1.5', 'n1', '<none>', '<none>'],
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'web-1' } },
    },
  ]);
  const bare = toTable('Pod', [pod], { includeObject: 'None', now, withColumns: false, toJson: () => ({}) });
  t.false('columnDefinitions' in bare, 'watch events after the first carry no columns');
  t.false('object' in ((bare['rows'] as object[])[0] ?? {}));
});

test('includeObject takes None, Metadata or Object', (t) => {
  t.is(parseIncludeObject(null), 'Metadata');
  t.is(parseIncludeObject('Object'), 'Object');
  t.throws(() => parseIncludeObject('All'), { message: 'includeObject: "All" must be None, Metadata or Object' });
});
