import * as grpc from '@grpc/grpc-js';
import test from 'ava';
import { ForbiddenError, UnauthorizedError } from '../../api/errors';
import type { Namespace, Pod } from '../../api/gen/tsk/v1/core';
import { nodeRestriction } from '../admission/node-restriction';
import { defaultAuthorizer } from '../auth/default-authorizer';
import type { Authenticator, CallCredentials } from '../auth/user';
import { isAnonymousMethod, RequestGate } from './gate';

/** A call whose metadata names its user (x-user), as the fake authenticator below reads it. */
function call(user?: string): CallCredentials {
  const metadata = new grpc.Metadata();
  if (user) metadata.set('x-user', user);
  return { metadata, getPeer: () => 'test', getAuthContext: () => ({}) } as unknown as CallCredentials;
}

const authenticator: Authenticator = {
  authenticate(c) {
    const name = c.metadata.get('x-user')[0];
    if (typeof name !== 'string') return undefined;
    const groups = name === 'admin' ? ['system:masters'] : name.startsWith('system:node:') ? ['system:nodes'] : [];
    return { name, groups: [...groups, 'system:authenticated'] };
  },
};

const namespaces: Record<string, Namespace> = { locked: { metadata: { name: 'locked', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } } };

const gate = new RequestGate({
  authenticator,
  authorizer: defaultAuthorizer(),
  admission: { plugins: [nodeRestriction], podSecurityDefaultEnforce: 'privileged' },
  namespace: (name) => Promise.resolve(namespaces[name]),
});

test('only the bootstrap service is open to anonymous callers', (t) => {
  t.true(isAnonymousMethod('/tsk.v1.Bootstrap/Join'));
  t.false(isAnonymousMethod('/tsk.v1.PodService/List'));
  t.false(isAnonymousMethod('/tsk.v1.Bootstrapper/Join'));
});

test('an anonymous call is Unauthorized; an authenticated one is authorized with its attributes', (t) => {
  t.throws(() => gate.admit(call(), { verb: 'list', resource: 'pods' }), { instanceOf: UnauthorizedError, message: 'Unauthorized' });
  t.is(gate.admit(call('admin'), { verb: 'delete', resource: 'nodes', name: 'n1' }).user.name, 'admin');
  t.throws(() => gate.admit(call('system:node:n1'), { verb: 'create', resource: 'pods', namespace: 'd', name: 'p' }), {
    instanceOf: ForbiddenError,
    message: 'pods "p" is forbidden: User "system:node:n1" cannot create resource "pods" in API group "" in the namespace "d"',
  });
});

test('write admission: NodeRestriction on the stored object, Pod Security from the namespace read at create', async (t) => {
  const node = gate.admit(call('system:node:n1'), { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'd', name: 'p' });
  const stored: Pod = { metadata: { name: 'p', namespace: 'd' }, spec: { nodeName: 'n2' } };
  t.throws(() => gate.writeAdmission(node, 'Pod', 'status').update?.(stored, stored), { instanceOf: ForbiddenError });
  const admin = gate.admit(call('admin'), { verb: 'create', resource: 'pods', namespace: 'locked' });
  const hostPath: Pod = {
    metadata: { name: 'h', namespace: 'locked' },
    spec: { containers: [{ name: 'c' }], volumes: [{ name: 'root', hostPath: { path: '/' } }] },
  };
  await t.throwsAsync(() => gate.writeAdmission(admin, 'Pod', '').create!(hostPath), {
    instanceOf: ForbiddenError,
    message: 'pods "h" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")',
  });
  await gate.writeAdmission(admin, 'Pod', '').create!({ ...hostPath, metadata: { name: 'h', namespace: 'elsewhere' } });
  t.deepEqual(admin.warnings, []);
});
