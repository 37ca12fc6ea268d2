// The official JavaScript client (@kubernetes/client-node 1.4) against the
// real `tsk server`, used as its documentation shows: the admin kubeconfig
// the server writes, CoreV1Api for lists, creates, patches in the three
// types and deletes, and an informer (makeInformer) on pods that receives
// add, update and delete, and keeps working across a SIGKILL of the server
// and its start on the same data directory and ports: no duplicate adds,
// and its store equals a fresh list afterwards.

import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { CleanupStack } from './support/cleanups';
import { startTskServer, type TskServer } from './support/tsk-server';
import { eventually } from './support/wait';

// client-node 1.x is an ES module; tsk compiles to CommonJS, so it is loaded with import().
type ClientNode = typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });
type V1Pod = import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } }).V1Pod;
type CoreV1Api = import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } }).CoreV1Api;
type V1ConfigMap = import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } }).V1ConfigMap;
type V1Lease = import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } }).V1Lease;

interface Env {
  k8s: ClientNode;
  dir: string;
  data: string;
  config: string;
  server: TskServer;
  /** The REST API's HOST:PORT, kept across the restart. */
  rest: string;
  core: CoreV1Api;
  kubeconfig: string;
}

const cleanups = new CleanupStack();
let env: Env;

/** `tsk server` on the scratch data directory; `rest` fixes the REST port (a restart reuses it). */
async function startServer(data: string, config: string, rest: string): Promise<TskServer> {
  return startTskServer(cleanups, data, config, ['--etcd-disable-snapshots', '--rest-address', rest]);
}

function restAddressOf(server: TskServer): string {
  const m = /the REST API on (\S+) \(/.exec(server.output());
  if (!m) throw new Error(`the server printed no REST address:\n${server.output()}`);
  return m[1]!;
}

function coreApi(k8s: ClientNode, kubeconfig: string): CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.makeApiClient(k8s.CoreV1Api);
}

/** Compacts the embedded etcd's history up to `revision` (the server's etcd client credentials in its data directory). */
async function compactEtcd(server: TskServer, data: string, revision: string): Promise<void> {
  const url = /embedded etcd ready at (\S+)/.exec(server.output())?.[1];
  if (url === undefined) throw new Error(`the server printed no etcd address:\n${server.output()}`);
  const tls = join(data, 'tls');
  const etcd = new Etcd3({
    hosts: url,
    credentials: {
      rootCertificate: await readFile(join(tls, 'ca.crt')),
      certChain: await readFile(join(tls, 'etcd-client.crt')),
      privateKey: await readFile(join(tls, 'etcd-client.key')),
    },
  });
  try {
    await etcd.kv.compact({ revision, physical: true });
  } finally {
    etcd.close();
  }
}

const pod = (name: string, labels: Record<string, string> = { app: 'client-node' }): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
});

