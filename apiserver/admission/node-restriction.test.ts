import test from 'ava';
import { ForbiddenError } from '../../api/errors';
import type { Node, Pod } from '../../api/gen/tsk/v1/core';
import type { UserInfo } from '../auth/user';
import type { AdmissionRequest } from './admission';
import { nodeRestriction } from './node-restriction';

const n1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const admin: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
const node = (name: string, labels: Record<string, string> = {}, taints: { key: string; effect: string }[] = []): Node => ({
  metadata: { name, labels },
  spec: { taints },
});
const pod = (nodeName: string): Pod => ({ metadata: { name: 'p', namespace: 'd' }, spec: { nodeName, containers: [] } });

const rows: [string, Partial<AdmissionRequest>, string | undefined][] = [
  ['creates its own Node', { kind: 'Node', name: 'n1', object: node('n1') }, undefined],
  ['cannot create another Node', { kind: 'Node', name: 'n2', object: node('n2') }, 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'],
  [
    'cannot create itself with restricted labels',
    { kind: 'Node', name: 'n1', object: node('n1', { 'node-restriction.kubernetes.io/pool': 'gpu', zone: 'a' }) },
    'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/pool',
  ],
  ['updates its own status', { operation: 'UPDATE', subresource: 'status', kind: 'Node', name: 'n1', object: node('n1'), oldObject: node('n1') }, undefined],
  [
    "cannot update another node's status",
    { operation: 'UPDATE', subresource: 'status', kind: 'Node', name: 'n2', object: node('n2'), oldObject: node('n2') },
    'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
  ],
  [
    'changes its ordinary labels',
    { operation: 'UPDATE', kind: 'Node', name: 'n1', object: node('n1', { zone: 'b' }), oldObject: node('n1', { zone: 'a' }) },
    undefined,
  ],
  [
    'keeps restricted labels it has',
    {
      operation: 'UPDATE',
      kind: 'Node',
      name: 'n1',
      object: node('n1', { 'node-restriction.kubernetes.io/x': '1' }),
      oldObject: node('n1', { 'node-restriction.kubernetes.io/x': '1' }),
    },
    undefined,
  ],
  [
    'cannot remove a restricted label',
    { operation: 'UPDATE', kind: 'Node', name: 'n1', object: node('n1'), oldObject: node('n1', { 'node-restriction.kubernetes.io/x': '1' }) },
    'nodes "n1" is forbidden: node "n1" is not allowed to modify labels: node-restriction.kubernetes.io/x',
  ],
  [
    'cannot change its taints',
    { operation: 'UPDATE', kind: 'Node', name: 'n1', object: node('n1'), oldObject: node('n1', {}, [{ key: 'k', effect: 'NoSchedule' }]) },
    'nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
  ],
  ['updates the status of its pod', { operation: 'UPDATE', subresource: 'status', kind: 'Pod', object: pod('n1'), oldObject: pod('n1') }, undefined],
  [
    "cannot update another node's pod",
    { operation: 'UPDATE', subresource: 'status', kind: 'Pod', object: pod('n2'), oldObject: pod('n2') },
    'pods "p" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
  ],
  [
    'cannot update an unbound pod',
    { operation: 'UPDATE', subresource: 'status', kind: 'Pod', object: pod(''), oldObject: pod('') },
    'pods "p" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
  ],
  ['deletes its pod', { operation: 'DELETE', kind: 'Pod', oldObject: pod('n1') }, undefined],
  [
    "cannot delete another node's pod",
    { operation: 'DELETE', kind: 'Pod', oldObject: pod('n2') },
    'pods "p" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself',
  ],
  [
    'cannot create pods',
    { operation: 'CREATE', kind: 'Pod', object: pod('n1') },
    'pods "p" is forbidden: node "n1" can only create mirror pods, and tsk has none',
  ],
];

for (const [name, extra, want] of rows) {
  test(`node n1 ${name}`, (t) => {
    const req: AdmissionRequest = { user: n1, operation: 'CREATE', kind: 'Pod', subresource: '', namespace: '', name: 'p', ...extra };
    if (want === undefined) t.deepEqual(nodeRestriction.admit(req), []);
    else t.is(t.throws(() => nodeRestriction.admit(req), { instanceOf: ForbiddenError })?.message, want);
  });
}

test('other users are not restricted', (t) => {
  t.deepEqual(nodeRestriction.admit({ user: admin, operation: 'DELETE', kind: 'Pod', subresource: '', namespace: 'd', name: 'p', oldObject: pod('n2') }), []);
});
