// Authentication, authorization and admission of the API server, end to end
// on a real etcd: anonymous callers are refused (Unauthenticated); a node's
// identity is held to its own Node, its own pods' status, its own tunnel,
// and gets no pod creation, exec or logs; the scheduler binds; Pod Security
// refuses a hostPath pod in a namespace labelled baseline and accepts it in
// a privileged one. A node reads only the Secrets and ConfigMaps of its
// own pods, by name (get, or list/watch with fieldSelector metadata.name).
//
// Identities are real: each client presents a certificate of the test
// cluster CA (CN = user, O = groups) over TLS, as tsk's components do; an
// anonymous client speaks TLS with no certificate. Everything (etcd, server,
// clients) is stopped in teardowns, also when a test fails.

import * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { ApiError, ForbiddenError, UnauthorizedError, fromServiceError } from '../api/errors';
import * as apiGen from '../api/gen/tsk/v1/api';
import type { ConfigMap, Node, Pod, Secret } from '../api/gen/tsk/v1/core';
import type { ExecServerMessage, TunnelMessage } from '../api/gen/tsk/v1/stream';
import type { UserInfo } from '../apiserver/auth/user';
import { channelCredentials } from '../client';
import { pod, RawKindClient, rejects, startTestApiServer, type TestApiServer } from './support/apiserver';
import { startTestEtcd } from './support/etcd';
import { eventually } from './support/wait';
import { testTls } from './support/pki';
import { openTunnel, streamEnd } from './support/streams';

const ADMIN: UserInfo = { name: 'admin', groups: ['system:masters'] };
const N1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes'] };
const SCHEDULER: UserInfo = { name: 'system:kube-scheduler', groups: [] };
const ALICE: UserInfo = { name: 'alice', groups: [] };

/** A TLS client presenting a certificate for `user` (none: anonymous, TLS without a certificate). */
async function clientAs(t: ExecutionContext, address: string, user?: UserInfo): Promise<grpc.Client> {
  const tls = await testTls();
  const creds = user ? await tls.credentialsFor(user.name, [...user.groups]) : { caPem: tls.ca.certPem };
  // An IP target: TLS sends the name localhost (RFC 6066) and the IP is checked against the certificate.
  const client = new grpc.Client(address, channelCredentials(creds, address), { 'grpc.ssl_target_name_override': 'localhost' });
  t.teardown(() => client.close());
  return client;
}

interface Cluster {
  api: TestApiServer;
  as(user?: UserInfo): Promise<{
    pods: RawKindClient<'Pod'>;
    nodes: RawKindClient<'Node'>;
    namespaces: RawKindClient<'Namespace'>;
    rcs: RawKindClient<'ReplicationController'>;
    secrets: RawKindClient<'Secret'>;
    configMaps: RawKindClient<'ConfigMap'>;
    client: grpc.Client;
  }>;
}

async function startCluster(t: ExecutionContext, extra: { podSecurityDefaultEnforce?: 'privileged' | 'baseline' } = {}): Promise<Cluster> {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd, { ...extra });
  return {
    api,
    async as(user) {
      const client = await clientAs(t, api.server.grpcAddress, user);
      return {
        client,
        pods: new RawKindClient(client, 'Pod'),
        nodes: new RawKindClient(client, 'Node'),
        namespaces: new RawKindClient(client, 'Namespace'),
        rcs: new RawKindClient(client, 'ReplicationController'),
        secrets: new RawKindClient(client, 'Secret'),
        configMaps: new RawKindClient(client, 'ConfigMap'),
      };
    },
  };
}

const node = (name: string): Node => ({ metadata: { name } });

/** Namespace demo with pods p1 on n1 and p2 on n2, bound by the scheduler. */
async function twoNodes(c: Cluster): Promise<void> {
  const admin = await c.as(ADMIN);
  await admin.namespaces.create({ metadata: { name: 'demo' } });
  await admin.nodes.create(node('n1'));
  await admin.nodes.create(node('n2'));
  const scheduler = await c.as(SCHEDULER);
  for (const [p, n] of [
    ['p1', 'n1'],
    ['p2', 'n2'],
  ] as const) {
    await admin.pods.create(pod(p, { app: 'web' }, 'demo'));
    await scheduler.pods.bind({ metadata: { name: p, namespace: 'demo' }, target: { kind: 'Node', name: n } });
  }
}

