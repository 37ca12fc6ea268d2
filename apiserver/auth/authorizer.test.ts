import test from 'ava';
import { ForbiddenError } from '../../api/errors';
import { authorizeOrThrow, forbidden, type RequestAttributes } from './authorizer';
import { defaultAuthorizer } from './default-authorizer';
import type { NodeGraph } from './node-authorizer';
import { GROUP_AUTHENTICATED, GROUP_MASTERS, GROUP_NODES, USER_CONTROLLER_MANAGER, USER_SCHEDULER, type UserInfo } from './user';

const admin: UserInfo = { name: 'admin', groups: [GROUP_MASTERS, GROUP_AUTHENTICATED] };
const n1: UserInfo = { name: 'system:node:n1', groups: [GROUP_NODES, GROUP_AUTHENTICATED] };
const n2: UserInfo = { name: 'system:node:n2', groups: [GROUP_NODES, GROUP_AUTHENTICATED] };
const scheduler: UserInfo = { name: USER_SCHEDULER, groups: [GROUP_AUTHENTICATED] };
const cm: UserInfo = { name: USER_CONTROLLER_MANAGER, groups: [GROUP_AUTHENTICATED] };
const proxy: UserInfo = { name: 'system:kube-proxy', groups: [GROUP_AUTHENTICATED] };
const alice: UserInfo = { name: 'alice', groups: [GROUP_AUTHENTICATED] };
const prometheus: UserInfo = { name: 'prometheus', groups: ['system:monitoring', GROUP_AUTHENTICATED] };
const L = 'coordination.k8s.io';
/** A name that looks like a node but is not in system:nodes gets nothing of a node's rights. */
const fakeNode: UserInfo = { name: 'system:node:n1', groups: [GROUP_AUTHENTICATED] };

type Row = [UserInfo, Omit<RequestAttributes, 'user'>, boolean];

