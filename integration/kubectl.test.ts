// Debian's real kubectl against tsk's REST API (apiserver/rest): discovery,
// get in every output format, watch, create/apply/replace/scale/delete,
// describe, auth can-i, and bad input answered with Kubernetes' Status while
// the server keeps serving. Expected outputs are Kubernetes' as its
// documentation prints them (kubectl reference, "kubectl get" examples).

import test from 'ava';

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { request as httpsRequest } from 'node:https';
import type { JsonObject } from '../api/codec';
import { ApiError } from '../api/errors';
import type { RestExtensions } from '../apiserver/rest';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import { kubeconfigServer, writeKubeconfig } from '../client/kubeconfig';
import { CleanupStack } from './support/cleanups';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { runProcess, type Run } from './support/run';
import { eventually } from './support/wait';

interface Env {
  server: RunningApiServer;
  dir: string;
  kubeconfig: string;
  etcdUrl: string;
  admin: { caPem: string; certPem: string; keyPem: string };
}

const cleanups = new CleanupStack();
const VIEWER_TOKEN = 'viewer-token-0123456789';
let env: Env;

test.before(async () => {
  const etcd = await startTestEtcd(cleanups);
  const tls = await testTls();
  const dir = mkdtempSync(join(tmpdir(), 'tsk-kubectl-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // A bearer token for a viewer outside every group: authenticated as on gRPC.
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${VIEWER_TOKEN},viewer,u-viewer\n`, { mode: 0o600 });
  const server = await startApiServer({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    restAddress: '127.0.0.1:0',
    // A small window, so that a compacted revision is older than the cache holds (the Expired case).
    watchCacheCapacity: 5,
    tokenAuthFile: tokenFile,
    log: () => undefined,
  });
  cleanups.push(() => server.stop());
  const kubeconfig = join(dir, 'admin.kubeconfig');
  const admin = tls.admin as { caPem: string; certPem: string; keyPem: string };
  await writeKubeconfig(kubeconfig, {
    name: 'test',
    server: kubeconfigServer(server.restAddress!),
    caPem: admin.caPem,
    certPem: admin.certPem,
    keyPem: admin.keyPem,
  });
  env = { server, dir, kubeconfig, etcdUrl: etcd.etcd.clientUrl, admin };
});

test.after.always(() => cleanups.run());

/** kubectl with the test's kubeconfig; HOME and the cache in the scratch directory (never the user's ~/.kube). */
function kubectl(args: readonly string[], stdin?: string): Promise<Run> {
  return runProcess('kubectl', ['--kubeconfig', env.kubeconfig, '--cache-dir', join(env.dir, 'cache'), ...args], {
    env: { HOME: env.dir, KUBECONFIG: '' },
    ...(stdin !== undefined ? { stdin } : {}),
    timeoutMs: 60_000,
  });
}

async function ok(args: readonly string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The table's header line, columns split on runs of 2+ spaces (kubectl's tabwriter). */
function header(out: string): string[] {
  return (out.split('\n')[0] ?? '').trim().split(/\s{2,}/);
}

function rows(out: string): string[][] {
  return out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s{2,}/));
}

const podYaml = (name: string, labels: Record<string, string> = { app: 'web' }): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
  });

test.serial('api-resources lists every kind with its short names, scope and kind', async (t) => {
  const out = await ok(['api-resources']);
  t.deepEqual(header(out), ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
  const byName = new Map(rows(out).map((r) => [r[0], r]));
  t.deepEqual(byName.get('pods'), ['pods', 'po', 'v1', 'true', 'Pod']);
  t.deepEqual(byName.get('nodes'), ['nodes', 'no', 'v1', 'false', 'Node']);
  t.deepEqual(byName.get('replicationcontrollers'), ['replicationcontrollers', 'rc', 'v1', 'true', 'ReplicationController']);
  t.deepEqual(byName.get('leases'), ['leases', 'coordination.k8s.io/v1', 'true', 'Lease']);
  t.deepEqual(byName.get('selfsubjectaccessreviews'), ['selfsubjectaccessreviews', 'authorization.k8s.io/v1', 'false', 'SelfSubjectAccessReview']);
  const version = await ok(['version', '-o', 'json']);
  t.regex(version, /"gitVersion": "v1\.32\.0\+tsk/);
});

test.serial('create -f, get in every output format, -l and -A', async (t) => {
  t.regex(await ok(['create', '-f', '-'], podYaml('web-1')), /^pod\/web-1 created$/m);
  await ok(['create', '-f', '-'], podYaml('db-1', { app: 'db' }));
  const table = await ok(['get', 'pods']);
  t.deepEqual(header(table), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  t.deepEqual(
    rows(table).map((r) => r.slice(0, 4)),
    [
      ['db-1', '0/1', 'Pending', '0'],
      ['web-1', '0/1', 'Pending', '0'],
    ],
  );
  const wide = await ok(['get', 'pods', '-o', 'wide']);
  t.deepEqual(header(wide), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
  t.is(await ok(['get', 'pods', '-l', 'app=web', '-o', 'name']), 'pod/web-1\n');
  t.is(await ok(['get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']), 'db-1 web-1');
  const json = JSON.parse(await ok(['get', 'pod', 'web-1', '-o', 'json'])) as { kind: string; apiVersion: string; metadata: { uid: string } };
  t.is(json.kind, 'Pod');
  t.is(json.apiVersion, 'v1');
  t.truthy(json.metadata.uid);
  t.regex(await ok(['get', 'pod', 'web-1', '-o', 'yaml']), /^apiVersion: v1\nkind: Pod\nmetadata:\n/);
  const all = await ok(['get', 'pods', '-A']);
  t.deepEqual(header(all), ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  const svc = await ok(['get', 'svc', '-A', '-o', 'wide']);
  t.deepEqual(header(svc), ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR']);
  t.true(rows(svc).some((r) => r[0] === 'kube-system' && r[1] === 'kube-dns' && r[2] === 'ClusterIP'));
  const missing = await kubectl(['get', 'pod', 'nope']);
  t.is(missing.code, 1);
  t.is(missing.stderr.trim(), 'Error from server (NotFound): pods "nope" not found');
});

test.serial('get -w prints the list, then each change', async (t) => {
  const child = spawn('kubectl', ['--kubeconfig', env.kubeconfig, '--cache-dir', join(env.dir, 'cache'), 'get', 'pods', '-w', '-l', 'app=watched'], {
    env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await ok(['create', '-f', '-'], podYaml('watched-1', { app: 'watched' }));
  await eventually(() => /^watched-1\s+0\/1\s+Pending\s+0\s+\S+$/m.test(out), 20_000, 'the first pod in the watch');
  await ok(['create', '-f', '-'], podYaml('watched-2', { app: 'watched' }));
  await eventually(() => /^watched-2\s+0\/1\s+Pending\s+0\s+\S+$/m.test(out), 20_000, 'a pod created during the watch');
  t.deepEqual(header(out), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], 'one header, as kubectl prints it');
  t.is(out.split('\n').filter((l) => l.startsWith('NAME')).length, 1);
});

test.serial('get events -w (Events have no watch cache: the watch reads etcd) prints the list, then each new Event', async (t) => {
  const ev = (name: string, reason: string): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'ev-pod', apiVersion: 'v1' },
      reason,
      message: `message of ${reason}`,
      type: 'Normal',
      count: 1,
      source: { component: 'kubelet' },
      firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    });
  await ok(['create', '-f', '-'], ev('ev-pod.1', 'FirstReason'));
  const child = spawn(
    'kubectl',
    ['--kubeconfig', env.kubeconfig, '--cache-dir', join(env.dir, 'cache'), 'get', 'events', '-w', '--field-selector', 'involvedObject.name=ev-pod'],
    { env: { ...process.env, HOME: env.dir, KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => /Normal\s+FirstReason\s+pod\/ev-pod\s+message of FirstReason/.test(out), 20_000, 'the existing Event in the watch');
  await ok(['create', '-f', '-'], ev('ev-pod.2', 'SecondReason'));
  await eventually(() => /Normal\s+SecondReason\s+pod\/ev-pod\s+message of SecondReason/.test(out), 20_000, 'an Event created during the watch');
  t.deepEqual(header(out), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  const listed = await ok(['get', 'events', '--field-selector', 'reason=SecondReason']);
  t.deepEqual(
    rows(listed).map((r) => r[2]),
    ['SecondReason'],
  );
});

test.serial('apply -f creates; replace updates; a stale resourceVersion is a Conflict', async (t) => {
  const cm = (data: Record<string, string>, rv?: string): string =>
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', ...(rv ? { resourceVersion: rv } : {}) }, data });
  t.regex(await ok(['apply', '-f', '-'], cm({ a: '1' })), /^configmap\/settings created$/m);
  const live = JSON.parse(await ok(['get', 'cm', 'settings', '-o', 'json'])) as { metadata: { resourceVersion: string; annotations: Record<string, string> } };
  t.truthy(live.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], 'apply keeps its last-applied annotation');
  t.regex(await ok(['replace', '-f', '-'], cm({ a: '2' }, live.metadata.resourceVersion)), /^configmap\/settings replaced$/m);
  t.is(await ok(['get', 'cm', 'settings', '-o', 'jsonpath={.data.a}']), '2');
  const stale = await kubectl(['replace', '-f', '-'], cm({ a: '3' }, live.metadata.resourceVersion));
  t.is(stale.code, 1);
  t.regex(
    stale.stderr,
    /Error from server \(Conflict\): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again/,
  );
  t.deepEqual(header(await ok(['get', 'cm'])), ['NAME', 'DATA', 'AGE']);
});

const rcJson = (name: string, replicas: number): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name },
    spec: {
      replicas,
      selector: { app: name },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] } },
    },
  });

test.serial('scale rc through the scale subresource; get rc shows it', async (t) => {
  await ok(['create', '-f', '-'], rcJson('front', 1));
  t.regex(await ok(['scale', 'rc', 'front', '--current-replicas=1', '--replicas=3']), /^replicationcontroller\/front scaled$/m);
  t.is(await ok(['get', 'rc', 'front', '-o', 'jsonpath={.spec.replicas}']), '3');
  const table = await ok(['get', 'rc']);
  t.deepEqual(header(table), ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
  t.deepEqual(rows(table)[0]?.slice(0, 4), ['front', '3', '0', '0']);
  const wrong = await kubectl(['scale', 'rc', 'front', '--current-replicas=1', '--replicas=5']);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /Expected replicas to be 1, was 3/);
});

test.serial('delete with --cascade=orphan, foreground and background', async (t) => {
  for (const [name, cascade] of [
    ['orphan-rc', 'orphan'],
    ['fg-rc', 'foreground'],
    ['bg-rc', 'background'],
  ] as const) {
    await ok(['create', '-f', '-'], rcJson(name, 0));
    const r = await kubectl(['delete', 'rc', name, `--cascade=${cascade}`, '--wait=false']);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.trim(), `replicationcontroller "${name}" deleted`);
  }
  // Orphan and Foreground leave the object with the garbage collector's finalizer (no GC runs in this test).
  t.is(await ok(['get', 'rc', 'orphan-rc', '-o', 'jsonpath={.metadata.finalizers}']), '["orphan"]');
  t.is(await ok(['get', 'rc', 'fg-rc', '-o', 'jsonpath={.metadata.finalizers}']), '["foregroundDeletion"]');
  const gone = await kubectl(['get', 'rc', 'bg-rc']);
  t.is(gone.stderr.trim(), 'Error from server (NotFound): replicationcontrollers "bg-rc" not found');
  t.regex(await ok(['delete', 'pod', 'db-1']), /^pod "db-1" deleted$/m);
});

test.serial('describe pod and auth can-i', async (t) => {
  await ok(['create', '-f', '-'], podYaml('described', { app: 'web' }));
  const out = await ok(['describe', 'pod', 'described']);
  t.regex(out, /^Name:\s+described$/m);
  t.regex(out, /^Namespace:\s+default$/m);
  t.regex(out, /^Labels:\s+app=web$/m);
  t.regex(out, /^Status:\s+Pending$/m);
  t.regex(out, /^\s+main:$/m);
  t.regex(out, /^\s+Image:\s+busybox:1\.36$/m);
  t.is(await ok(['auth', 'can-i', 'create', 'pods']), 'yes\n');
  t.is((await kubectl(['auth', 'can-i', 'delete', 'nodes'])).stdout.trim(), 'yes');
  // Another user (a client certificate of the cluster CA without groups) may only discover.
  const someone = (await testTls().then((tls) => tls.credentialsFor('someone'))) as { caPem: string; certPem: string; keyPem: string };
  const other = join(env.dir, 'someone.kubeconfig');
  await writeKubeconfig(other, { name: 'test', server: kubeconfigServer(env.server.restAddress!), ...someone });
  const nobody = await runProcess('kubectl', ['--kubeconfig', other, '--cache-dir', join(env.dir, 'cache'), 'auth', 'can-i', 'list', 'secrets'], {
    env: { HOME: env.dir, KUBECONFIG: '' },
  });
  t.is(nobody.stdout.trim(), 'no');
  t.is(nobody.code, 1);
  const forbidden = await runProcess('kubectl', ['--kubeconfig', other, '--cache-dir', join(env.dir, 'cache'), 'get', 'secrets'], {
    env: { HOME: env.dir, KUBECONFIG: '' },
  });
  t.is(
    forbidden.stderr.trim(),
    'Error from server (Forbidden): secrets is forbidden: User "someone" cannot list resource "secrets" in API group "" in the namespace "default"',
  );
  const as = await kubectl(['get', 'pods', '--as', 'someone']);
  t.regex(as.stderr, /impersonation \(the impersonate-user header, kubectl --as\) is not supported by tsk/);
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTPS request to the REST API with the admin's certificate. */
function raw(method: string, path: string, body?: string | Buffer, contentType = 'application/json'): Promise<RawAnswer> {
  const [host, port] = [env.server.restAddress!.replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(env.server.restAddress!)![1])];
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port,
        method,
        path,
        ca: env.admin.caPem,
        cert: env.admin.certPem,
        key: env.admin.keyPem,
        headers: body === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function status(a: RawAnswer): { kind: string; status: string; reason: string; code: number; message: string } {
  return JSON.parse(a.text) as { kind: string; status: string; reason: string; code: number; message: string };
}

test.serial('bad input is a Status with the right code, and the server keeps serving', async (t) => {
  const malformed = await raw('POST', '/api/v1/namespaces/default/pods', '{"apiVersion": "v1", "kind": ');
  t.is(malformed.status, 400);
  t.like(status(malformed), { kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });

  const unknown = await raw('GET', '/api/v1/namespaces/default/widgets');
  t.is(unknown.status, 404);
  t.like(status(unknown), { reason: 'NotFound', message: 'the server could not find the requested resource' });
  const kubectlUnknown = await kubectl(['get', 'widgets']);
  t.is(kubectlUnknown.stderr.trim(), 'error: the server doesn\'t have a resource type "widgets"');

  const future = await raw('GET', '/api/v1/namespaces/default/pods?watch=true&resourceVersion=999999999');
  t.is(future.status, 504);
  t.like(status(future), { reason: 'Timeout', code: 504 });
  t.regex(status(future).message, /^Timeout: Too large resource version: 999999999, current: \d+$/);

  const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { x: 'y'.repeat(3 * 1024 * 1024) } });
  const tooLarge = await raw('POST', '/api/v1/namespaces/default/configmaps', big);
  t.is(tooLarge.status, 413);
  t.like(status(tooLarge), { reason: 'RequestEntityTooLarge', code: 413 });

  const strict = await raw('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', JSON.stringify({ metadata: { name: 'strict' }, bogus: 1 }));
  t.is(strict.status, 400);
  t.regex(status(strict).message, /strict decoding error: unknown field "bogus"/);
  const warn = await raw('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', JSON.stringify({ metadata: { name: 'warned' }, bogus: 1 }));
  t.is(warn.status, 201);
  t.is(warn.headers['warning'], '299 - "unknown field \\"bogus\\""');

  const dry = await raw('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', JSON.stringify({ metadata: { name: 'dry' } }));
  t.is(dry.status, 201);
  t.is((await raw('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404, 'dryRun=All stores nothing');

  const patch = await raw('PATCH', '/api/v1/namespaces/default/configmaps/warned', '{"data":{"a":"b"}}', 'application/x-bogus-patch');
  t.is(patch.status, 415, 'a patch of a type Kubernetes does not know');
  t.like(status(patch), { reason: 'UnsupportedMediaType', code: 415 });
  t.regex(status(patch).message, /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json/);
  const merged = await raw('PATCH', '/api/v1/namespaces/default/configmaps/warned', '{"data":{"a":"b"}}', 'application/merge-patch+json');
  t.is(merged.status, 200);

  const precondition = await raw(
    'DELETE',
    '/api/v1/namespaces/default/configmaps/warned',
    JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-its-uid' } }),
  );
  t.is(precondition.status, 409, precondition.text);
  t.regex(status(precondition).message, /^Precondition failed: UID in precondition: not-its-uid, UID in object meta: \S+$/);
  const badPolicy = await raw('DELETE', '/api/v1/namespaces/default/configmaps/warned?propagationPolicy=Sometimes');
  t.is(badPolicy.status, 422);
  t.like(status(badPolicy), { reason: 'Invalid' });

  t.is((await raw('GET', '/api/v1/namespaces/default/configmaps/warned')).status, 200, 'still serving');
  t.regex(await ok(['get', 'cm', 'warned', '-o', 'name']), /^configmap\/warned$/m);
});

test.serial('a watch from a compacted resourceVersion gets an ERROR event with a 410 Status', async (t) => {
  const first = JSON.parse((await raw('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'old-0' } }))).text) as {
    metadata: { resourceVersion: string };
  };
  let last = '';
  for (let i = 1; i <= 10; i++) {
    const made = await raw('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: `old-${i}` } }));
    last = (JSON.parse(made.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  }
  const etcd = new Etcd3({ hosts: env.etcdUrl });
  t.teardown(() => etcd.close());
  await etcd.kv.compact({ revision: last, physical: true });
  const expired = await raw('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${first.metadata.resourceVersion}&timeoutSeconds=5`);
  t.is(expired.status, 200);
  const event = JSON.parse(expired.text.trim().split('\n')[0]!) as { type: string; object: { kind: string; code: number; reason: string } };
  t.is(event.type, 'ERROR');
  t.like(event.object, { kind: 'Status', code: 410, reason: 'Expired' });
});

test.serial('a watch ends after timeoutSeconds; deletecollection deletes what the selector matches', async (t) => {
  const started = Date.now();
  const w = await raw('GET', '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&labelSelector=nothing%3Dhere');
  t.is(w.status, 200);
  t.true(Date.now() - started >= 900);
  for (const n of ['dc-1', 'dc-2'])
    await raw('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: n, labels: { batch: 'x' } } }));
  const deleted = await raw('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=batch%3Dx');
  t.is(deleted.status, 200);
  t.deepEqual(
    (JSON.parse(deleted.text) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name),
    ['dc-1', 'dc-2'],
  );
  t.is(await ok(['get', 'cm', '-l', 'batch=x', '-o', 'name']), '');
});

test.serial('get all, leases and events; bearer tokens; status and binding subresources', async (t) => {
  await ok(['create', '-f', '-'], podYaml('all-1'));
  await ok(['create', '-f', '-'], rcJson('all-rc', 2));
  const all = await ok(['get', 'all']);
  t.regex(all, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m, 'pods in the "all" category');
  t.regex(all, /^pod\/all-1\s+0\/1\s+Pending\s/m);
  t.regex(all, /^replicationcontroller\/all-rc\s+2\s+0\s+0\s/m);
  await raw(
    'POST',
    '/apis/coordination.k8s.io/v1/namespaces/default/leases',
    JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'holder' }, spec: { holderIdentity: 'me' } }),
  );
  const leases = await ok(['get', 'leases']);
  t.deepEqual(header(leases), ['NAME', 'HOLDER', 'AGE']);
  t.deepEqual(rows(leases)[0]?.slice(0, 2), ['holder', 'me']);
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const event = await raw(
    'POST',
    '/api/v1/namespaces/default/events',
    JSON.stringify({
      metadata: { name: 'all-1.started' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'all-1', namespace: 'default' },
      reason: 'Started',
      message: 'Started container main',
      type: 'Normal',
      source: { component: 'kubelet' },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    }),
  );
  t.is(event.status, 201, event.text);
  const events = await ok(['get', 'events', '-A']);
  t.deepEqual(header(events), ['NAMESPACE', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  t.deepEqual(rows(events)[0]?.slice(2), ['Normal', 'Started', 'pod/all-1', 'Started container main']);

  // A kubeconfig with only a bearer token (no client certificate, which would win as in kube-apiserver).
  const withToken = async (token: string): Promise<Run> => {
    const path = join(env.dir, 'token.kubeconfig');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: { server: kubeconfigServer(env.server.restAddress!), 'certificate-authority-data': Buffer.from(env.admin.caPem).toString('base64') },
        },
      ],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    };
    writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
    return runProcess('kubectl', ['--kubeconfig', path, '--cache-dir', join(env.dir, 'cache'), 'get', 'pods'], {
      env: { HOME: env.dir, KUBECONFIG: '' },
      timeoutMs: 60_000,
    });
  };
  const viewer = await withToken(VIEWER_TOKEN);
  t.is(
    viewer.stderr.trim(),
    'Error from server (Forbidden): pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "default"',
  );
  const bad = await withToken('wrong');
  t.regex(bad.stderr, /error: You must be logged in to the server \(Unauthorized\)/);

  // The scheduler's bind, and a status written through /status (spec untouched).
  await ok(['create', '-f', '-'], podYaml('bound'));
  const bind = await raw(
    'POST',
    '/api/v1/namespaces/default/pods/bound/binding',
    JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { kind: 'Node', name: 'node-9' } }),
  );
  t.is(bind.status, 201, bind.text);
  t.is(await ok(['get', 'pod', 'bound', '-o', 'jsonpath={.spec.nodeName}']), 'node-9');
  const live = JSON.parse((await raw('GET', '/api/v1/namespaces/default/pods/bound/status')).text) as {
    status?: Record<string, unknown>;
    spec: { nodeName: string };
  };
  const put = await raw(
    'PUT',
    '/api/v1/namespaces/default/pods/bound/status',
    JSON.stringify({ ...live, status: { ...live.status, phase: 'Running' }, spec: { ...live.spec, nodeName: 'elsewhere' } }),
  );
  t.is(put.status, 200, put.text);
  t.is(await ok(['get', 'pod', 'bound', '-o', 'jsonpath={.status.phase} {.spec.nodeName}']), 'Running node-9');
});