function isForbidden(t: ExecutionContext, err: ApiError, message: string | RegExp): void {
  t.true(err instanceof ForbiddenError, `${err.reason}: ${err.message}`);
  t.is(err.grpcCode, grpc.status.PERMISSION_DENIED);
  if (typeof message === 'string') t.is(err.message, message);
  else t.regex(err.message, message);
}

test('anonymous calls are refused with Unauthenticated; any user may ask the version', async (t) => {
  const c = await startCluster(t);
  const anonymous = await c.as();
  for (const call of [anonymous.pods.list(), anonymous.nodes.get('', 'n1'), anonymous.pods.create(pod('x'))]) {
    const err = await rejects(call);
    t.true(err instanceof UnauthorizedError, err.message);
    t.is(err.grpcCode, grpc.status.UNAUTHENTICATED);
    t.is(err.message, 'Unauthorized');
  }
  const watch = anonymous.pods.watch({});
  await watch.waitEnd();
  t.is(watch.error?.reason, 'Unauthorized');
  const version = (client: grpc.Client): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const m = apiGen.DiscoveryService.version;
      client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
    });
  t.is((await rejects(version(anonymous.client))).reason, 'Unauthorized');
  t.truthy(await version((await c.as(ALICE)).client));
  isForbidden(
    t,
    await rejects((await c.as(ALICE)).pods.list({ namespace: 'default' })),
    'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
  );
  const metrics = await c.api.server.metrics.registry.metrics();
  t.regex(metrics, /apiserver_request_total\{verb="list",resource="pods",code="401"\} 1/);
  t.regex(metrics, /apiserver_request_total\{verb="list",resource="pods",code="403"\} 1/);
});

