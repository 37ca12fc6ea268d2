// tsctl end to end: the built bin (node dist/cmd/tsctl.js --server ...)
// against a real API server on a real etcd, as a user would type it.

import test from 'ava';
import { spawn, execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { load, CORE_SCHEMA } from 'js-yaml';
import { decodeJson } from '../api/codec';
import type * as core from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { eventually, startControlPlane, type TestControlPlane } from './support/client-harness';
import { runTsctl, type Run } from './support/run';
import { testTls, writeTestKubeconfig } from './support/pki';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cmd', 'tsctl.js');

function tsctl(plane: TestControlPlane, home: string, args: string[], stdin?: string): Promise<Run> {
  return runTsctl([...args, '--server', plane.address], {
    cwd: ROOT,
    env: { HOME: home, TSCTL_SERVER: '' },
    timeoutMs: 30_000,
    ...(stdin === undefined ? {} : { stdin }),
  });
}

async function setup(t: Parameters<typeof startControlPlane>[0]) {
  const plane = await startControlPlane(t);
  const home = await mkdtemp(join(tmpdir(), 'tsctl-home-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  // tsctl finds the admin context for --server in $HOME/.tsk/config, as after `tsk server`.
  await writeTestKubeconfig(join(home, '.tsk', 'config'), plane.address);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  return { plane, home, cs, run: (args: string[], stdin?: string) => tsctl(plane, home, args, stdin) };
}

/** For the bad-input tests: manifest files written under home, and the pods and namespaces stored (to show nothing was). */
function scratch(home: string, cs: Clientset) {
  return {
    file: (name: string, text: string): Promise<string> => {
      const p = join(home, name);
      return writeFile(p, text).then(() => p);
    },
    podsNow: async (): Promise<string[]> => ((await cs.pods.listAll({ namespace: '' })).items ?? []).map((p) => p.metadata?.name ?? ''),
    nsNow: async (): Promise<string[]> => ((await cs.namespaces.list()).items ?? []).map((n) => n.metadata?.name ?? ''),
  };
}

test('apply manifests/: created, unchanged, configured; a removed label goes, clusterIP stays', async (t) => {
  const { home, cs, run } = await setup(t);
  const first = await run(['apply', '-f', 'manifests/']);
  t.is(first.code, 0, first.stderr);
  t.is(first.stdout, 'namespace/demo created\npod/hello created\nreplicationcontroller/web created\nservice/web created\n');
  const second = await run(['apply', '-f', 'manifests/']);
  t.is(second.code, 0, second.stderr);
  t.is(second.stdout, 'namespace/demo unchanged\npod/hello unchanged\nreplicationcontroller/web unchanged\nservice/web unchanged\n');

  const before = await cs.services.get('web', 'demo');
  const dir = join(home, 'm');
  await cp(join(ROOT, 'manifests'), dir, { recursive: true });
  const svcFile = join(dir, '30-web-service.yaml');
  const text = await readFile(svcFile, 'utf8');
  await writeFile(svcFile, text.replace('  labels:\n    app: web\nspec:', '  labels:\n    tier: front\nspec:'));
  const third = await run(['apply', '-f', dir]);
  t.is(third.code, 0, third.stderr);
  t.is(third.stdout, 'namespace/demo unchanged\npod/hello unchanged\nreplicationcontroller/web unchanged\nservice/web configured\n');
  const after = await cs.services.get('web', 'demo');
  t.deepEqual(after.metadata?.labels, { tier: 'front' }, 'the label removed from the file is gone');
  t.is(after.spec?.clusterIP, before.spec?.clusterIP, 'clusterIP kept');
  t.truthy(after.spec?.clusterIP);
  t.is(after.spec?.ports?.[0]?.nodePort, before.spec?.ports?.[0]?.nodePort, 'nodePort kept');

  // stdin works too
  const fromStdin = await run(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: piped\n');
  t.is(fromStdin.stdout, 'namespace/piped created\n');
});

test('get: tables, -A, -l, -o name/json/yaml round-trip, missing names, empty lists', async (t) => {
  const { cs, run } = await setup(t);
  await cs.pods.create({
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36', ports: [{ containerPort: 80 }] }] },
  });
  await cs.pods.create({ metadata: { name: 'db', labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });

  const table = await run(['get', 'po']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
  t.regex(table.stdout, /\nweb {3,}0\/1 {3,}Pending {3,}0 {3,}\d+s\n/);
  const all = await run(['get', 'pods', '-A', '-l', 'app=web']);
  t.regex(all.stdout, /^NAMESPACE\s+NAME\s+READY/);
  t.regex(all.stdout, /\ndefault\s+web\s+/);
  t.notRegex(all.stdout, /\bdb\b/);
  t.is((await run(['get', 'pods', '-o', 'name'])).stdout, 'pod/db\npod/web\n');

  const yaml = await run(['get', 'pod', 'web', '-o', 'yaml']);
  t.is(yaml.code, 0, yaml.stderr);
  const live = await cs.pods.get('web', 'default');
  const parsed = decodeJson<core.Pod>('tsk.v1.Pod', load(yaml.stdout, { schema: CORE_SCHEMA }));
  t.deepEqual(parsed.unknownFields, []);
  t.deepEqual(parsed.value, decodeJson<core.Pod>('tsk.v1.Pod', JSON.parse((await run(['get', 'pod', 'web', '-o', 'json'])).stdout)).value);
  t.is(parsed.value.metadata?.uid, live.metadata?.uid);
  t.is(parsed.value.metadata?.resourceVersion, live.metadata?.resourceVersion);
  t.deepEqual(parsed.value.spec?.containers?.[0]?.ports?.[0]?.containerPort, 80);
  const list = JSON.parse((await run(['get', 'pods', '-o', 'json'])).stdout) as { kind: string; apiVersion: string; items: unknown[] };
  t.is(list.kind, 'List');
  t.is(list.apiVersion, 'v1');
  t.is(list.items.length, 2);

  const missing = await run(['get', 'pod', 'web', 'nope']);
  t.is(missing.code, 1);
  t.regex(missing.stdout, /\nweb\s/);
  t.is(missing.stderr, 'Error from server (NotFound): pods "nope" not found\n');
  // kube-system holds the kube-dns Service the API server keeps (the cluster DNS address); default has none.
  const dns = await run(['get', 'svc', '-n', 'kube-system']);
  t.regex(dns.stdout, /\nkube-dns\s+ClusterIP\s+10\.96\.0\.10\s/);
  const empty = await run(['get', 'svc', '-n', 'default']);
  t.is(empty.code, 0);
  t.is(empty.stdout, '');
  t.is(empty.stderr, 'No resources found in default namespace.\n');
  const ns = await run(['get', 'ns']);
  t.regex(ns.stdout, /^NAME\s+STATUS\s+AGE\ndefault\s+Active\s+\d+s\nkube-node-lease\s+Active\s+\d+s\nkube-system\s+Active/);
});

test('global flags before the command; get --no-headers, --show-labels, -L and --sort-by as kubectl', async (t) => {
  const { plane, home, cs, run } = await setup(t);
  for (const [name, rank] of [
    ['a', '10'],
    ['b', '9'],
    ['c', '100'],
  ] as const) {
    await cs.pods.create({
      metadata: { name, labels: { rank, 'example.com/tier': name === 'b' ? 'back' : 'front' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
  }
  // The server and the namespace only before the command word, as `kubectl -s HOST -n NS get pods`.
  const before = await new Promise<Run>((resolvePromise) => {
    execFile(
      process.execPath,
      [BIN, '-s', plane.address, '-n', 'default', 'get', 'pods', '--no-headers', '--sort-by', '{.metadata.labels.rank}', '-L', 'example.com/tier'],
      { cwd: ROOT, env: { ...process.env, HOME: home, TSCTL_SERVER: '' }, timeout: 30_000 },
      (err, stdout, stderr) => resolvePromise({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
  t.is(before.code, 0, before.stderr);
  const rows = before.stdout.trim().split('\n');
  t.deepEqual(
    rows.map((r) => r.split(/\s+/)[0]),
    ['b', 'a', 'c'],
    'rank labels sort as numbers (quantities), no header',
  );
  t.regex(rows[0] ?? '', /^b\s+0\/1\s+Pending\s+0\s+\d+s\s+back$/);

  const labels = await run(['get', '-n', 'default', 'pods', '--show-labels', '-L', 'rank,example.com/tier', '--sort-by=.metadata.name']);
  t.is(labels.code, 0, labels.stderr);
  t.regex(labels.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+RANK\s+TIER\s+LABELS\n/);
  t.regex(labels.stdout, /\na\s+0\/1\s+Pending\s+0\s+\d+s\s+10\s+front\s+example\.com\/tier=front,rank=10\n/);
  t.deepEqual(
    labels.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(/\s+/)[0]),
    ['a', 'b', 'c'],
  );
  const allNs = await run(['-A', 'get', 'pods', '--no-headers', '-o', 'wide']);
  t.is(allNs.code, 0, allNs.stderr);
  t.regex(allNs.stdout, /^default\s+a\s+0\/1\s+Pending/);
  const sortedNames = await run(['get', 'pods', '-o', 'name', '--sort-by', '.metadata.labels.rank']);
  t.is(sortedNames.stdout, 'pod/b\npod/a\npod/c\n');

  const noField = await run(['get', 'pods', '--sort-by', '.spec.nope']);
  t.is(noField.code, 1);
  t.is(noField.stderr, 'error: couldn\'t find any field with path "{.spec.nope}" in the list of objects\n');
  // As cobra, a flag before the command is checked by the command's parser.
  const unknown = await run(['--bogus=1', 'get', 'pods']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /^error: unknown flag: --bogus\nSee 'tsctl get --help' for usage\.\n$/);
  const help = await run(['-n', 'x', '--help', 'get']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--no-headers/);
});

test('get pods -w prints the current rows, then a row per change', async (t) => {
  const { plane, home, cs } = await setup(t);
  await cs.pods.create({ metadata: { name: 'first' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  const child = spawn(process.execPath, [BIN, 'get', 'pods', '-w', '--server', plane.address], { cwd: ROOT, env: { ...process.env, HOME: home } });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => out.includes('first'), 15_000, 'initial rows');
  const p = await cs.pods.create({ metadata: { name: 'second' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  await cs.pods.updateStatus({ ...p, status: { phase: 'Running' } });
  await cs.pods.delete('second', { gracePeriodSeconds: 0 });
  await eventually(() => out.trim().split('\n').length >= 5, 15_000, 'a row per change');
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGINT');
  t.is(await exited, 0);
  const lines = out.trim().split('\n');
  t.regex(lines[0] ?? '', /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  t.regex(lines[1] ?? '', /^first\s+0\/1\s+Pending/);
  t.regex(lines[2] ?? '', /^second\s+0\/1\s+Pending/);
  t.regex(lines[3] ?? '', /^second\s+0\/1\s+Running/);
  t.regex(lines[4] ?? '', /^second\s/);
  t.is(lines.length, 5);
});

test('describe shows the object and its events; delete prints kubectl lines', async (t) => {
  const { cs, run } = await setup(t);
  const pod = await cs.pods.create({
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { containers: [{ name: 'httpd', image: 'busybox:1.36', ports: [{ containerPort: 8080 }] }] },
  });
  await cs.events.create({
    metadata: { name: 'web.1' },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'default', uid: pod.metadata?.uid },
    reason: 'Scheduled',
    message: 'Successfully assigned default/web to node-1',
    type: 'Normal',
    source: { component: 'default-scheduler' },
    lastTimestamp: new Date().toISOString(),
  });
  await cs.events.create({
    metadata: { name: 'other.1' },
    involvedObject: { kind: 'Pod', name: 'other', namespace: 'default' },
    reason: 'Other',
    message: 'not about web',
  });
  const d = await run(['describe', 'pod', 'web']);
  t.is(d.code, 0, d.stderr);
  t.regex(d.stdout, /^Name:\s+web\nNamespace:\s+default\nLabels:\s+app=web\n/);
  t.regex(d.stdout, /\nContainers:\n {2}httpd:\n {4}Image:\s+busybox:1\.36\n {4}Port:\s+8080\/TCP\n/);
  t.regex(
    d.stdout,
    /\nEvents:\n {2}Type\s+Reason\s+Age\s+From\s+Message\n {2}----.*\n {2}Normal\s+Scheduled\s+\d+s\s+default-scheduler\s+Successfully assigned default\/web to node-1\n$/,
  );
  t.notRegex(d.stdout, /not about web/);

  const del = await run(['delete', 'pod', 'web', '--now']);
  t.is(del.code, 0, del.stderr);
  t.is(del.stdout, 'pod "web" deleted\n');
  const again = await run(['delete', 'pod', 'web']);
  t.is(again.code, 1);
  t.is(again.stderr, 'Error from server (NotFound): pods "web" not found\n');
  const ns = await run(['create', 'namespace', 'staging']);
  t.is(ns.stdout, 'namespace/staging created\n');
  const v = await run(['version']);
  t.regex(v.stdout, /^Client Version: v\d+\.\d+\.\d+\nServer Version: v/);
  const ci = await run(['cluster-info']);
  t.regex(ci.stdout, /^tsk control plane is running at 127\.0\.0\.1:\d+\n$/);
});

test('scale rc: sets replicas, honours --current-replicas, refuses other kinds and bad counts', async (t) => {
  const { cs, run } = await setup(t);
  t.is((await run(['apply', '-f', 'manifests/00-namespace.yaml', '-f', 'manifests/20-web-rc.yaml'])).code, 0);
  const scaled = await run(['scale', 'rc', 'web', '--replicas', '5', '-n', 'demo']);
  t.is(scaled.code, 0, scaled.stderr);
  t.is(scaled.stdout, 'replicationcontroller/web scaled\n');
  t.is((await cs.replicationControllers.get('web', 'demo')).spec?.replicas, 5);
  t.is((await run(['scale', 'replicationcontroller/web', '--replicas=0', '-n', 'demo'])).code, 0);
  t.is((await cs.replicationControllers.get('web', 'demo')).spec?.replicas, 0);
  const stale = await run(['scale', 'rc', 'web', '--replicas', '2', '--current-replicas', '3', '-n', 'demo']);
  t.is(stale.code, 1);
  t.regex(stale.stderr, /expected 3 replicas of replicationcontroller\/web, found 0: not scaled/);
  for (const [args, message] of [
    [['scale', 'pod', 'x', '--replicas', '1'], /cannot scale "pod"/],
    [['scale', 'rc', 'web', '-n', 'demo'], /--replicas is required/],
    [['scale', 'rc', 'web', '--replicas', '-1', '-n', 'demo'], /must be 0 or more/],
    [['scale', 'rc', 'nope', '--replicas', '1', '-n', 'demo'], /not found/],
  ] as const) {
    const r = await run([...args]);
    t.not(r.code, 0, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
  t.is((await cs.replicationControllers.get('web', 'demo')).spec?.replicas, 0, 'failed scales change nothing');
});

test('delete -f removes what apply created', async (t) => {
  const { cs, run } = await setup(t);
  t.is((await run(['apply', '-f', 'manifests/'])).code, 0);
  const del = await run(['delete', '-f', 'manifests/30-web-service.yaml', '-f', 'manifests/20-web-rc.yaml']);
  t.is(del.code, 0, del.stderr);
  t.is(del.stdout, 'service "web" deleted\nreplicationcontroller "web" deleted\n');
  t.deepEqual((await cs.services.list({ namespace: 'demo' })).items ?? [], []);
});

test('bad input fails with a clear message, a non-zero exit, and stores nothing', async (t) => {
  const { home, cs, run } = await setup(t);
  const { file, podsNow, nsNow } = scratch(home, cs);
  const nsBefore = await nsNow();

  const badYaml = await file(
    'app.yaml',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: one}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: [oops\nspec: {}\n',
  );
  const r1 = await run(['apply', '-f', badYaml]);
  t.is(r1.code, 1);
  t.regex(r1.stderr, /^error: error parsing .*app\.yaml: line \d+: /);

  const wrongType = await file(
    'types.yaml',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: two}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    ports:\n    - containerPort: eighty\n',
  );
  const r2 = await run(['apply', '-f', wrongType]);
  t.is(r2.code, 1);
  t.regex(
    r2.stderr,
    /^error: error validating ".*types\.yaml" \(document 2, line 5\): Pod: spec\.containers\[0\]\.ports\[0\]\.containerPort: expected integer, got string\n$/,
  );

  const unknownKind = await file(
    'kind.yaml',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: three}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n',
  );
  const r3 = await run(['apply', '-f', unknownKind]);
  t.is(r3.code, 1);
  t.regex(
    r3.stderr,
    /no matches for kind "Deployment" in version "apps\/v1"; known kinds: Pod, ReplicationController, Service, Endpoints, Node, Namespace, Event/,
  );

  const unknownField = await file(
    'field.yaml',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: strict}\nspec:\n  containers: [{name: c, image: busybox}]\n  bogusField: 1\n',
  );
  const r4 = await run(['apply', '-f', unknownField, '--validate=strict']);
  t.is(r4.code, 1);
  t.regex(r4.stderr, /unknown field "spec\.bogusField"/);
  const r4warn = await run(['apply', '-f', unknownField]);
  t.is(r4warn.code, 0, r4warn.stderr);
  t.regex(r4warn.stderr, /^Warning: unknown field "spec\.bogusField"/);
  t.is(r4warn.stdout, 'pod/strict created\n');
  await cs.pods.delete('strict', { gracePeriodSeconds: 0 });

  const invalid = await file('invalid.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c}]\n');
  const r5 = await run(['apply', '-f', invalid]);
  t.is(r5.code, 1);
  t.regex(r5.stderr, /^The Pod "web" is invalid: spec\.containers\[0\]\.image: Required value/);

  const r6 = await run(['get', 'foo']);
  t.is(r6.code, 1);
  t.is(
    r6.stderr,
    'error: the server doesn\'t have a resource type "foo"; known types: pods (po), replicationcontrollers (rc), services (svc), endpoints (ep), nodes (no), namespaces (ns), events (ev), configmaps (cm), secrets, leases\n',
  );
  const r7 = await run(['get']);
  t.is(r7.code, 2);
  const r8 = await run(['get', 'pods', '--bogus']);
  t.is(r8.code, 2);
  t.regex(r8.stderr, /unknown flag: --bogus/);
  const r9 = await run(['apply', '-f', join(home, 'nope.yaml')]);
  t.is(r9.code, 1);
  t.regex(r9.stderr, /does not exist/);

  t.deepEqual(await podsNow(), [], 'no pod was stored');
  t.deepEqual(await nsNow(), nsBefore, 'no namespace was stored');
});

test('apply: one document the server refuses leaves the cluster unchanged (server-side dry run first)', async (t) => {
  const { home, cs, run } = await setup(t);
  const { file, podsNow, nsNow } = scratch(home, cs);
  const nsBefore = await nsNow();
  const good = (name: string, ns: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  containers: [{name: c, image: busybox}]\n`;
  const noImage = (name: string, ns: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  containers: [{name: c}]\n`;

  // In an existing namespace: the good pod before the bad one is not created.
  const mixed = await file('mixed.yaml', `${good('first', 'default')}---\n${noImage('second', 'default')}`);
  const r1 = await run(['apply', '-f', mixed]);
  t.is(r1.code, 1);
  t.is(r1.stdout, '');
  t.regex(r1.stderr, /^The Pod "second" is invalid: spec\.containers\[0\]\.image: Required value/);
  t.regex(r1.stderr, /error: nothing was applied: .*mixed\.yaml \(document 2\) was refused\n$/);
  t.deepEqual(await podsNow(), []);

  // In a namespace the same file creates: neither the namespace nor the good pod is created.
  const withNs = await file(
    'ns.yaml',
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\n${good('first', 'fresh')}---\n${noImage('second', 'fresh')}`,
  );
  const r2 = await run(['apply', '-f', withNs]);
  t.is(r2.code, 1);
  t.regex(r2.stderr, /The Pod "second" is invalid: spec\.containers\[0\]\.image: Required value/);
  t.regex(r2.stderr, /\(document 3\) was refused/);
  t.deepEqual(await podsNow(), []);
  t.deepEqual(await nsNow(), nsBefore);

  // An update the server refuses (clusterIP is immutable) stops a create in the same file.
  const svc = (ip: string): string => `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n${ip ? `  clusterIP: ${ip}\n` : ''}`;
  const r3 = await run(['apply', '-f', await file('svc.yaml', svc(''))]);
  t.is(r3.code, 0, r3.stderr);
  const before = await cs.services.get('web');
  const other = before.spec?.clusterIP === '10.96.200.200' ? '10.96.200.201' : '10.96.200.200';
  const r4 = await run(['apply', '-f', await file('both.yaml', `${good('third', 'default')}---\n${svc(other)}`)]);
  t.is(r4.code, 1);
  t.regex(r4.stderr, /spec\.clusterIP: Invalid value: "10\.96\.200\.20\d": field is immutable/);
  t.deepEqual(await podsNow(), []);
  const after = await cs.services.get('web');
  t.is(after.metadata?.resourceVersion, before.metadata?.resourceVersion);

  // The same files, fixed, apply in full.
  const fixed = await file(
    'fixed.yaml',
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\n${good('first', 'fresh')}---\n${good('second', 'fresh')}`,
  );
  const r5 = await run(['apply', '-f', fixed]);
  t.is(r5.code, 0, r5.stderr);
  t.is(r5.stdout, 'namespace/fresh created\npod/first created\npod/second created\n');
});

test('an unreachable server: a clear error and exit 1', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'tsctl-home-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const r = await new Promise<Run>((res) =>
    execFile(process.execPath, [BIN, 'get', 'pods', '--server', '127.0.0.1:1'], { env: { ...process.env, HOME: home } }, (err, stdout, stderr) =>
      res({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
  t.is(r.code, 1);
  t.regex(
    r.stderr,
    /^warning: no context in .*config has server 127\.0\.0\.1:1: connecting without credentials.*\nerror: cannot reach the API server at 127\.0\.0\.1:1: connection refused/,
  );
});

test('apply --dry-run=server has the server judge every object and stores none; client only reads; a bad strategy is refused', async (t) => {
  const { home, cs, run } = await setup(t);
  const dir = join(home, 'dry');
  await cp(join(ROOT, 'manifests'), dir, { recursive: true });
  const server = await run(['apply', '--validate=strict', '--dry-run=server', '-f', dir]);
  t.is(server.code, 0, server.stderr);
  t.is(
    server.stdout,
    'namespace/demo created (server dry run)\npod/hello created (server dry run)\nreplicationcontroller/web created (server dry run)\nservice/web created (server dry run)\n',
  );
  t.deepEqual(
    ((await cs.namespaces.list()).items ?? []).map((n) => n.metadata?.name).filter((n) => n === 'demo'),
    [],
    'nothing stored',
  );

  const bad = join(home, 'bad.yaml');
  await writeFile(bad, 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c}]\n');
  const refused = await run(['apply', '--dry-run=server', '-f', bad]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^The Pod "web" is invalid: spec\.containers\[0\]\.image: Required value/);

  const applied = await run(['apply', '-f', dir]);
  t.is(applied.code, 0, applied.stderr);
  const client = await run(['apply', '--dry-run=client', '-f', dir]);
  t.is(client.code, 0, client.stderr);
  t.is(
    client.stdout,
    'namespace/demo unchanged (dry run)\npod/hello unchanged (dry run)\nreplicationcontroller/web unchanged (dry run)\nservice/web unchanged (dry run)\n',
  );

  const wrong = await run(['apply', '--dry-run=maybe', '-f', dir]);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /Invalid dry-run value \(maybe\)\. Must be "none", "server", or "client"\./);
});

test('configmaps and secrets: create as kubectl, get -o yaml in base64, describe without values, apply with stringData', async (t) => {
  const { home, cs, run } = await setup(t);
  const { file } = scratch(home, cs);
  const pwFile = await file('password.txt', 'S!B\\*d$zDsb=');
  const created = await run(['create', 'secret', 'generic', 'db-user-pass', '--from-literal=username=admin', `--from-file=password=${pwFile}`]);
  t.is(created.code, 0, created.stderr);
  t.is(created.stdout, 'secret/db-user-pass created\n');
  const yaml = await run(['get', 'secret', 'db-user-pass', '-o', 'yaml']);
  t.is(yaml.code, 0, yaml.stderr);
  const doc = load(yaml.stdout, { schema: CORE_SCHEMA }) as { data: Record<string, string>; type: string; stringData?: unknown };
  t.deepEqual(doc.data, { password: Buffer.from('S!B\\*d$zDsb=').toString('base64'), username: Buffer.from('admin').toString('base64') });
  t.is(doc.type, 'Opaque');
  const table = await run(['get', 'secrets']);
  t.regex(table.stdout, /^NAME\s+TYPE\s+DATA\s+AGE\ndb-user-pass\s+Opaque\s+2\s+\d+s\n$/);
  const described = await run(['describe', 'secret', 'db-user-pass']);
  t.is(described.code, 0, described.stderr);
  t.regex(described.stdout, /\nType:\s+Opaque\n\nData\n====\npassword:\s+12 bytes\nusername:\s+5 bytes\n$/);
  t.false(described.stdout.includes('admin'), 'describe never prints a value');

  const env = await file('game.env', 'lives=3\nenemies=aliens\n');
  const cm = await run(['create', 'configmap', 'game-config', `--from-env-file=${env}`, '--from-literal=mode=easy']);
  t.is(cm.stdout, 'configmap/game-config created\n', cm.stderr);
  t.deepEqual((await cs.configMaps.get('game-config', 'default')).data, { enemies: 'aliens', lives: '3', mode: 'easy' });
  t.regex((await run(['describe', 'cm', 'game-config'])).stdout, /\nData\n====\nenemies:\n----\naliens\n\nlives:\n----\n3\n/);

  const docker = await run([
    'create',
    'secret',
    'docker-registry',
    'regcred',
    '--docker-server=registry.example.com',
    '--docker-username=ci',
    '--docker-password=pw',
  ]);
  t.is(docker.stdout, 'secret/regcred created\n', docker.stderr);
  const reg = await cs.secrets.get('regcred', 'default');
  t.is(reg.type, 'kubernetes.io/dockerconfigjson');
  t.deepEqual(JSON.parse(Buffer.from(reg.data?.['.dockerconfigjson'] ?? []).toString()), {
    auths: { 'registry.example.com': { username: 'ci', password: 'pw', auth: Buffer.from('ci:pw').toString('base64') } },
  });

  // The Kubernetes documentation's Secret with stringData, applied unchanged.
  const manifest = await file(
    'secret.yaml',
    'apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\ntype: Opaque\nstringData:\n  config.yaml: |\n    apiUrl: "https://my.api.com/api/v1"\n    username: admin\n',
  );
  const applied = await run(['apply', '-f', manifest]);
  t.is(applied.stdout, 'secret/mysecret created\n', applied.stderr);
  const got = load((await run(['get', 'secret', 'mysecret', '-o', 'yaml'])).stdout, { schema: CORE_SCHEMA }) as {
    data: Record<string, string>;
    stringData?: unknown;
  };
  t.is(Buffer.from(got.data['config.yaml'] ?? '', 'base64').toString(), 'apiUrl: "https://my.api.com/api/v1"\nusername: admin\n');
  t.is(got.stringData, undefined, 'stringData is write-only');
  // As kubectl: stringData is never in the live object, so apply sees a change and says configured; the server stores nothing new.
  const rv = (await cs.secrets.get('mysecret', 'default')).metadata?.resourceVersion;
  const again = await run(['apply', '-f', manifest]);
  t.is(again.stdout, 'secret/mysecret configured\n', again.stderr);
  t.is((await cs.secrets.get('mysecret', 'default')).metadata?.resourceVersion, rv);

  // Bad input to create: the flag is named and nothing is stored.
  const missing = await run(['create', 'secret', 'generic', 'broken', '--from-literal=a=1', `--from-file=${join(home, 'nope.txt')}`]);
  t.is(missing.code, 1);
  t.is(missing.stderr, `error: --from-file: error reading ${join(home, 'nope.txt')}: no such file or directory\n`);
  const dup = await run(['create', 'configmap', 'broken', '--from-literal=a=1', '--from-literal=a=2']);
  t.is(dup.code, 1);
  t.regex(dup.stderr, /^error: --from-literal: cannot add key "a", another key by that name already exists/);
  const badKey = await run(['create', 'configmap', 'broken', '--from-literal=../etc=1']);
  t.is(badKey.code, 1);
  t.regex(badKey.stderr, /^error: --from-literal: "\.\.\/etc" is not a valid key name for a ConfigMap/);
  t.deepEqual(
    ((await cs.secrets.list({ namespace: 'default' })).items ?? []).map((s) => s.metadata?.name),
    ['db-user-pass', 'mysecret', 'regcred'],
  );
  t.deepEqual(
    ((await cs.configMaps.list({ namespace: 'default' })).items ?? []).map((c) => c.metadata?.name),
    ['game-config'],
  );
});

test('bad ConfigMaps and Secrets through apply: over 1 MiB, keys that are not file names, bad base64: a field error, exit 1, nothing stored', async (t) => {
  const { home, cs, run } = await setup(t);
  const { file } = scratch(home, cs);
  const big = 'x'.repeat(1024 * 1024);
  const cases: [string, string, RegExp][] = [
    [
      'big-cm.yaml',
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: ${big}\n`,
      /The ConfigMap "big" is invalid: .*data: Too long: must have at most 1048576 bytes/,
    ],
    [
      'big-secret.yaml',
      `apiVersion: v1\nkind: Secret\nmetadata: {name: big}\nstringData:\n  blob: ${big}\n`,
      /The Secret "big" is invalid: .*data: Too long: must have at most 1048576 bytes/,
    ],
    [
      'key-cm.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys}\ndata:\n  "a/b": "1"\n  "..data": "2"\n',
      /The ConfigMap "keys" is invalid: \[?.*data\[a\/b\]: Invalid value: "a\/b": a valid config key must consist of alphanumeric characters.*data\[\.\.data\]: Invalid value: "\.\.data": must not start with '\.\.'/s,
    ],
    [
      'key-secret.yaml',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: keys}\nstringData:\n  "my key": hunter2\n',
      /The Secret "keys" is invalid: data\[my key\]: Invalid value: "my key": a valid config key must consist of alphanumeric characters/,
    ],
    ['b64.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: {name: b64}\ndata:\n  password: hunter2!\n', /data\.password: illegal base64 data at input byte 7/],
  ];
  for (const [name, text, message] of cases) {
    const r = await run(['apply', '-f', await file(name, text)]);
    t.is(r.code, 1, `${name}: ${r.stderr}`);
    t.regex(r.stderr, message, name);
    t.false(r.stderr.includes('hunter2'), `${name}: no secret value in the message`);
  }
  t.deepEqual((await cs.configMaps.listAll({ namespace: '' })).items ?? [], [], 'no ConfigMap was stored');
  t.deepEqual((await cs.secrets.listAll({ namespace: '' })).items ?? [], [], 'no Secret was stored');
});

test('bad pod fields through apply: a subPath with "..", dnsPolicy None without nameservers, a hostAlias without an IP: field errors, exit 1, nothing stored', async (t) => {
  const { home, cs, run } = await setup(t);
  const { file } = scratch(home, cs);
  const pod = (name: string, spec: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n${spec}`;
  const cases: [string, string, RegExp][] = [
    [
      'subpath.yaml',
      pod('escape', '    volumeMounts:\n    - {name: v, mountPath: /v, subPath: ../../etc}\n  volumes:\n  - {name: v, emptyDir: {}}\n'),
      /The Pod "escape" is invalid: spec\.containers\[0\]\.volumeMounts\[0\]\.subPath: Invalid value: "\.\.\/\.\.\/etc": must not contain '\.\.'/,
    ],
    [
      'dns.yaml',
      pod('nodns', '  dnsPolicy: None\n'),
      /The Pod "nodns" is invalid: spec\.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None/,
    ],
    [
      'dns-empty.yaml',
      pod('nons', '  dnsPolicy: None\n  dnsConfig: {searches: [example.com]}\n'),
      /The Pod "nons" is invalid: spec\.dnsConfig\.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None/,
    ],
    ['alias.yaml', pod('alias', '  hostAliases:\n  - hostnames: [foo.local]\n'), /The Pod "alias" is invalid: spec\.hostAliases\[0\]\.ip: /],
  ];
  for (const [name, text, message] of cases) {
    const r = await run(['apply', '-f', await file(name, text)]);
    t.is(r.code, 1, `${name}: ${r.stderr}`);
    t.regex(r.stderr, message, name);
  }
  t.deepEqual((await cs.pods.listAll({ namespace: '' })).items ?? [], [], 'no Pod was stored');
});
