import test from 'ava';
import type * as grpc from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { fromServiceError, type ApiError } from '../../api/errors';
import type { BootstrapToken, IssuedCertificate, TokenList } from '../../api/gen/tsk/v1/bootstrap';
import { formatJoinToken, generateJoinToken, parseJoinToken } from '../../util/join-token';
import { caHash, certificateInfo, createCA, createCsr, generateKeyPem } from '../../util/pki';
import { GROUP_AUTHENTICATED, GROUP_MASTERS, GROUP_NODES, type UserInfo } from '../auth/user';
import { MemoryNodeKeyStore } from './node-keys.testing';
import { Bootstrap, type BootstrapDeps } from './service';
import { newTokenRecord, USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE, type TokenRecord, type TokenStore } from './tokens';
import { MemberRefused } from '../ha/members';

class MemoryTokens implements TokenStore {
  readonly map = new Map<string, TokenRecord>();
  async get(id: string): Promise<TokenRecord | undefined> {
    return this.map.get(id);
  }
  async list(): Promise<TokenRecord[]> {
    return [...this.map.values()];
  }
  async put(r: TokenRecord): Promise<void> {
    this.map.set(r.id, r);
  }
  async delete(id: string): Promise<boolean> {
    return this.map.delete(id);
  }
}

type Handler = (call: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;

/** The service's handlers, called as grpc-js would, with `user` as the authenticated caller. */
async function setup(now: () => Date = () => new Date(), serverJoin?: BootstrapDeps['serverJoin']) {
  const ca = await createCA('test-ca');
  const tokens = new MemoryTokens();
  const nodeKeys = new MemoryNodeKeyStore();
  let caller: UserInfo | undefined;
  const handlers: Record<string, Handler> = {};
  const fakeServer = { addService: (_def: unknown, impl: Record<string, Handler>) => Object.assign(handlers, impl) } as unknown as grpc.Server;
  new Bootstrap({
    ca,
    caHash: caHash(ca.certPem),
    tokens,
    nodeKeys,
    authenticate: () => caller,
    now,
    log: () => undefined,
    ...(serverJoin ? { serverJoin } : {}),
  }).register(fakeServer);
  const invoke = <Res>(method: string, request: unknown, as?: UserInfo): Promise<Res> => {
    caller = as;
    const call = { request, metadata: new Metadata(), getPeer: () => 'ipv4:10.0.0.9:40000', getAuthContext: () => ({}) };
    return new Promise((resolve, reject) => handlers[method]!(call, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res as Res))));
  };
  return { ca, tokens, nodeKeys, invoke };
}

const admin: UserInfo = { name: 'admin', groups: [GROUP_MASTERS, GROUP_AUTHENTICATED] };
const node: UserInfo = { name: 'system:node:n1', groups: [GROUP_NODES, GROUP_AUTHENTICATED] };

