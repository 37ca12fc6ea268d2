import test from 'ava';
import { ApiError, type StatusReason } from '../../api/errors';
import { parseJoinToken } from '../../util/join-token';
import { GROUP_AUTHENTICATED, GROUP_MASTERS, GROUP_NODES } from '../auth/user';
import { grantCertificate, grantSubject, type Credential } from './issuance';
import { newTokenRecord, USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE } from './tokens';

const now = new Date('2026-01-01T00:00:00Z');
const tok = parseJoinToken('abcdef.0123456789abcdef');
const joinToken: Credential = { kind: 'token', record: newTokenRecord(tok, { ttlSeconds: 0, description: '', usages: [USAGE_AUTHENTICATION], now }) };
const serverToken: Credential = {
  kind: 'token',
  record: newTokenRecord(tok, { ttlSeconds: 0, description: '', usages: [USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE], now }),
};
const user = (name: string, ...groups: string[]): Credential => ({ kind: 'user', user: { name, groups: [...groups, GROUP_AUTHENTICATED] } });

function refused(t: import('ava').ExecutionContext, fn: () => unknown, reason: StatusReason, message: RegExp): void {
  const err = t.throws(fn, { instanceOf: ApiError, message });
  t.is(err?.reason, reason);
}

test('a join token gets system:node:NAME in system:nodes', (t) => {
  t.deepEqual(grantSubject(joinToken, { identity: 'node', nodeName: 'worker-1' }), { commonName: 'system:node:worker-1', organizations: [GROUP_NODES] });
});

test('a join token cannot get the scheduler, controller-manager or admin identity', (t) => {
  refused(
    t,
    () => grantSubject(joinToken, { identity: 'scheduler', nodeName: '' }),
    'Forbidden',
    /token abcdef may only join nodes; system:kube-scheduler needs the server token/,
  );
  refused(
    t,
    () => grantSubject(joinToken, { identity: 'controller-manager', nodeName: '' }),
    'Forbidden',
    /system:kube-controller-manager needs the server token/,
  );
  refused(
    t,
    () => grantSubject(joinToken, { identity: 'admin', nodeName: '' }),
    'BadRequest',
    /identity: "admin" is not one of node, scheduler, controller-manager/,
  );
  refused(t, () => grantSubject(serverToken, { identity: 'admin', nodeName: '' }), 'BadRequest', /"admin" is not one of/);
});

test('the server token gets the control-plane identities', (t) => {
  t.deepEqual(grantSubject(serverToken, { identity: 'scheduler', nodeName: '' }), { commonName: 'system:kube-scheduler', organizations: [] });
  t.deepEqual(grantSubject(serverToken, { identity: 'controller-manager', nodeName: 'x' }), {
    commonName: 'system:kube-controller-manager',
    organizations: [],
  });
  t.is(grantSubject(serverToken, { identity: 'node', nodeName: 'n1' }).commonName, 'system:node:n1');
});

test('a node identity needs a valid node name', (t) => {
  refused(t, () => grantSubject(joinToken, { identity: 'node', nodeName: '' }), 'BadRequest', /nodeName: a node name is required/);
  refused(t, () => grantSubject(joinToken, { identity: 'node', nodeName: 'Bad_Name' }), 'BadRequest', /nodeName: "Bad_Name" is not a valid node name/);
  refused(t, () => grantSubject(joinToken, { identity: 'node', nodeName: 'a'.repeat(254) }), 'BadRequest', /is not a valid node name/);
});

test('a certificate renews only its own identity; an admin may get any', (t) => {
  t.is(grantSubject(user('system:node:n1', GROUP_NODES), { identity: 'node', nodeName: 'n1' }).commonName, 'system:node:n1');
  refused(
    t,
    () => grantSubject(user('system:node:n1', GROUP_NODES), { identity: 'node', nodeName: 'n2' }),
    'Forbidden',
    /user "system:node:n1" may only renew its own certificate, not get one for system:node:n2/,
  );
  refused(t, () => grantSubject(user('system:node:n1', GROUP_NODES), { identity: 'scheduler', nodeName: '' }), 'Forbidden', /may only renew its own/);
  // A certificate named like a node but without the group is not that node.
  refused(t, () => grantSubject(user('system:node:n1'), { identity: 'node', nodeName: 'n1' }), 'Forbidden', /may only renew its own/);
  t.is(grantSubject(user('system:kube-scheduler'), { identity: 'scheduler', nodeName: '' }).commonName, 'system:kube-scheduler');
  t.is(grantSubject(user('admin', GROUP_MASTERS), { identity: 'controller-manager', nodeName: '' }).commonName, 'system:kube-controller-manager');
});

test("a node's serving certificate: asked for with its own client certificate, its name and IPs as SANs", (t) => {
  const node = user('system:node:worker-1', GROUP_NODES);
  const req = { identity: 'node', nodeName: 'worker-1', usage: 'serving', sans: ['worker-1', '192.0.2.7', '2001:db8::7'] };
  t.deepEqual(grantCertificate(node, req), {
    subject: { commonName: 'system:node:worker-1', organizations: [GROUP_NODES] },
    usage: 'serving',
    sans: { dns: ['worker-1'], ips: ['192.0.2.7', '2001:db8::7'] },
  });
  t.deepEqual(grantCertificate(node, { ...req, usage: '', sans: [] }).usage, 'client', 'usage defaults to client');
  t.is(grantCertificate(user('admin', GROUP_MASTERS), req).usage, 'serving', 'an admin may ask for it too');
});

test('serving certificates: refused for a token, another node, other names, other identities', (t) => {
  const node = user('system:node:worker-1', GROUP_NODES);
  const req = { identity: 'node', nodeName: 'worker-1', usage: 'serving', sans: ['192.0.2.7'] };
  refused(t, () => grantCertificate(joinToken, req), 'Forbidden', /not a join token/);
  refused(t, () => grantCertificate(node, { ...req, nodeName: 'worker-2' }), 'Forbidden', /may only renew its own certificate/);
  refused(
    t,
    () => grantCertificate(node, { ...req, sans: ['api.example.com'] }),
    'Forbidden',
    /"api.example.com" is neither an IP address nor the node's name "worker-1"/,
  );
  refused(t, () => grantCertificate(node, { ...req, sans: [] }), 'BadRequest', /at least one name/);
  refused(t, () => grantCertificate(user('admin', GROUP_MASTERS), { ...req, identity: 'scheduler' }), 'BadRequest', /only identity "node"/);
  refused(t, () => grantCertificate(node, { ...req, usage: 'peer' }), 'BadRequest', /usage: "peer" is not client or serving/);
  refused(t, () => grantCertificate(node, { ...req, usage: 'client' }), 'BadRequest', /only a serving certificate has names/);
});