/** RFC 7386 JSON merge patch: the test's stand-in for the patch module (branch restpatch), to check the router's PATCH path. */
function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k]))
      out[k] = mergePatch(out[k] as JsonObject, v);
    else out[k] = v;
  }
  return out;
}

test.serial('PATCH goes through the injected extension: kubectl patch, label and scale', async (t) => {
  const etcd = await startTestEtcd(t);
  const tls = await testTls();
  const seen: string[] = [];
  const extensions: RestExtensions = {
    patch: (typeName, live, body, contentType) => {
      seen.push(`${typeName} ${contentType}`);
      if (contentType !== 'application/merge-patch+json' && contentType !== 'application/strategic-merge-patch+json') {
        throw new ApiError('UnsupportedMediaType', `the test handles merge patches only, not ${contentType}`);
      }
      return mergePatch(live, JSON.parse(body) as JsonObject);
    },
    checkPatchType: () => undefined,
    openapi: () => undefined,
  };
  const server = await startApiServer({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    restAddress: '127.0.0.1:0',
    restExtensions: extensions,
    log: () => undefined,
  });
  t.teardown(() => server.stop());
  const config = join(env.dir, 'patch.kubeconfig');
  await writeKubeconfig(config, { name: 'test', server: kubeconfigServer(server.restAddress!), ...env.admin });
  const run = async (args: readonly string[], stdin?: string): Promise<string> => {
    const r = await runProcess('kubectl', ['--kubeconfig', config, '--cache-dir', join(env.dir, 'cache'), ...args], {
      env: { HOME: env.dir, KUBECONFIG: '' },
      timeoutMs: 60_000,
      ...(stdin !== undefined ? { stdin } : {}),
    });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // This server has no OpenAPI documents (the stand-in serves none): no client-side validation.
  await run(['create', '--validate=false', '-f', '-'], rcJson('patched', 1));
  t.is((await run(['patch', 'rc', 'patched', '--type=merge', '-p', '{"metadata":{"labels":{"tier":"web"}}}'])).trim(), 'replicationcontroller/patched patched');
  t.is(await run(['get', 'rc', 'patched', '-o', 'jsonpath={.metadata.labels.tier}']), 'web');
  t.is((await run(['label', 'rc', 'patched', 'team=a'])).trim(), 'replicationcontroller/patched labeled');
  t.is((await run(['scale', 'rc', 'patched', '--replicas=4'])).trim(), 'replicationcontroller/patched scaled');
  t.is(await run(['get', 'rc', 'patched', '-o', 'jsonpath={.spec.replicas} {.metadata.labels.team}']), '4 a');
  t.deepEqual(seen, [
    'tsk.v1.ReplicationController application/merge-patch+json',
    'tsk.v1.ReplicationController application/merge-patch+json',
    'autoscaling.v1.Scale application/merge-patch+json',
  ]);
});

interface ManagedEntry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  subresource?: string;
  fieldsV1: JsonObject;
}