test("a node may change only its own Node and its own pods' status, and may not create pods; the scheduler binds", async (t) => {
  const c = await startCluster(t);
  await twoNodes(c);
  const n1 = await c.as(N1);
  const n2Node = await n1.nodes.get('', 'n2'); // a node may read other nodes
  isForbidden(
    t,
    await rejects(n1.nodes.update({ ...n2Node, metadata: { ...n2Node.metadata, labels: { taken: 'yes' } } })),
    'nodes "n2" is forbidden: User "system:node:n1" cannot update resource "nodes" in API group "" at the cluster scope: node "n1" is not allowed to modify node "n2"',
  );
  isForbidden(
    t,
    await rejects(n1.nodes.updateStatus({ ...n2Node, status: { conditions: [{ type: 'Ready', status: 'True' }] } })),
    /cannot update resource "nodes\/status"/,
  );
  const n1Node = await n1.nodes.get('', 'n1');
  const written = await n1.nodes.updateStatus({ ...n1Node, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  t.is(written.status?.conditions?.[0]?.status, 'True');
  isForbidden(
    t,
    await rejects(n1.nodes.update({ ...written, metadata: { ...written.metadata, labels: { 'node-restriction.kubernetes.io/pool': 'gpu' } } })),
    'nodes "n1" is forbidden: node "n1" is not allowed to modify labels: node-restriction.kubernetes.io/pool',
  );

  const p2 = await n1.pods.get('demo', 'p2');
  isForbidden(
    t,
    await rejects(n1.pods.updateStatus({ ...p2, status: { ...p2.status, phase: 'Failed' } })),
    'pods "p2" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
  );
  t.is((await (await c.as(ADMIN)).pods.get('demo', 'p2')).status?.phase, 'Pending', 'the refused write left the pod alone');
  const p1 = await n1.pods.get('demo', 'p1');
  t.is((await n1.pods.updateStatus({ ...p1, status: { ...p1.status, phase: 'Running' } })).status?.phase, 'Running');
  isForbidden(
    t,
    await rejects(n1.pods.delete({ namespace: 'demo', name: 'p2' })),
    'pods "p2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself',
  );

  isForbidden(
    t,
    await rejects(n1.pods.create(pod('web-1', { app: 'web' }, 'demo'))),
    'pods "web-1" is forbidden: User "system:node:n1" cannot create resource "pods" in API group "" in the namespace "demo"',
  );
  isForbidden(
    t,
    await rejects(n1.pods.update({ ...p1, metadata: { ...p1.metadata, labels: { app: 'other' } } })),
    /cannot update resource "pods" in API group "" in the namespace "demo"/,
  );
  isForbidden(
    t,
    await rejects(n1.pods.bind({ metadata: { name: 'p1', namespace: 'demo' }, target: { name: 'n1' } })),
    /cannot create resource "pods\/binding" in API group "" in the namespace "demo"/,
  );
  // A user merely named like a node, outside system:nodes, is no node.
  isForbidden(t, await rejects((await c.as({ name: 'system:node:n1', groups: [] })).pods.list({})), /User "system:node:n1" cannot list resource "pods"/);
  // The scheduler bound p1 and p2 in twoNodes; it may not create pods.
  t.is((await (await c.as(ADMIN)).pods.get('demo', 'p1')).spec?.nodeName, 'n1');
  isForbidden(t, await rejects((await c.as(SCHEDULER)).pods.create(pod('x', {}, 'demo'))), /User "system:kube-scheduler" cannot create resource "pods"/);
});

test("a node cannot exec or read logs, nor open another node's tunnel", async (t) => {
  const c = await startCluster(t);
  await twoNodes(c);
  const execAs = async (user: UserInfo | undefined): Promise<ApiError | undefined> => {
    const m = apiGen.PodServiceService.exec;
    const call = (await c.as(user)).client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as grpc.ClientDuplexStream<
      unknown,
      ExecServerMessage
    >;
    call.write({ start: { namespace: 'demo', name: 'p1', command: ['sh'] } });
    return streamEnd(call);
  };
  const denied = await execAs(N1);
  isForbidden(t, denied!, 'pods "p1" is forbidden: User "system:node:n1" cannot create resource "pods/exec" in API group "" in the namespace "demo"');
  t.is((await execAs(undefined))?.reason, 'Unauthorized');
  t.is((await execAs(SCHEDULER))?.reason, 'Forbidden');

  const logs = apiGen.PodServiceService.logs;
  const logsCall = (await c.as(N1)).client.makeServerStreamRequest(logs.path, logs.requestSerialize, logs.responseDeserialize, {
    namespace: 'demo',
    name: 'p1',
  });
  isForbidden(
    t,
    (await streamEnd(logsCall))!,
    'pods "p1" is forbidden: User "system:node:n1" cannot get resource "pods/log" in API group "" in the namespace "demo"',
  );

  // n1 claims n2's tunnel: refused, and n2's name stays free.
  const stolen = openTunnel((await c.as(N1)).client, 'n2');
  const refusal = await stolen.first;
  t.true(refusal instanceof ApiError);
  isForbidden(
    t,
    refusal as ApiError,
    'nodes "n2" is forbidden: User "system:node:n1" cannot create resource "nodes/tunnel" in API group "" at the cluster scope: node "n1" may only open the tunnel of node "n1"',
  );
  const anonymous = await openTunnel((await c.as()).client, 'n1').first;
  t.is((anonymous as ApiError).reason, 'Unauthorized');
  // Its own tunnel is accepted: the server answers the hello.
  const own = openTunnel((await c.as(N1)).client, 'n1');
  t.deepEqual(((await own.first) as TunnelMessage).hello?.nodeName, 'n1');
  own.call.end();
  own.call.cancel();
  const metrics = await c.api.server.metrics.registry.metrics();
  t.regex(metrics, /apiserver_node_tunnels 1/, 'only n1 is connected');
  t.regex(metrics, /apiserver_request_total\{verb="create",resource="nodes\/tunnel",code="403"\} 1/);
  t.regex(metrics, /apiserver_request_total\{verb="create",resource="pods\/exec",code="403"\} 2/);
});

const hostPathPod = (name: string, namespace: string): Pod => ({
  ...pod(name, { app: 'root' }, namespace),
  spec: { ...pod(name).spec, volumes: [{ name: 'root', hostPath: { path: '/' } }] },
});

test('Pod Security: baseline refuses a hostPath pod naming the volume, privileged accepts it, replication controllers are only warned about', async (t) => {
  const c = await startCluster(t);
  const admin = await c.as(ADMIN);
  await admin.namespaces.create({ metadata: { name: 'locked', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
  await admin.namespaces.create({ metadata: { name: 'open', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
  isForbidden(
    t,
    await rejects(admin.pods.create(hostPathPod('root', 'locked'))),
    'pods "root" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")',
  );
  const accepted = await admin.pods.create(hostPathPod('root', 'open'));
  t.is(accepted.spec?.volumes?.[0]?.hostPath?.path, '/');
  // Dry run is checked the same way.
  t.is((await rejects(admin.pods.create(hostPathPod('dry', 'locked'), { dryRun: true }))).reason, 'Forbidden');

  const m = apiGen.ReplicationControllerServiceService.create;
  const rc = {
    metadata: { name: 'r', namespace: 'locked' },
    spec: { replicas: 1, selector: { app: 'root' }, template: { metadata: { labels: { app: 'root' } }, spec: hostPathPod('x', 'locked').spec } },
  };
  const warnings = await new Promise<string[]>((resolve, reject) => {
    const call = admin.client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      { object: rc },
      (err) => err && reject(fromServiceError(err)),
    );
    call.on('status', (s: grpc.StatusObject) => resolve(s.metadata.get('warning').map(String)));
  });
  t.deepEqual(warnings, ['299 - "would violate PodSecurity \\"baseline:latest\\": hostPath volumes (volume \\"root\\")"']);
});

test('Pod Security: the cluster-wide default applies to namespaces without the label', async (t) => {
  const c = await startCluster(t, { podSecurityDefaultEnforce: 'baseline' });
  const admin = await c.as(ADMIN);
  await admin.namespaces.create({ metadata: { name: 'plain' } });
  const err = await rejects(admin.pods.create({ ...pod('net', {}, 'plain'), spec: { ...pod('net').spec, hostNetwork: true } }));
  isForbidden(t, err, 'pods "net" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)');
  await admin.pods.create(pod('fine', {}, 'plain'));
  t.pass();
});

test('a node reads the Secrets and ConfigMaps of its own pods, one by name, and nothing else', async (t) => {
  const c = await startCluster(t);
  const admin = await c.as(ADMIN);
  await admin.namespaces.create({ metadata: { name: 'demo' } });
  await admin.nodes.create(node('n1'));
  await admin.nodes.create(node('n2'));
  const secret = (name: string): Secret => ({ metadata: { name, namespace: 'demo' }, stringData: { password: `pw-of-${name}` } });
  for (const name of ['s1', 's2', 'pull']) await admin.secrets.create(secret(name));
  await admin.configMaps.create({ metadata: { name: 'c1', namespace: 'demo' }, data: { 'app.conf': 'x=1' } } as ConfigMap);
  // References through envFrom and imagePullSecrets (pod validation of this round takes them already).
  const withRefs = (name: string, secretName: string, extra: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
    metadata: { name, namespace: 'demo' },
    spec: {
      containers: [{ name: 'main', image: 'busybox:1.36', envFrom: [{ secretRef: { name: secretName } }, ...(extra.containers?.[0]?.envFrom ?? [])] }],
      imagePullSecrets: extra.imagePullSecrets,
    },
  });
  await admin.pods.create(
    withRefs('p1', 's1', { containers: [{ name: 'x', envFrom: [{ configMapRef: { name: 'c1' } }] }], imagePullSecrets: [{ name: 'pull' }] }),
  );
  await admin.pods.create(withRefs('p2', 's2'));
  const scheduler = await c.as(SCHEDULER);
  await scheduler.pods.bind({ metadata: { name: 'p1', namespace: 'demo' }, target: { kind: 'Node', name: 'n1' } });
  await scheduler.pods.bind({ metadata: { name: 'p2', namespace: 'demo' }, target: { kind: 'Node', name: 'n2' } });

  const n1 = await c.as(N1);
  // Bound pods reach the authorizer through the Pod watch cache: wait until it has p1's binding.
  await eventually(
    () =>
      n1.secrets.get('demo', 's1').then(
        () => true,
        () => false,
      ),
    10_000,
    'n1 may read s1',
  );
  t.is(Buffer.from((await n1.secrets.get('demo', 's1')).data?.['password'] ?? []).toString(), 'pw-of-s1');
  t.is((await n1.secrets.get('demo', 'pull')).metadata?.name, 'pull');
  t.is((await n1.configMaps.get('demo', 'c1')).data?.['app.conf'], 'x=1');
  isForbidden(
    t,
    await rejects(n1.secrets.get('demo', 's2')),
    `secrets "s2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "demo": no relationship found between node 'n1' and this object`,
  );
  isForbidden(
    t,
    await rejects(n1.secrets.list({ namespace: 'demo' })),
    'secrets is forbidden: User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "demo": No Object name found',
  );
  isForbidden(t, await rejects(n1.secrets.list({})), /cannot list resource "secrets" in API group "" at the cluster scope/);
  isForbidden(t, await rejects(n1.secrets.update({ ...secret('s1'), stringData: { password: 'changed' } })), /cannot update resource "secrets"/);

  // What the kubelet does: a list and a watch limited to one name, in the namespace.
  const one = await n1.secrets.list({ namespace: 'demo', fieldSelector: 'metadata.name=s1' });
  t.deepEqual(
    one.items?.map((s) => s.metadata?.name),
    ['s1'],
  );
  const watch = (await c.as(N1)).secrets.watch({ namespace: 'demo', fieldSelector: 'metadata.name=s1' });
  t.teardown(() => watch.cancel());
  await watch.waitFor((e) => e.length >= 1);
  t.is(watch.events[0]?.type, 'ADDED');
  await admin.secrets.update({ ...(await admin.secrets.get('demo', 's1')), stringData: { password: 'rotated' } });
  await watch.waitFor((e) => e.length >= 2);
  t.is(Buffer.from(watch.events[1]?.object.data?.['password'] ?? []).toString(), 'rotated');
  const other = (await c.as(N1)).secrets.watch({ namespace: 'demo', fieldSelector: 'metadata.name=s2' });
  await other.waitEnd();
  t.is(other.error?.reason, 'Forbidden');
  // A selector naming s1 but also other terms cannot widen the watch: the name still has to match.
  const sneaky = await n1.secrets.list({ namespace: 'demo', fieldSelector: 'type=Opaque,metadata.name=s1' });
  t.deepEqual(
    sneaky.items?.map((s) => s.metadata?.name),
    ['s1'],
  );

  // Controllers and the scheduler read no Secrets.
  isForbidden(t, await rejects(scheduler.secrets.list({})), /User "system:kube-scheduler" cannot list resource "secrets"/);
  const cm = await c.as({ name: 'system:kube-controller-manager', groups: [] });
  isForbidden(t, await rejects(cm.secrets.get('demo', 's1')), /User "system:kube-controller-manager" cannot get resource "secrets"/);

  // Once its pod is gone, the node loses the Secret.
  await admin.pods.delete({ namespace: 'demo', name: 'p1', gracePeriodSeconds: 0 });
  await eventually(
    () =>
      n1.secrets.get('demo', 's1').then(
        () => false,
        () => true,
      ),
    10_000,
    'n1 lost s1',
  );
  isForbidden(t, await rejects(n1.secrets.get('demo', 's1')), /no relationship found between node 'n1' and this object/);
});

test('Leases: a node writes only its own heartbeat Lease in kube-node-lease; the scheduler elects in kube-system only', async (t) => {
  const c = await startCluster(t);
  const n1 = new RawKindClient(await clientAs(t, c.api.server.grpcAddress, N1), 'Lease');
  const scheduler = new RawKindClient(await clientAs(t, c.api.server.grpcAddress, SCHEDULER), 'Lease');
  const alice = new RawKindClient(await clientAs(t, c.api.server.grpcAddress, ALICE), 'Lease');
  const lease = (namespace: string, name: string) => ({
    metadata: { name, namespace },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: '2024-05-01T12:00:00.000000Z' },
  });

  const own = await n1.create(lease('kube-node-lease', 'n1'));
  t.is(own.apiVersion, 'coordination.k8s.io/v1');
  t.is((await n1.get('kube-node-lease', 'n1')).spec?.holderIdentity, 'n1');
  await n1.update({ ...own, spec: { ...own.spec, renewTime: '2024-05-01T12:00:10.000000Z' } });
  const other = await rejects(n1.create(lease('kube-node-lease', 'n2')));
  t.true(other instanceof ForbiddenError);
  t.is(
    other.message,
    'leases.coordination.k8s.io "n2" is forbidden: User "system:node:n1" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": node "n1" may only create its own Lease "n1" in namespace "kube-node-lease"',
  );
  t.true((await rejects(n1.create(lease('kube-system', 'n1')))) instanceof ForbiddenError);
  t.true((await rejects(n1.list({ namespace: 'kube-node-lease' }))) instanceof ForbiddenError);

  await scheduler.create(lease('kube-system', 'kube-scheduler'));
  t.true((await rejects(scheduler.create(lease('default', 'kube-scheduler')))) instanceof ForbiddenError);
  t.true((await rejects(alice.get('kube-system', 'kube-scheduler'))) instanceof ForbiddenError);
  // Validated as Kubernetes' ValidateLease.
  const bad = await rejects(scheduler.create({ ...lease('kube-system', 'kube-controller-manager'), spec: { leaseDurationSeconds: 0 } }));
  t.is(bad.reason, 'Invalid');
  t.regex(bad.message, /spec\.leaseDurationSeconds: Invalid value: 0: must be greater than 0/);
});
