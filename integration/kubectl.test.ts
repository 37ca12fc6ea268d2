// Debian's real kubectl against tsk's REST API (apiserver/rest): discovery,
// get in every output format, watch, create/apply/replace/scale/delete,
// describe, auth can-i, and bad input answered with Kubernetes' Status while
// the server keeps serving. Expected outputs are Kubernetes' as its
// documentation prints them (kubectl reference, "kubectl get" examples).

import test from 'ava';

import { mkdtempSync, rmSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import { kubeconfigServer, writeKubeconfig } from '../client/kubeconfig';
import { CleanupStack } from './support/cleanups';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { runProcess, type Run } from './support/run';

interface Env {
  server: RunningApiServer;
  dir: string;
  kubeconfig: string;
}

const cleanups = new CleanupStack();
let env: Env;

test.before(async () => {
  const etcd = await startTestEtcd(cleanups);
  const tls = await testTls();
  const server = await startApiServer({
    tls: tls.serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    restAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  cleanups.push(() => server.stop());
  const dir = mkdtempSync(join(tmpdir(), 'tsk-kubectl-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'admin.kubeconfig');
  const admin = tls.admin as { caPem: string; certPem: string; keyPem: string };
  await writeKubeconfig(kubeconfig, {
    name: 'test',
    server: kubeconfigServer(server.restAddress!),
    caPem: admin.caPem,
    certPem: admin.certPem,
    keyPem: admin.keyPem,
  });
  env = { server, dir, kubeconfig };
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

/**
 * kubectl validates a manifest against /openapi/v3 (or v2) before sending
 * it; until the OpenAPI documents are merged (branch restpatch), writes go
 * with --validate=false. The lead removes this after the merge.
 */
const NO_OPENAPI = ['--validate=false'];

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
  t.regex(await ok(['create', ...NO_OPENAPI, '-f', '-'], podYaml('web-1')), /^pod\/web-1 created$/m);
  await ok(['create', ...NO_OPENAPI, '-f', '-'], podYaml('db-1', { app: 'db' }));
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
