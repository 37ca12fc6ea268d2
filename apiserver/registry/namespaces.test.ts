import test from 'ava';
import { mergeConditions, remainingConditions } from './namespaces';

test('remainingConditions: the content-remaining condition names what is left, in Kubernetes words', (t) => {
  const [failure, remaining] = remainingConditions('pods has 2 resource instances', 'T1');
  t.like(failure, { type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted' });
  t.like(remaining, {
    type: 'NamespaceContentRemaining',
    status: 'True',
    reason: 'SomeResourcesRemain',
    message: 'Some resources are remaining: pods has 2 resource instances',
  });
  t.like(remainingConditions('', 'T1')[1], { status: 'False', reason: 'ContentRemoved' });
});

test('mergeConditions: replaces by type, keeps the transition time while the status holds', (t) => {
  const first = remainingConditions('pods has 2 resource instances', 'T1');
  const second = mergeConditions(first, remainingConditions('pods has 1 resource instances', 'T2'));
  t.is(second.length, 2);
  const rem = second.find((c) => c.type === 'NamespaceContentRemaining');
  t.is(rem?.lastTransitionTime, 'T1');
  t.is(rem?.message, 'Some resources are remaining: pods has 1 resource instances');
  const cleared = mergeConditions(second, remainingConditions('', 'T3')).find((c) => c.type === 'NamespaceContentRemaining');
  t.is(cleared?.lastTransitionTime, 'T3');
  t.like(mergeConditions([{ type: 'Other', status: 'True' }], first)[0], { type: 'Other' });
});