async function managedFields(kind: string, name: string): Promise<ManagedEntry[]> {
  const obj = JSON.parse(await ok(['get', kind, name, '--show-managed-fields', '-o', 'json'])) as { metadata: { managedFields?: ManagedEntry[] } };
  return obj.metadata.managedFields ?? [];
}

const who = (entries: readonly ManagedEntry[]): string[] => entries.map((e) => `${e.manager} ${e.operation}${e.subresource ? ` ${e.subresource}` : ''}`);

test.serial(
  'every write records managed fields: create, client-side apply, patch, label, scale; a server-side apply conflicts with the scale until forced',
  async (t) => {
    await ok(['create', '-f', '-'], rcJson('owned', 1));
    const created = await managedFields('rc', 'owned');
    t.deepEqual(who(created), ['kubectl-create Update']);
    t.like(created[0]!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    t.regex(created[0]!.time ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    await ok(['patch', 'rc', 'owned', '--type=merge', '-p', '{"metadata":{"annotations":{"note":"x"}}}']);
    await ok(['label', 'rc', 'owned', 'team=a']);
    t.regex(await ok(['scale', 'rc', 'owned', '--replicas=3']), /^replicationcontroller\/owned scaled$/m);
    const written = await managedFields('rc', 'owned');
    t.deepEqual(who(written).sort(), ['kubectl Update scale', 'kubectl-create Update', 'kubectl-label Update', 'kubectl-patch Update']);
    const byManager = (m: string): ManagedEntry => written.find((e) => e.manager === m)!;
    t.deepEqual(byManager('kubectl-patch').fieldsV1, { 'f:metadata': { 'f:annotations': { '.': {}, 'f:note': {} } } });
    t.deepEqual(byManager('kubectl-label').fieldsV1, { 'f:metadata': { 'f:labels': { 'f:team': {} } } });
    t.deepEqual(byManager('kubectl').fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    t.like(byManager('kubectl'), { apiVersion: 'v1', subresource: 'scale' });
    // The creator's entry lost the replicas the scale took, and kept its time.
    t.false('f:replicas' in (byManager('kubectl-create').fieldsV1['f:spec'] as JsonObject));
    t.is(byManager('kubectl-create').time, created[0]!.time);

    const conflict = await kubectl(['apply', '--server-side', '-f', '-'], rcJson('owned', 2));
    t.is(conflict.code, 1);
    t.regex(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using v1: \.spec\.replicas/);
    t.is(await ok(['get', 'rc', 'owned', '-o', 'jsonpath={.spec.replicas}']), '3');
    t.regex(await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], rcJson('owned', 2)), /^replicationcontroller\/owned serverside-applied$/m);
    t.is(await ok(['get', 'rc', 'owned', '-o', 'jsonpath={.spec.replicas}']), '2');
    const forced = await managedFields('rc', 'owned');
    t.is(who(forced)[0], 'kubectl Apply', 'Apply entries come first');
    t.false(who(forced).includes('kubectl Update scale'), 'the scale entry lost its only field');

    // A client-side apply is an update by kubectl-client-side-apply.
    t.regex(await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'csa' }, data: { a: '1' } })), /created/);
    t.deepEqual(who(await managedFields('cm', 'csa')), ['kubectl-client-side-apply Update']);
    // A dry run shows the entry it would record and stores nothing.
    const dry = await raw(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/csa?dryRun=All&fieldManager=dry-labeller',
      '{"metadata":{"labels":{"dry":"run"}}}',
      'application/merge-patch+json',
    );
    t.is(dry.status, 200);
    const dryObj = JSON.parse(dry.text) as { metadata: { managedFields: ManagedEntry[] } };
    t.deepEqual(who(dryObj.metadata.managedFields).sort(), ['dry-labeller Update', 'kubectl-client-side-apply Update']);
    t.deepEqual(who(await managedFields('cm', 'csa')), ['kubectl-client-side-apply Update']);
    // managedFields: [] clears them (Kubernetes' isResetManagedFields); the patch changed nothing else, so no entry is recorded.
    await ok(['patch', 'cm', 'csa', '--type=merge', '-p', '{"metadata":{"managedFields":[]}}']);
    t.deepEqual(await managedFields('cm', 'csa'), []);
  },
);

