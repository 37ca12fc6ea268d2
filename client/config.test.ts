import test from 'ava';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatClientConfig, parseClientConfig, readClientConfig, resolveClient, upsertContext, type ContextEntry } from './config';

const CA_A = '-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n';
const CA_B = '-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n';

async function tempConfig(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, '.tsk', 'config');
}

const ctx = (name: string, server: string, caPem = CA_A): ContextEntry => ({ name, server, caPem, certPem: CERT, keyPem: KEY });

test('format and parse round-trip, PEMs as base64', (t) => {
  const config = { currentContext: 'a', contexts: [ctx('a', '127.0.0.1:6443'), { name: 'b', server: 'unix:/run/x.sock', token: 'tok' }] };
  const text = formatClientConfig(config);
  t.regex(text, /certificate-authority-data: [A-Za-z0-9+/=]+\n/);
  t.notRegex(text, /BEGIN/);
  t.deepEqual(parseClientConfig(text, 'f'), config);
});

test('the old form (server alone) is one context "default" without credentials', (t) => {
  t.deepEqual(parseClientConfig('server: 10.0.0.1:6443\n', 'f'), { currentContext: 'default', contexts: [{ name: 'default', server: '10.0.0.1:6443' }] });
});

test('malformed files name the file and field', (t) => {
  t.throws(() => parseClientConfig('contexts: [{name: a}]\n', '/x/config'), {
    message: `/x/config: contexts[0].server: must be set to the API server's HOST:PORT`,
  });
  t.throws(() => parseClientConfig('contexts: [{name: a, server: s, certificate-authority-data: bm9wZQ==}]\n', 'f'), {
    message: 'f: contexts[0].certificate-authority-data: must be base64 of a PEM block',
  });
  t.throws(() => parseClientConfig('contexts: [{name: a, server: s}, {name: a, server: t}]\n', 'f'), { message: 'f: context "a" appears twice' });
  t.throws(() => parseClientConfig('contexts: [a\n', 'f'), { message: /^f: not valid YAML/ });
});

test('upsertContext: created, updated for the same cluster, replaced for another; file 0600, dir 0700', async (t) => {
  const path = await tempConfig(t);
  t.is(await upsertContext(ctx('default', '127.0.0.1:6443'), path), 'created');
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(join(path, '..'))).mode & 0o777, 0o700);
  t.is(await upsertContext(ctx('other', '127.0.0.1:7443', CA_B), path), 'created');
  t.is(await upsertContext(ctx('default', '127.0.0.1:6444'), path), 'updated');
  t.is(await upsertContext(ctx('default', '127.0.0.1:6445', CA_B), path), 'replaced-other-cluster');
  const config = await readClientConfig(path);
  t.is(config?.currentContext, 'default');
  t.deepEqual(
    config?.contexts.map((c) => `${c.name}=${c.server}`),
    ['default=127.0.0.1:6445', 'other=127.0.0.1:7443'],
  );
});

test('resolveClient: the current context, or --context', async (t) => {
  const path = await tempConfig(t);
  await upsertContext(ctx('b', '127.0.0.1:7443', CA_B), path);
  await upsertContext(ctx('a', '127.0.0.1:6443'), path);
  const env = { TSK_CONFIG: path };
  const current = await resolveClient({ env });
  t.is(current.server, '127.0.0.1:6443');
  t.is(current.credentials.caPem, CA_A);
  t.is(current.warning, undefined);
  const chosen = await resolveClient({ env, context: 'b' });
  t.is(chosen.server, '127.0.0.1:7443');
  t.is(chosen.credentials.caPem, CA_B);
  await t.throwsAsync(resolveClient({ env, context: 'zz' }), { message: `--context: context "zz" not found in ${path}` });
});

test('resolveClient: a --server of another context takes that context; an unknown one gets no credentials and a warning', async (t) => {
  const path = await tempConfig(t);
  await upsertContext(ctx('b', '127.0.0.1:7443', CA_B), path);
  await upsertContext(ctx('a', '127.0.0.1:6443'), path);
  const env = { TSK_CONFIG: path };
  const other = await resolveClient({ env, server: '127.0.0.1:7443' });
  t.is(other.context, 'b');
  t.is(other.credentials.caPem, CA_B);
  const viaEnv = await resolveClient({ env: { ...env, TSCTL_SERVER: '127.0.0.1:7443' } });
  t.is(viaEnv.context, 'b');
  const unknown = await resolveClient({ env, server: '10.9.9.9:6443' });
  t.is(unknown.server, '10.9.9.9:6443');
  t.deepEqual(unknown.credentials, {});
  t.is(unknown.context, undefined);
  t.regex(unknown.warning ?? '', /no context in .* has server 10\.9\.9\.9:6443: connecting without credentials/);
});

test('resolveClient: an explicit --kubeconfig or --context pairs its credentials with --server', async (t) => {
  const path = await tempConfig(t);
  await upsertContext(ctx('lab', '127.0.0.1:6443'), path);
  const viaSocket = await resolveClient({ kubeconfig: path, server: 'unix:/run/tsk/api.sock', env: {} });
  t.is(viaSocket.server, 'unix:/run/tsk/api.sock');
  t.is(viaSocket.credentials.certPem, CERT);
  const withContext = await resolveClient({ context: 'lab', server: 'unix:/x', env: { TSK_CONFIG: path } });
  t.is(withContext.credentials.certPem, CERT);
  await t.throwsAsync(resolveClient({ kubeconfig: `${path}.missing`, env: {} }), { message: /^--kubeconfig: .* does not exist$/ });
});

test('resolveClient: no file means the default address, no credentials, said so', async (t) => {
  const path = await tempConfig(t);
  const r = await resolveClient({ env: { TSK_CONFIG: path } });
  t.is(r.server, '127.0.0.1:6443');
  t.deepEqual(r.credentials, {});
  t.regex(r.warning ?? '', /does not exist: connecting to 127\.0\.0\.1:6443 without credentials/);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, 'server: 10.0.0.1:6443\n');
  t.is((await resolveClient({ env: { TSK_CONFIG: path } })).server, '10.0.0.1:6443');
});

test("a context's other servers: parsed, written, and resolved with the server chosen first", async (t) => {
  const path = await tempConfig(t);
  await upsertContext({ ...ctx('ha', '10.0.0.1:6443'), servers: ['10.0.0.2:6443', '10.0.0.3:6443'] }, path);
  const text = formatClientConfig({ currentContext: 'ha', contexts: [{ ...ctx('ha', '10.0.0.1:6443'), servers: ['10.0.0.2:6443'] }] });
  t.deepEqual(parseClientConfig(text, 'f').contexts[0]?.servers, ['10.0.0.2:6443']);
  const env = { TSK_CONFIG: path };
  t.deepEqual((await resolveClient({ env })).servers, ['10.0.0.1:6443', '10.0.0.2:6443', '10.0.0.3:6443']);
  const second = await resolveClient({ env, server: '10.0.0.2:6443' });
  t.is(second.context, 'ha', 'any of the servers picks the context and its credentials');
  t.deepEqual(second.servers, ['10.0.0.2:6443', '10.0.0.1:6443', '10.0.0.3:6443']);
  t.throws(() => parseClientConfig('contexts:\n- name: x\n  server: a:1\n  servers: b:1\n', 'f'), { message: /f: contexts\[0\]\.servers: must be a list/ });
});