test.before(async () => {
  const k8s = await import('@kubernetes/client-node');
  const dir = await mkdtemp(join(tmpdir(), 'tsk-client-node-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const config = join(dir, 'config');
  const server = await startServer(data, config, '127.0.0.1:0');
  const kubeconfig = join(data, 'admin.kubeconfig');
  env = { k8s, dir, data, config, server, rest: restAddressOf(server), core: coreApi(k8s, kubeconfig), kubeconfig };
});

test.after.always(() => cleanups.run());

test.serial('CoreV1Api lists nodes, pods and services; creates a pod and a service; patches in three types; deletes', async (t) => {
  const { core, k8s } = env;
  const nodes = await core.listNode();
  t.is(nodes.kind, 'NodeList');
  t.deepEqual(nodes.items, []);
  const namespaces = await core.listNamespace();
  t.deepEqual(namespaces.items.map((n) => n.metadata?.name).sort(), ['default', 'kube-node-lease', 'kube-system']);
  t.deepEqual((await core.listNamespacedPod({ namespace: 'default' })).items, []);
  t.is((await core.listServiceForAllNamespaces()).kind, 'ServiceList');

  const created = await core.createNamespacedPod({ namespace: 'default', body: pod('web') });
  t.is(created.metadata?.name, 'web');
  t.is(created.status?.phase, 'Pending');
  t.truthy(created.metadata?.uid);
  t.true(created.metadata?.creationTimestamp instanceof Date, 'the client parsed the timestamp');
  const svc = await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'client-node' }, ports: [{ port: 80, targetPort: 8080 }] } },
  });
  t.regex(svc.spec?.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  t.is(svc.spec?.ports?.[0]?.protocol, 'TCP', 'defaulted');
  const all = await core.listPodForAllNamespaces({ labelSelector: 'app=client-node' });
  t.deepEqual(
    all.items.map((p) => p.metadata?.name),
    ['web'],
  );

  // A strategic merge patch merges containers by name: the image changes, the command stays.
  const smp = await core.patchNamespacedPod(
    { name: 'web', namespace: 'default', body: { spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
  t.is(smp.spec?.containers[0]?.image, 'busybox:1.37');
  t.deepEqual(smp.spec?.containers[0]?.command, ['sleep', '3600']);
  // A JSON merge patch: null removes a key.
  const merged = await core.patchNamespacedService(
    { name: 'web', namespace: 'default', body: { metadata: { labels: { tier: 'front', gone: null } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  t.deepEqual(merged.metadata?.labels, { tier: 'front' });
  const jsonPatched = await core.patchNamespacedPod(
    { name: 'web', namespace: 'default', body: [{ op: 'add', path: '/metadata/labels/patched', value: 'json' }] },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );
  t.is(jsonPatched.metadata?.labels?.['patched'], 'json');

  const missing = await core.readNamespacedPod({ name: 'nobody', namespace: 'default' }).catch((e: unknown) => e);
  t.true(missing instanceof k8s.ApiException);
  t.is((missing as { code: number }).code, 404);
  t.like(JSON.parse((missing as { body: string }).body) as object, { kind: 'Status', reason: 'NotFound', message: 'pods "nobody" not found' });

  await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
  await core.deleteNamespacedPod({ name: 'web', namespace: 'default' });
  await eventually(async () => (await core.listNamespacedPod({ namespace: 'default' })).items.length === 0, 30_000, 'the pod to be gone');
  t.false((await core.listNamespacedService({ namespace: 'default' })).items.some((s) => s.metadata?.name === 'web'));
});

test.serial('KubernetesObjectApi finds kinds by discovery: create, read, server-side apply, list, replace and delete', async (t) => {
  const { k8s } = env;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const lease: V1Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'generic', namespace: 'default' },
    spec: { holderIdentity: 'a' },
  };
  const created = await objects.create(lease);
  t.is(created.metadata?.uid?.length, 36);
  const read = await objects.read<V1Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'generic', namespace: 'default' } });
  t.is(read.spec?.holderIdentity, 'a');

  const cm = (data: Record<string, string>): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'applied', namespace: 'default' },
    data,
  });
  const applied = await objects.patch(cm({ a: '1' }), undefined, undefined, 'client-node-test', true, k8s.PatchStrategy.ServerSideApply);
  t.deepEqual(applied.data, { a: '1' }, 'an apply of an absent object creates it');
  t.like(applied.metadata?.managedFields?.[0], { manager: 'client-node-test', operation: 'Apply' });
  const reapplied = await objects.patch(cm({ b: '2' }), undefined, undefined, 'client-node-test', true, k8s.PatchStrategy.ServerSideApply);
  t.deepEqual(reapplied.data, { b: '2' }, 'a field the manager no longer applies is removed');
  await objects.create<V1ConfigMap>({ ...cm({}), metadata: { name: 'second', namespace: 'default' } });
  const page = await objects.list<V1ConfigMap>('v1', 'ConfigMap', 'default', undefined, undefined, undefined, undefined, undefined, 1);
  t.is(page.items.length, 1, 'limit');
  t.truthy(page.metadata?._continue, 'a continue token for the next page');
  const replaced = await objects.replace({ ...reapplied, data: { c: '3' } });
  t.deepEqual(replaced.data, { c: '3' });
  for (const o of [cm({}), { ...cm({}), metadata: { name: 'second', namespace: 'default' } }, lease]) await objects.delete(o);
  const gone = await objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: 'default' } }).catch((e: unknown) => e);
  t.is((gone as { code?: number }).code, 404);
});

/** What an informer's handlers were called with, in order. */
class Recorded {
  readonly events: string[] = [];
  errors = 0;

  adds(name: string): number {
    return this.events.filter((e) => e === `add ${name}`).length;
  }

  has(event: string): boolean {
    return this.events.includes(event);
  }
}