const rows: Row[] = [
  // system:monitoring: metrics and health, and what Prometheus' Kubernetes discovery watches; nothing else.
  [prometheus, { verb: 'get', path: '/metrics' }, true],
  [prometheus, { verb: 'get', path: '/readyz' }, true],
  [prometheus, { verb: 'watch', resource: 'nodes' }, true],
  [prometheus, { verb: 'list', resource: 'pods' }, true],
  [prometheus, { verb: 'list', resource: 'endpoints', namespace: 'default' }, true],
  [prometheus, { verb: 'watch', resource: 'services' }, true],
  [prometheus, { verb: 'get', resource: 'nodes', subresource: 'metrics', name: 'n1' }, true],
  [prometheus, { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'n1' }, false],
  [prometheus, { verb: 'create', resource: 'pods', namespace: 'demo' }, false],
  [prometheus, { verb: 'get', resource: 'secrets', namespace: 'demo', name: 's' }, false],
  [admin, { verb: 'delete', resource: 'nodes', name: 'n2' }, true],
  [admin, { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'demo', name: 'web' }, true],
  [admin, { verb: 'get', path: '/version' }, true],
  // node: reads
  [n1, { verb: 'list', resource: 'pods' }, true],
  [n1, { verb: 'watch', resource: 'services' }, true],
  [n1, { verb: 'watch', resource: 'endpoints' }, true],
  [n1, { verb: 'get', resource: 'nodes', name: 'n2' }, true],
  [n1, { verb: 'list', resource: 'replicationcontrollers' }, false],
  // node: its own Node only
  [n1, { verb: 'create', resource: 'nodes', name: 'n1' }, true],
  [n1, { verb: 'create', resource: 'nodes', name: 'n2' }, false],
  [n1, { verb: 'update', resource: 'nodes', name: 'n1' }, true],
  [n1, { verb: 'update', resource: 'nodes', subresource: 'status', name: 'n1' }, true],
  [n1, { verb: 'update', resource: 'nodes', subresource: 'status', name: 'n2' }, false],
  [n1, { verb: 'delete', resource: 'nodes', name: 'n1' }, false],
  // node: pods
  [n1, { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'd', name: 'p' }, true],
  [n1, { verb: 'delete', resource: 'pods', namespace: 'd', name: 'p' }, true],
  [n1, { verb: 'create', resource: 'pods', namespace: 'd', name: 'p' }, false],
  [n1, { verb: 'update', resource: 'pods', namespace: 'd', name: 'p' }, false],
  [n1, { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'd', name: 'p' }, false],
  [n1, { verb: 'get', resource: 'pods', subresource: 'log', namespace: 'd', name: 'p' }, false],
  [n1, { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'd', name: 'p' }, false],
  // pods/resize (in-place resize): admins, never a node (nor the scheduler or the controllers)
  [admin, { verb: 'update', resource: 'pods', subresource: 'resize', namespace: 'd', name: 'p' }, true],
  [n1, { verb: 'update', resource: 'pods', subresource: 'resize', namespace: 'd', name: 'p' }, false],
  [scheduler, { verb: 'update', resource: 'pods', subresource: 'resize', namespace: 'd', name: 'p' }, false],
  [cm, { verb: 'update', resource: 'pods', subresource: 'resize', namespace: 'd', name: 'p' }, false],
  [n1, { verb: 'create', resource: 'events', namespace: 'd' }, true],
  // node: tunnels
  [n1, { verb: 'create', resource: 'nodes', subresource: 'tunnel', name: 'n1' }, true],
  [n1, { verb: 'create', resource: 'nodes', subresource: 'tunnel', name: 'n2' }, false],
  [n1, { verb: 'get', path: '/version' }, true],
  [fakeNode, { verb: 'update', resource: 'nodes', subresource: 'status', name: 'n1' }, false],
  [fakeNode, { verb: 'list', resource: 'pods' }, false],
  // scheduler
  [scheduler, { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'd', name: 'p' }, true],
  [scheduler, { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'd', name: 'p' }, true],
  [scheduler, { verb: 'watch', resource: 'replicationcontrollers' }, true],
  [scheduler, { verb: 'create', resource: 'pods', namespace: 'd', name: 'p' }, false],
  [scheduler, { verb: 'delete', resource: 'pods', namespace: 'd', name: 'p' }, false],
  // controller manager
  [cm, { verb: 'create', resource: 'pods', namespace: 'd' }, true],
  [cm, { verb: 'delete', resource: 'replicationcontrollers', namespace: 'd', name: 'r' }, true],
  [cm, { verb: 'update', resource: 'nodes', subresource: 'status', name: 'n2' }, true],
  [cm, { verb: 'update', resource: 'nodes', name: 'n2' }, true],
  [cm, { verb: 'list', resource: 'events' }, true],
  [cm, { verb: 'update', resource: 'services', subresource: 'status', namespace: 'd', name: 's' }, true],
  [n1, { verb: 'update', resource: 'services', subresource: 'status', namespace: 'd', name: 's' }, false],
  [proxy, { verb: 'update', resource: 'services', subresource: 'status', namespace: 'd', name: 's' }, false],
  [cm, { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'd', name: 'p' }, false],
  [cm, { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'd', name: 'p' }, false],
  [cm, { verb: 'create', resource: 'nodes', subresource: 'tunnel', name: 'n1' }, false],
  [cm, { verb: 'create', resource: 'namespaces', name: 'x' }, false],
  // kube-proxy with its own identity
  [proxy, { verb: 'watch', resource: 'endpoints' }, true],
  [proxy, { verb: 'list', resource: 'pods' }, false],
  // any authenticated user: discovery only
  [alice, { verb: 'get', path: '/version' }, true],
  [alice, { verb: 'list', resource: 'pods', namespace: 'd' }, false],
];

/** Pods bound to n1 in namespace d: one using Secret db and ConfigMap app, one with a pull secret. */
const graph: NodeGraph = {
  podsOn: (node, ns) =>
    node === 'n1' && ns === 'd'
      ? [
          {
            metadata: { name: 'web', namespace: 'd' },
            spec: { nodeName: 'n1', containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'db' } }, { configMapRef: { name: 'app' } }] }] },
          },
          { metadata: { name: 'job', namespace: 'd' }, spec: { nodeName: 'n1', imagePullSecrets: [{ name: 'regcred' }], containers: [{ name: 'c' }] } },
        ]
      : [],
};

