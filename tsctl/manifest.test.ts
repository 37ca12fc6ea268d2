import test from 'ava';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseManifest, readManifests } from './manifest';
import { decodeManifest } from './objects';
import { parseArgs, flagStrings, flagBool, flagString } from './args';

test('multi-document YAML: documents, their numbers and start lines; empty documents skipped', (t) => {
  const text = '# comment\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\n\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n';
  const docs = parseManifest(text, 'ns.yaml');
  t.deepEqual(
    docs.map((d) => [d.index, d.line, (d.value as { metadata: { name: string } }).metadata.name]),
    [
      [1, 2, 'a'],
      [3, 9, 'b'],
    ],
  );
});

test('timestamps stay strings (core schema), a List is expanded', (t) => {
  const docs = parseManifest(
    'apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\n  metadata: {name: x, creationTimestamp: 2024-01-01T00:00:00Z}\n',
    'l.yaml',
  );
  t.is(docs.length, 1);
  t.is((docs[0]?.value as { metadata: { creationTimestamp: unknown } }).metadata.creationTimestamp, '2024-01-01T00:00:00Z');
});

test('invalid YAML names the file and the line', (t) => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: [web\n    image: busybox\n';
  const err = t.throws(() => parseManifest(text, 'app.yaml'));
  t.regex(err?.message ?? '', /^error parsing app\.yaml: line \d+: /);
});

test('a field of the wrong type names file, document, line and field path', (t) => {
  const docs = parseManifest(
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    ports:\n    - containerPort: eighty\n',
    'app.yaml',
  );
  const err = t.throws(() => decodeManifest(docs[1]!, 'warn'));
  t.is(err?.message, 'error validating "app.yaml" (document 2, line 5): Pod: spec.containers[0].ports[0].containerPort: expected integer, got string');
});

test('unknown fields: warnings by default, an error with --validate=strict; unknown kinds list the known ones', (t) => {
  const [doc] = parseManifest(
    'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: busybox, bogusField: {}}]\n  bogus: 1\n',
    'p.yaml',
  );
  const obj = decodeManifest(doc!, 'warn');
  t.deepEqual([...obj.unknownFields].sort(), ['spec.bogus', 'spec.containers[0].bogusField']);
  t.throws(() => decodeManifest(doc!, 'strict'), { message: /unknown field "spec\.containers\[0\]\.bogusField"/ });
  const [dep] = parseManifest('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n', 'd.yaml');
  t.throws(() => decodeManifest(dep!, 'warn'), {
    message: /no matches for kind "Deployment" in version "apps\/v1"; known kinds: Pod, ReplicationController, Service/,
  });
  const [noName] = parseManifest('apiVersion: v1\nkind: Pod\nmetadata: {}\n', 'n.yaml');
  t.throws(() => decodeManifest(noName!, 'warn'), { message: /metadata\.name: Required value/ });
});

test('a Lease is coordination.k8s.io/v1; in v1 it is not recognized', (t) => {
  const [lease] = parseManifest(
    'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: l, namespace: kube-node-lease}\nspec: {holderIdentity: n1, leaseDurationSeconds: 40}\n',
    'l.yaml',
  );
  const obj = decodeManifest(lease!, 'strict');
  t.is(obj.kind, 'Lease');
  t.like(obj.json, { apiVersion: 'coordination.k8s.io/v1', spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } });
  const [wrong] = parseManifest('apiVersion: v1\nkind: Lease\nmetadata: {name: l}\n', 'w.yaml');
  t.throws(() => decodeManifest(wrong!, 'warn'), {
    message: /no matches for kind "Lease" in version "v1" \(tsk serves Lease in "coordination\.k8s\.io\/v1"\)/,
  });
});

test('directories: .yaml/.yml/.json files in name order; stdin; missing paths', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsctl-manifest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'b.yml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n');
  await writeFile(join(dir, 'a.json'), '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}');
  await writeFile(join(dir, 'README.md'), '# not a manifest');
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'c.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n');
  const docs = await readManifests([dir, '-'], Readable.from(['apiVersion: v1\nkind: Namespace\nmetadata: {name: s}\n']));
  t.deepEqual(
    docs.map((d) => `${d.source.replace(dir, 'D')}:${(d.value as { metadata: { name: string } }).metadata.name}`),
    ['D/a.json:a', 'D/b.yml:b', 'STDIN:s'],
  );
  await t.throwsAsync(readManifests([join(dir, 'nope.yaml')], Readable.from([])), { message: /the path ".*nope\.yaml" does not exist/ });
});

test('flags: interleaved, = forms, repeated -f, combined short booleans, errors', (t) => {
  const specs = [
    { name: 'filename', short: 'f', type: 'string' as const, repeated: true, help: '' },
    { name: 'all-namespaces', short: 'A', type: 'bool' as const, help: '' },
    { name: 'watch', short: 'w', type: 'bool' as const, help: '' },
    { name: 'output', short: 'o', type: 'string' as const, help: '' },
  ];
  const a = parseArgs(['pods', '-f', 'x.yaml', '--filename=y.yaml', '-Aw', '-oyaml', 'web', '--server=h:1', '-n', 'kube-system'], specs);
  t.deepEqual(a.positionals, ['pods', 'web']);
  t.deepEqual(flagStrings(a, 'filename'), ['x.yaml', 'y.yaml']);
  t.true(flagBool(a, 'all-namespaces'));
  t.true(flagBool(a, 'watch'));
  t.is(flagString(a, 'output'), 'yaml');
  t.is(flagString(a, 'server'), 'h:1');
  t.is(flagString(a, 'namespace'), 'kube-system');
  t.throws(() => parseArgs(['--bogus'], specs), { message: 'unknown flag: --bogus' });
  t.throws(() => parseArgs(['-n'], specs), { message: 'flag needs an argument: -n' });
});
