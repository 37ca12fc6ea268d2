// Kubernetes' ContainerShouldRestart order as a table: a matching rule
// first, then the container's restartPolicy, then the pod's.

import test from 'ava';
import type { Container, ContainerRestartRule, Pod } from '../api/gen/tsk/v1/core';
import { exitAction, matchRestartRule, type ExitAction } from './restart-rules';

const rule = (action: string, operator: string, values: number[]): ContainerRestartRule => ({ action, exitCodes: { operator, values } });
const podOf = (restartPolicy: string): Pod => ({ spec: { restartPolicy, containers: [] } });

const cases: Array<[string, string, Container, number, ExitAction, boolean?]> = [
  ['pod Never, no rules: exit 1 stays down', 'Never', { name: 'a' }, 1, 'None'],
  ['pod Always, no rules: exit 0 restarts', 'Always', { name: 'a' }, 0, 'Restart'],
  ['pod OnFailure: exit 0 completes', 'OnFailure', { name: 'a' }, 0, 'None'],
  ['container OnFailure overrides the pod Always: exit 0 completes', 'Always', { name: 'a', restartPolicy: 'OnFailure' }, 0, 'None'],
  ['container OnFailure overrides the pod Always: exit 3 restarts', 'Always', { name: 'a', restartPolicy: 'OnFailure' }, 3, 'Restart'],
  ['container Never overrides the pod Always', 'Always', { name: 'a', restartPolicy: 'Never' }, 0, 'None'],
  ['Never + In [42]: exit 42 restarts', 'Never', { name: 'a', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'In', [42])] }, 42, 'Restart'],
  ['Never + In [42]: exit 1 falls back to Never', 'Never', { name: 'a', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'In', [42])] }, 1, 'None'],
  ['NotIn [0, 1]: exit 2 restarts', 'Never', { name: 'a', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'NotIn', [0, 1])] }, 2, 'Restart'],
  ['NotIn [0, 1]: exit 1 does not', 'Never', { name: 'a', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'NotIn', [0, 1])] }, 1, 'None'],
  [
    'the first matching rule wins',
    'Never',
    { name: 'a', restartPolicy: 'Never', restartPolicyRules: [rule('RestartAllContainers', 'In', [88]), rule('Restart', 'NotIn', [0])] },
    88,
    'RestartAllContainers',
  ],
  [
    'a later rule matches when the first does not',
    'Never',
    { name: 'a', restartPolicy: 'Never', restartPolicyRules: [rule('RestartAllContainers', 'In', [88]), rule('Restart', 'NotIn', [0])] },
    5,
    'Restart',
  ],
  [
    'rules without a container policy are ignored (validation refuses them)',
    'Never',
    { name: 'a', restartPolicyRules: [rule('Restart', 'In', [1])] },
    1,
    'None',
  ],
  [
    'an init container that exited 0 completed, whatever its rules',
    'Always',
    { name: 'i', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'In', [0])] },
    0,
    'None',
    true,
  ],
  ['an init container with policy Never in an Always pod is not retried', 'Always', { name: 'i', restartPolicy: 'Never' }, 1, 'None', true],
  [
    'an init container in a Never pod retried by its rule',
    'Never',
    { name: 'i', restartPolicy: 'Never', restartPolicyRules: [rule('Restart', 'In', [75])] },
    75,
    'Restart',
    true,
  ],
  ['a sidecar always restarts', 'Never', { name: 's', restartPolicy: 'Always' }, 0, 'Restart', true],
  [
    'a sidecar restarts the pod on its rule',
    'Never',
    { name: 's', restartPolicy: 'Always', restartPolicyRules: [rule('RestartAllContainers', 'In', [88])] },
    88,
    'RestartAllContainers',
    true,
  ],
];

for (const [name, podPolicy, c, code, want, init] of cases) {
  test(`exitAction: ${name}`, (t) => {
    t.is(exitAction(podOf(podPolicy), c, code, init === true), want);
  });
}

test('matchRestartRule reports the index of the first match', (t) => {
  const c: Container = {
    name: 'a',
    restartPolicy: 'Never',
    restartPolicyRules: [rule('Restart', 'In', [1]), rule('Restart', 'In', [2]), rule('Restart', 'In', [2])],
  };
  t.is(matchRestartRule(c, 2)?.index, 1);
  t.is(matchRestartRule(c, 3), undefined);
});