test.serial('apply: create, unchanged, configured (a removed key removed), server-side; patch in the three types; explain', async (t) => {
  const cm = (data: Record<string, string>): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data });
  t.regex(await ok(['apply', '-f', '-'], cm({ a: '1', b: '2' })), /^configmap\/applied created$/m);
  t.regex(await ok(['apply', '-f', '-'], cm({ a: '1', b: '2' })), /^configmap\/applied unchanged$/m);
  t.regex(await ok(['apply', '-f', '-'], cm({ a: '3' })), /^configmap\/applied configured$/m);
  t.deepEqual(JSON.parse(await ok(['get', 'cm', 'applied', '-o', 'jsonpath={.data}'])), { a: '3' }, 'the key left out of the manifest is removed');

  const ssa = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data: { x: '1' } });
  t.regex(await ok(['apply', '--server-side', '-f', '-'], ssa), /^configmap\/ssa serverside-applied$/m);
  const managed = JSON.parse(await ok(['get', 'cm', 'ssa', '--show-managed-fields', '-o', 'json'])) as {
    metadata: { managedFields: { manager: string; operation: string }[] };
  };
  t.like(managed.metadata.managedFields[0], { manager: 'kubectl', operation: 'Apply' });

  t.is((await ok(['patch', 'cm', 'applied', '--type=json', '-p', '[{"op":"add","path":"/data/j","value":"json"}]'])).trim(), 'configmap/applied patched');
  t.is((await ok(['patch', 'cm', 'applied', '--type=merge', '-p', '{"data":{"m":"merge"}}'])).trim(), 'configmap/applied patched');
  await ok(['create', '-f', '-'], rcJson('smp', 0));
  t.is(
    (await ok(['patch', 'rc', 'smp', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"busybox:1.37"}]}}}}'])).trim(),
    'replicationcontroller/smp patched',
  );
  t.is(
    await ok(['get', 'rc', 'smp', '-o', 'jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}']),
    'main=busybox:1.37 ',
    'containers merge by name',
  );
  t.is(await ok(['get', 'cm', 'applied', '-o', 'jsonpath={.data.j} {.data.m}']), 'json merge');
  const bad = await kubectl(['patch', 'cm', 'applied', '--type=json', '-p', '[{"op":"test","path":"/data/a","value":"nope"}]']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /The request is invalid: .*testing value \/data\/a failed: test failed/);

  t.is((await ok(['scale', 'rc', 'smp', '--replicas=0'])).trim(), 'replicationcontroller/smp scaled');
  const explain = await ok(['explain', 'pod.spec.containers']);
  t.regex(explain, /^KIND:\s+Pod$/m);
  t.regex(explain, /^FIELD:\s+containers <\[\]Container>$/m);
  t.regex(explain, /^\s+image\s+<string>$/m);
  const strict = await kubectl(
    ['apply', '--validate=strict', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strict' }, data: {}, nonsense: 1 }),
  );
  t.is(strict.code, 1);
  t.regex(strict.stderr, /unknown field "nonsense"/);
});
