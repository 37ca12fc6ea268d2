import test from 'ava';
import type { Node, Taint, Toleration } from '../../api/gen/tsk/v1/core';
import { desiredTaints, evictionFor, reconcileTaints, TAINT_NOT_READY, TAINT_UNREACHABLE } from './taints';

const node = (conditions: Record<string, string>, unschedulable = false): Node => ({
  metadata: { name: 'n1' },
  spec: { unschedulable },
  status: { conditions: Object.entries(conditions).map(([type, status]) => ({ type, status })) },
});

const show = (taints: readonly Taint[]): string[] => taints.map((t) => `${t.key?.replace('node.kubernetes.io/', '')}:${t.effect}`);

const desiredCases: [string, Node, boolean, string[]][] = [
  ['ready node: none', node({ Ready: 'True' }), true, []],
  ['not ready: NoSchedule and NoExecute', node({ Ready: 'False' }), true, ['not-ready:NoSchedule', 'not-ready:NoExecute']],
  ['unknown: NoSchedule and NoExecute', node({ Ready: 'Unknown' }), true, ['unreachable:NoSchedule', 'unreachable:NoExecute']],
  ['unknown in full disruption: NoSchedule only', node({ Ready: 'Unknown' }), false, ['unreachable:NoSchedule']],
  ['unschedulable', node({ Ready: 'True' }, true), true, ['unschedulable:NoSchedule']],
  [
    'pressure conditions',
    node({ Ready: 'True', MemoryPressure: 'True', DiskPressure: 'True', PIDPressure: 'True', NetworkUnavailable: 'True' }),
    true,
    ['memory-pressure:NoSchedule', 'disk-pressure:NoSchedule', 'pid-pressure:NoSchedule', 'network-unavailable:NoSchedule'],
  ],
];

for (const [title, n, evict, want] of desiredCases) {
  test(`desiredTaints: ${title}`, (t) => {
    t.deepEqual(show(desiredTaints(n, evict)), want);
  });
}

test('reconcileTaints keeps foreign taints and the timeAdded of kept ones, stamps new NoExecute taints', (t) => {
  const current: Taint[] = [
    { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
    { key: TAINT_NOT_READY, effect: 'NoExecute', timeAdded: '2024-01-01T00:00:00Z' },
    { key: TAINT_NOT_READY, effect: 'NoSchedule' },
  ];
  // Not ready -> unreachable: the not-ready taints go, the unreachable ones come.
  const out = reconcileTaints(current, desiredTaints(node({ Ready: 'Unknown' }), true), '2024-01-02T00:00:00Z');
  t.deepEqual(out, [
    { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
    { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
    { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: '2024-01-02T00:00:00Z' },
  ]);
  t.is(reconcileTaints(out!, desiredTaints(node({ Ready: 'Unknown' }), true), 'later'), undefined);
  t.deepEqual(reconcileTaints(out!, [], 'later'), [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
  // A user's NoExecute taint with another key is not the controller's.
  t.is(reconcileTaints([{ key: 'x', effect: 'NoExecute' }], [], 'now'), undefined);
});

const unreachable: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: '2024-01-01T00:00:00Z' };
const T0 = Date.parse('2024-01-01T00:00:00Z');

const evictionCases: [string, Toleration[], number, string][] = [
  ['no toleration: evict at once', [], T0, 'evict'],
  ['tolerated forever: keep', [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' }], T0 + 1e9, 'keep'],
  [
    '300 s, 100 s after the taint: wait until 300 s',
    [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    T0 + 100_000,
    `wait ${T0 + 300_000}`,
  ],
  ['300 s, 300 s after the taint: evict', [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }], T0 + 300_000, 'evict'],
  ['tolerationSeconds 0 or less: evict', [{ key: TAINT_UNREACHABLE, operator: 'Exists', tolerationSeconds: -5 }], T0, 'evict'],
  [
    'the shortest bound of the matching tolerations wins over a forever one',
    [{ operator: 'Exists' }, { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }],
    T0,
    `wait ${T0 + 60_000}`,
  ],
];

for (const [title, tols, now, want] of evictionCases) {
  test(`evictionFor: ${title}`, (t) => {
    const d = evictionFor(tols, [unreachable, { key: 'x', effect: 'NoSchedule' }], (taint) => Date.parse(taint.timeAdded ?? ''), now);
    t.is(d.action === 'wait' ? `wait ${d.atMs}` : d.action, want);
  });
}

test('evictionFor: one untolerated taint among tolerated ones evicts', (t) => {
  const tols: Toleration[] = [{ key: TAINT_UNREACHABLE, operator: 'Exists' }];
  const d = evictionFor(tols, [unreachable, { key: 'other', effect: 'NoExecute' }], () => T0, T0);
  t.is(d.action, 'evict');
});

test('evictionFor: a NoExecute threshold taint is matched by Gt/Lt tolerations (api/tolerations)', (t) => {
  const sla: Taint = { key: 'example.com/sla', value: '950', effect: 'NoExecute', timeAdded: '2024-01-01T00:00:00Z' };
  const at = (): number => T0;
  t.deepEqual(evictionFor([{ key: 'example.com/sla', operator: 'Gt', value: '900' }], [sla], at, T0), { action: 'keep' });
  t.deepEqual(evictionFor([{ key: 'example.com/sla', operator: 'Lt', value: '900' }], [sla], at, T0), { action: 'evict' });
  t.deepEqual(evictionFor([{ key: 'example.com/sla', operator: 'Gt', value: '900' }], [{ ...sla, value: 'high' }], at, T0), { action: 'evict' });
});
