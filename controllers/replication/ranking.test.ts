import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { POD_DELETION_COST_ANNOTATION, podsToDelete } from './ranking';

interface P {
  node?: string;
  phase?: string;
  ready?: boolean;
  readySince?: string;
  restarts?: number;
  created?: string;
  cost?: string;
}

function pod(name: string, p: P): Pod {
  return {
    metadata: { name, creationTimestamp: p.created ?? '2026-01-01T00:00:00Z', annotations: p.cost ? { [POD_DELETION_COST_ANNOTATION]: p.cost } : {} },
    spec: { nodeName: p.node ?? '' },
    status: {
      phase: p.phase ?? 'Running',
      conditions: p.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: p.readySince ?? '2026-01-01T00:00:00Z' }] : [],
      containerStatuses: [{ name: 'c', restartCount: p.restarts ?? 0 }],
    },
  };
}

// Each case: two pods; the first named is the one deleted first.
const cases: [string, P, P][] = [
  ['unassigned before assigned', { node: '', phase: 'Running', ready: true }, { node: 'n1', phase: 'Pending' }],
  ['pending before unknown', { node: 'n1', phase: 'Pending' }, { node: 'n1', phase: 'Unknown' }],
  ['unknown before running', { node: 'n1', phase: 'Unknown' }, { node: 'n1', phase: 'Running' }],
  ['not ready before ready', { node: 'n1', ready: false, restarts: 0 }, { node: 'n1', ready: true, restarts: 9 }],
  ['lower deletion cost first', { node: 'n1', ready: true, cost: '-5' }, { node: 'n2', ready: true, cost: '10' }],
  [
    'ready for less time first',
    { node: 'n1', ready: true, readySince: '2026-01-01T00:05:00Z' },
    { node: 'n2', ready: true, readySince: '2026-01-01T00:01:00Z' },
  ],
  ['more restarts first', { node: 'n1', restarts: 4 }, { node: 'n2', restarts: 1 }],
  ['newer first', { node: 'n1', created: '2026-01-01T00:09:00Z' }, { node: 'n2', created: '2026-01-01T00:01:00Z' }],
];

for (const [title, first, second] of cases) {
  test(`ranking: ${title}`, (t) => {
    const a = pod('first', first);
    const b = pod('second', second);
    for (const order of [
      [a, b],
      [b, a],
    ])
      t.deepEqual(
        podsToDelete(order, order, 1).map((p) => p.metadata?.name),
        ['first'],
      );
  });
}

test('ranking: a pod doubled up on a node goes before a pod alone on its node', (t) => {
  const alone = pod('alone', { node: 'n1', ready: true });
  const doubled = pod('doubled', { node: 'n2', ready: true });
  const sibling = pod('sibling', { node: 'n2', ready: true, created: '2025-01-01T00:00:00Z' });
  const pods = [alone, doubled, sibling];
  // doubled and sibling share n2 (rank 2); between them the newer goes.
  t.deepEqual(
    podsToDelete(pods, pods, 1).map((p) => p.metadata?.name),
    ['doubled'],
  );
});

test('ranking: asking for as many pods as there are returns them all', (t) => {
  const pods = [pod('a', {}), pod('b', {})];
  t.is(podsToDelete(pods, pods, 5).length, 2);
});
