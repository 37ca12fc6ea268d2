import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { countMatching, hasAllTopologyKeys, nodeIncluded, spreadConstraints } from './topology-spread-constraints';

const base = { maxSkew: 2, topologyKey: 'zone', labelSelector: { matchLabels: { app: 'web' } } };

test("spreadConstraints: by whenUnsatisfiable, with Kubernetes' defaults and matchLabelKeys merged from the pod", (t) => {
  const pod = podInfo(
    makePod('p', {
      labels: { app: 'web', hash: 'v2' },
      topologySpreadConstraints: [
        { ...base, whenUnsatisfiable: 'DoNotSchedule', matchLabelKeys: ['hash', 'absent'] },
        { ...base, whenUnsatisfiable: 'ScheduleAnyway', nodeAffinityPolicy: 'Ignore', nodeTaintsPolicy: 'Honor' },
      ],
    }),
  );
  const [hard] = spreadConstraints(pod, 'DoNotSchedule');
  t.is(hard?.minDomains, 1);
  t.true(hard?.honorNodeAffinity);
  t.false(hard?.honorNodeTaints);
  t.is(hard?.selector?.toString(), 'app=web,hash in (v2)');
  const [soft] = spreadConstraints(pod, 'ScheduleAnyway');
  t.false(soft?.honorNodeAffinity);
  t.true(soft?.honorNodeTaints);
});

test('countMatching: same namespace, not terminating, selector matches; an empty or unset selector counts none', (t) => {
  const gone = makePod('gone', { labels: { app: 'web' } });
  gone.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z';
  const node = info(makeNode('n'), [makePod('a', { labels: { app: 'web' } }), makePod('b', { labels: { app: 'web' }, namespace: 'other' }), gone]);
  const [c] = spreadConstraints(podInfo(makePod('p', { topologySpreadConstraints: [{ ...base, whenUnsatisfiable: 'DoNotSchedule' }] })), 'DoNotSchedule');
  t.is(countMatching(node, c?.selector, 'default'), 1);
  const [empty] = spreadConstraints(
    podInfo(makePod('p', { topologySpreadConstraints: [{ ...base, labelSelector: {}, whenUnsatisfiable: 'DoNotSchedule' }] })),
    'DoNotSchedule',
  );
  t.is(countMatching(node, empty?.selector, 'default'), 0);
  t.is(countMatching(node, undefined, 'default'), 0);
});

test('hasAllTopologyKeys and nodeIncluded: labels, node affinity (Honor) and taints (Honor only when asked)', (t) => {
  const tainted = info(makeNode('t', { labels: { zone: 'a' }, taints: [{ key: 'k', effect: 'NoSchedule' }] }));
  const other = info(makeNode('o', { labels: { zone: 'b' } }));
  const pod = podInfo(
    makePod('p', { nodeSelector: { zone: 'a' }, topologySpreadConstraints: [{ ...base, whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor' }] }),
  );
  const [c] = spreadConstraints(pod, 'DoNotSchedule');
  t.true(hasAllTopologyKeys(tainted.node, [c!]));
  t.false(hasAllTopologyKeys(info(makeNode('x')).node, [c!]));
  t.false(nodeIncluded(c!, pod, tainted));
  t.false(nodeIncluded(c!, pod, other));
  t.true(nodeIncluded({ ...c!, honorNodeTaints: false }, pod, tainted));
});