test.serial('an informer on pods sees add, update and delete, and carries on across an API server restart', async (t) => {
  const { core, k8s } = env;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default' }));
  const seen = new Recorded();
  informer.on('add', (p) => seen.events.push(`add ${p.metadata?.name ?? ''}`));
  informer.on('update', (p) => seen.events.push(`update ${p.metadata?.name ?? ''}`));
  informer.on('delete', (p) => seen.events.push(`delete ${p.metadata?.name ?? ''}`));
  // The informer stops on an error; client-node's documented pattern is to start it again after a pause.
  let stopped = false;
  informer.on('error', () => {
    seen.errors++;
    if (!stopped) setTimeout(() => void (stopped ? undefined : informer.start()), 1000);
  });
  t.teardown(async () => {
    stopped = true;
    await informer.stop();
  });
  await core.createNamespacedPod({ namespace: 'default', body: pod('before') });
  await informer.start();
  t.true(seen.has('add before'), 'the list');

  await core.createNamespacedPod({ namespace: 'default', body: pod('one') });
  await eventually(() => seen.has('add one'), 20_000, 'the informer to see the new pod');
  await core.patchNamespacedPod(
    { name: 'one', namespace: 'default', body: { metadata: { labels: { phase: 'patched' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  // The patch's own event: the scheduler's status write (Unschedulable: no nodes) is an 'update one' too.
  await eventually(() => informer.get('one', 'default')?.metadata?.labels?.['phase'] === 'patched', 20_000, 'the update');
  t.true(seen.has('update one'));
  await core.deleteNamespacedPod({ name: 'one', namespace: 'default' });
  await eventually(() => seen.has('delete one'), 20_000, 'the delete');
  t.is(informer.get('one', 'default'), undefined);

  // SIGKILL: the watch breaks with no goodbye; the informer errs while the server is away.
  env.server.child.kill('SIGKILL');
  await eventually(() => seen.errors > 0, 30_000, 'the informer to notice the server is gone');
  env.server = await startServer(env.data, env.config, env.rest);
  t.is(restAddressOf(env.server), env.rest, 'the same REST port');
  const again = coreApi(k8s, env.kubeconfig);
  await again.createNamespacedPod({ namespace: 'default', body: pod('after') });
  await eventually(() => seen.has('add after'), 30_000, 'the informer to see a pod created after the restart');
  await again.patchNamespacedPod(
    { name: 'before', namespace: 'default', body: { metadata: { labels: { phase: 'after-restart' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
  await eventually(() => informer.get('before', 'default')?.metadata?.labels?.['phase'] === 'after-restart', 30_000, 'an update after the restart');

  t.is(seen.adds('before'), 1, `no duplicate add: ${seen.events.join(', ')}`);
  t.is(seen.adds('after'), 1, `no duplicate add: ${seen.events.join(', ')}`);
  const listed = await again.listNamespacedPod({ namespace: 'default' });
  const versions = (pods: readonly V1Pod[]): string[] => pods.map((p) => `${p.metadata?.name ?? ''}@${p.metadata?.resourceVersion ?? ''}`).sort();
  t.deepEqual(versions(informer.list('default')), versions(listed.items), 'the store equals a list');
  t.deepEqual(listed.items.map((p) => p.metadata?.name).sort(), ['after', 'before']);
  t.true(seen.errors > 0);
});

test.serial('an informer away while its history is compacted and the server restarts re-lists on the 410 and catches up', async (t) => {
  const { k8s } = env;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.kubeconfig);
  const core = coreApi(k8s, env.kubeconfig);
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default' }));
  const seen = new Recorded();
  let connects = 0;
  informer.on('add', (p) => seen.events.push(`add ${p.metadata?.name ?? ''}`));
  informer.on('delete', (p) => seen.events.push(`delete ${p.metadata?.name ?? ''}`));
  informer.on('connect', () => connects++);
  const errors: string[] = [];
  // informer.stop() aborts its own watch, which the client reports as an AbortError: not a failure.
  informer.on('error', (err: unknown) => void (err instanceof k8s.AbortError ? undefined : errors.push(String(err))));
  t.teardown(() => informer.stop());
  await informer.start();
  t.deepEqual(seen.events.sort(), ['add after', 'add before']);
  await informer.stop();

  // While it is away: a delete and a create, then etcd forgets the history and the server restarts (its watch cache starts empty).
  await core.deleteNamespacedPod({ name: 'after', namespace: 'default' });
  const away = await core.createNamespacedPod({ namespace: 'default', body: pod('away') });
  await compactEtcd(env.server, env.data, away.metadata?.resourceVersion ?? '');
  await env.server.stop();
  env.server = await startServer(env.data, env.config, env.rest);

  seen.events.length = 0;
  connects = 0;
  await informer.start();
  await eventually(() => seen.has('add away') && seen.has('delete after'), 30_000, `the informer to catch up: ${seen.events.join(', ')}`);
  t.true(connects >= 2, 'a second connection: the watch from the compacted resourceVersion ended with a 410, and the informer listed again');
  t.deepEqual(seen.events.sort(), ['add away', 'delete after'], 'no add for the pod it already had');
  t.deepEqual(errors, []);
  const listed = await core.listNamespacedPod({ namespace: 'default' });
  const versions = (pods: readonly V1Pod[]): string[] => pods.map((p) => `${p.metadata?.name ?? ''}@${p.metadata?.resourceVersion ?? ''}`).sort();
  t.deepEqual(versions(informer.list('default')), versions(listed.items), 'the store equals a list');
});