rows.push(
  // node: only the Secrets and ConfigMaps of its own pods, one at a time
  [n1, { verb: 'get', resource: 'secrets', namespace: 'd', name: 'db' }, true],
  [n1, { verb: 'watch', resource: 'secrets', namespace: 'd', name: 'db' }, true],
  [n1, { verb: 'list', resource: 'secrets', namespace: 'd', name: 'regcred' }, true],
  [n1, { verb: 'get', resource: 'configmaps', namespace: 'd', name: 'app' }, true],
  [n1, { verb: 'get', resource: 'secrets', namespace: 'd', name: 'other' }, false],
  [n1, { verb: 'get', resource: 'secrets', namespace: 'e', name: 'db' }, false],
  [n1, { verb: 'get', resource: 'configmaps', namespace: 'd', name: 'db' }, false],
  [n1, { verb: 'list', resource: 'secrets', namespace: 'd' }, false],
  [n1, { verb: 'watch', resource: 'secrets' }, false],
  [n1, { verb: 'update', resource: 'secrets', namespace: 'd', name: 'db' }, false],
  [n2, { verb: 'get', resource: 'secrets', namespace: 'd', name: 'db' }, false],
  [fakeNode, { verb: 'get', resource: 'secrets', namespace: 'd', name: 'db' }, false],
  // controllers and the scheduler need no Secrets; the admin has all
  [cm, { verb: 'list', resource: 'secrets' }, false],
  [cm, { verb: 'get', resource: 'secrets', namespace: 'd', name: 'db' }, false],
  [cm, { verb: 'watch', resource: 'configmaps' }, true],
  [scheduler, { verb: 'list', resource: 'secrets' }, false],
  [admin, { verb: 'list', resource: 'secrets' }, true],
  [admin, { verb: 'create', resource: 'secrets', namespace: 'd', name: 'x' }, true],
  // leases (coordination.k8s.io): leader election in kube-system, a node's own heartbeat lease
  [scheduler, { verb: 'get', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, true],
  [scheduler, { verb: 'create', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, true],
  [scheduler, { verb: 'update', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, true],
  [scheduler, { verb: 'update', apiGroup: L, resource: 'leases', namespace: 'default', name: 'kube-scheduler' }, false],
  [scheduler, { verb: 'delete', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, false],
  [scheduler, { verb: 'get', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, false],
  [cm, { verb: 'update', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' }, true],
  [cm, { verb: 'list', apiGroup: L, resource: 'leases' }, true],
  [cm, { verb: 'delete', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'gone' }, true],
  [cm, { verb: 'create', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, false],
  [n1, { verb: 'get', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, true],
  [n1, { verb: 'create', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, true],
  [n1, { verb: 'update', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, true],
  [n1, { verb: 'update', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n2' }, false],
  [n1, { verb: 'update', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'n1' }, false],
  [n1, { verb: 'delete', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, false],
  [n1, { verb: 'list', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease' }, false],
  [admin, { verb: 'delete', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, true],
  [alice, { verb: 'get', apiGroup: L, resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }, false],
);

const authz = defaultAuthorizer(graph);
for (const [user, attrs, want] of rows) {
  const label = `${user.name} ${attrs.verb} ${attrs.resource ?? attrs.path}${attrs.subresource ? '/' + attrs.subresource : ''} ${attrs.namespace ? `${attrs.namespace}/` : ''}${attrs.name ?? ''}`;
  test(`${want ? 'allows' : 'refuses'} ${label}`, (t) => {
    t.is(authz.authorize({ user, ...attrs }).allowed, want);
  });
}

test("refusals read as Kubernetes' forbidden messages", (t) => {
  t.is(
    forbidden({ user: n1, verb: 'create', resource: 'pods', namespace: 'demo', name: 'web-1' }, '').message,
    'pods "web-1" is forbidden: User "system:node:n1" cannot create resource "pods" in API group "" in the namespace "demo"',
  );
  t.is(
    forbidden({ user: n1, verb: 'list', resource: 'replicationcontrollers' }, '').message,
    'replicationcontrollers is forbidden: User "system:node:n1" cannot list resource "replicationcontrollers" in API group "" at the cluster scope',
  );
  t.is(
    forbidden({ user: n1, verb: 'update', apiGroup: L, resource: 'leases', namespace: 'kube-node-lease', name: 'n2' }, '').message,
    'leases.coordination.k8s.io "n2" is forbidden: User "system:node:n1" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"',
  );
  t.is(forbidden({ user: alice, verb: 'get', path: '/version' }, '').message, 'forbidden: User "alice" cannot get path "/version"');
  const err = t.throws(() => authorizeOrThrow(authz, { user: n1, verb: 'update', resource: 'nodes', subresource: 'status', name: 'n2' }), {
    instanceOf: ForbiddenError,
  });
  t.is(
    err?.message,
    'nodes "n2" is forbidden: User "system:node:n1" cannot update resource "nodes/status" in API group "" at the cluster scope: node "n1" is not allowed to modify node "n2"',
  );
  t.is(err?.reason, 'Forbidden');
});

test("a node's refused Secret read says why, as Kubernetes' node authorizer", (t) => {
  const read = (attrs: Omit<RequestAttributes, 'user'>): string => authz.authorize({ user: n1, ...attrs }).reason;
  t.is(read({ verb: 'get', resource: 'secrets', namespace: 'd', name: 'other' }), "no relationship found between node 'n1' and this object");
  t.is(read({ verb: 'list', resource: 'secrets', namespace: 'd' }), 'No Object name found');
  t.is(read({ verb: 'delete', resource: 'secrets', namespace: 'd', name: 'db' }), 'can only read resources of this type');
});