test('token management is for admins only', async (t) => {
  const { invoke } = await setup();
  const anon = await t.throwsAsync<ApiError>(invoke('createToken', { ttlSeconds: 60, description: '' }));
  t.is(anon?.reason, 'Unauthorized');
  const forbidden = await t.throwsAsync<ApiError>(invoke('listTokens', {}, node));
  t.is(forbidden?.reason, 'Forbidden');
  t.is(forbidden?.message, 'user "system:node:n1" may not manage join tokens (group system:masters only)');
  const created = await invoke<BootstrapToken>('createToken', { ttlSeconds: 3600, description: 'rack 2' }, admin);
  t.regex(created.token ?? '', /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const list = await invoke<TokenList>('listTokens', {}, admin);
  t.deepEqual(
    list.items?.map((i) => [i.id, i.token, i.description, i.usages]),
    [[created.id, '', 'rack 2', ['authentication']]],
  );
  await invoke('deleteToken', { id: created.id }, admin);
  const gone = await t.throwsAsync<ApiError>(invoke('deleteToken', { id: created.id }, admin));
  t.is(gone?.message, `bootstrap token "${created.id}" not found`);
  await t.throwsAsync(invoke('createToken', { ttlSeconds: -1 }, admin), { message: /ttlSeconds: -1 must be 0/ });
});

test('a join token gets a node certificate whatever the CSR asks for; an expired one gets nothing', async (t) => {
  let clock = new Date('2026-01-01T00:00:00Z');
  const { ca, invoke } = await setup(() => clock);
  const created = await invoke<BootstrapToken>('createToken', { ttlSeconds: 3600 }, admin);
  const key = await generateKeyPem();
  // The CSR asks to be an admin: the subject is ignored.
  const csr = await createCsr(key, { commonName: 'admin', organizations: [GROUP_MASTERS] });
  const issued = await invoke<IssuedCertificate>('issueCertificate', { token: created.token, csr, identity: 'node', nodeName: 'n1' });
  t.is(issued.caCertificate, ca.certPem);
  t.deepEqual(certificateInfo(issued.certificate ?? '').subject, { commonName: 'system:node:n1', organizations: [GROUP_NODES] });
  await t.throwsAsync(invoke('issueCertificate', { token: created.token, csr, identity: 'scheduler' }), { message: /may only join nodes/ });
  await t.throwsAsync(invoke('issueCertificate', { token: created.token, csr: 'garbage', identity: 'node', nodeName: 'n1' }), { message: /^csr: / });
  clock = new Date('2026-01-01T01:00:01Z');
  const expired = await t.throwsAsync<ApiError>(invoke('issueCertificate', { token: created.token, csr, identity: 'node', nodeName: 'n1' }));
  t.is(expired?.message, `token ${parseJoinToken(created.token ?? '').id} has expired`);
  t.is(expired?.reason, 'Unauthorized');
});

test('renewal: a certificate gets its own identity again, and nothing without a credential', async (t) => {
  const { invoke } = await setup();
  const csr = await createCsr(await generateKeyPem(), { commonName: 'x' });
  const renewed = await invoke<IssuedCertificate>('issueCertificate', { token: '', csr, identity: 'node', nodeName: 'n1' }, node);
  t.is(certificateInfo(renewed.certificate ?? '').subject.commonName, 'system:node:n1');
  await t.throwsAsync(invoke('issueCertificate', { token: '', csr, identity: 'node', nodeName: 'n2' }, node), {
    message: /may only renew its own certificate/,
  });
  await t.throwsAsync(invoke('issueCertificate', { token: '', csr, identity: 'node', nodeName: 'n1' }), {
    message: 'a join token or a client certificate is required',
  });
  await t.throwsAsync(invoke('issueCertificate', { token: 'abc', csr, identity: 'node', nodeName: 'n1' }), { message: /^the token has no/ });
});

test('a join token may not take over a node that joined with another key, until its Node is deleted', async (t) => {
  const { invoke, nodeKeys } = await setup();
  const { token } = await invoke<BootstrapToken>('createToken', { ttlSeconds: 3600 }, admin);
  const join = (csr: string, nodeName = 'n1') => invoke<IssuedCertificate>('issueCertificate', { token, csr, identity: 'node', nodeName });
  const first = await createCsr(await generateKeyPem(), { commonName: 'system:node:n1' });
  await join(first);
  nodeKeys.nodes.add('n1');
  // The same key joins again (its certificate expired): still n1.
  t.is(certificateInfo((await join(first)).certificate ?? '').subject.commonName, 'system:node:n1');
  const other = await createCsr(await generateKeyPem(), { commonName: 'system:node:n1' });
  const refused = await t.throwsAsync<ApiError>(join(other));
  t.is(refused?.reason, 'Forbidden');
  t.is(refused?.message, 'node "n1" already joined with another key; if this is a new machine for that name, delete the Node first: tsctl delete node n1');
  // Another name is not bound to anything yet.
  await join(other, 'n2');
  // An admin still gets any node's certificate, and binds nothing.
  await invoke('issueCertificate', { token: '', csr: other, identity: 'node', nodeName: 'n1' }, admin);
  await t.throwsAsync(join(other), { message: /already joined with another key/ });
  nodeKeys.nodes.delete('n1');
  await join(other);
  nodeKeys.nodes.add('n1');
  await t.throwsAsync(join(first), { message: /already joined with another key/ });
});

test("a node's renewal for a new key moves its binding to that key", async (t) => {
  const { invoke, nodeKeys } = await setup();
  const { token } = await invoke<BootstrapToken>('createToken', { ttlSeconds: 3600 }, admin);
  const first = await createCsr(await generateKeyPem(), { commonName: 'system:node:n1' });
  await invoke('issueCertificate', { token, csr: first, identity: 'node', nodeName: 'n1' });
  nodeKeys.nodes.add('n1');
  const renewedKey = await createCsr(await generateKeyPem(), { commonName: 'system:node:n1' });
  await invoke('issueCertificate', { token: '', csr: renewedKey, identity: 'node', nodeName: 'n1' }, node);
  // Joining again after the renewed certificate expired uses the renewed key.
  await invoke('issueCertificate', { token, csr: renewedKey, identity: 'node', nodeName: 'n1' });
  await t.throwsAsync(invoke('issueCertificate', { token, csr: first, identity: 'node', nodeName: 'n1' }), { message: /already joined with another key/ });
});

test('JoinServer: the server token only; refused by a server without --cluster-init; the member answer passed on', async (t) => {
  const joins: string[] = [];
  const withJoin = await setup(undefined, async (name, peerUrl) => {
    if (name === 'taken') throw new MemberRefused('an etcd member named taken is already in the cluster');
    joins.push(`${name}=${peerUrl}`);
    return { files: { token: 'T' }, initialCluster: ['a=https://10.0.0.1:2380', `${name}=${peerUrl}`] };
  });
  const hash = caHash(withJoin.ca.certPem);
  const serverToken = generateJoinToken(hash);
  const agentToken = generateJoinToken(hash);
  const now = new Date();
  await withJoin.tokens.put(newTokenRecord(serverToken, { ttlSeconds: 0, description: '', usages: [USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE], now }));
  await withJoin.tokens.put(newTokenRecord(agentToken, { ttlSeconds: 0, description: '', usages: [USAGE_AUTHENTICATION], now }));
  const req = (token: string, name = 'b-1') => ({ token, name, peerUrl: 'https://10.0.0.2:2380' });

  const answer = await withJoin.invoke<{ files?: Record<string, string>; initialCluster?: string[] }>('joinServer', req(formatJoinToken(serverToken)));
  t.deepEqual(answer.initialCluster, ['a=https://10.0.0.1:2380', 'b-1=https://10.0.0.2:2380']);
  t.deepEqual(joins, ['b-1=https://10.0.0.2:2380']);

  const agent = await t.throwsAsync<ApiError>(withJoin.invoke('joinServer', req(formatJoinToken(agentToken))));
  t.is(agent?.reason, 'Forbidden');
  t.regex(agent?.message ?? '', /may only join agents; a server joins with the server token/);
  const wrong = await t.throwsAsync<ApiError>(withJoin.invoke('joinServer', req(formatJoinToken({ ...serverToken, secret: 'x'.repeat(16) }))));
  t.is(wrong?.message, 'unknown token');
  const badName = await t.throwsAsync<ApiError>(withJoin.invoke('joinServer', req(formatJoinToken(serverToken), 'B 1')));
  t.is(badName?.reason, 'BadRequest');
  const taken = await t.throwsAsync<ApiError>(withJoin.invoke('joinServer', req(formatJoinToken(serverToken), 'taken')));
  t.is(taken?.reason, 'Conflict');
  t.deepEqual(joins, ['b-1=https://10.0.0.2:2380'], 'no refused join reached etcd');

  const lone = await setup();
  const loneToken = generateJoinToken(caHash(lone.ca.certPem));
  await lone.tokens.put(newTokenRecord(loneToken, { ttlSeconds: 0, description: '', usages: [USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE], now }));
  const notInit = await t.throwsAsync<ApiError>(lone.invoke('joinServer', req(formatJoinToken(loneToken))));
  t.regex(notInit?.message ?? '', /not started with --cluster-init/);
});
