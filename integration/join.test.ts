// Joining with a token, end to end over TCP + TLS: `tsk apiserver` (its own
// etcd) in a network namespace listening on a non-loopback address, and in
// that namespace `tsk kubelet --token` and `tsk scheduler --token` joining
// it as a user would, plus `tsk token create|list|delete` as the admin.
// Checks: a node joins and registers as system:node:NAME, a second start
// needs no token, a wrong or deleted token is refused with one line, a token
// of another CA is refused before it is sent, a join token cannot get a
// control-plane identity while the server token can, a join token cannot
// take over a joined node's name (another key) until the Node is deleted.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore } from '../kubelet/runtime/image/store';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import { startApiServer } from '../apiserver/server';
import { Clientset } from '../client';
import { CREDENTIAL_FILES, keepRenewed, loadOrJoin, resolveComponentClient } from '../client/bootstrap';
import { certificateInfo, issue } from '../util/pki';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { killProcess, run } from './support/netns';
import { cleanupRuntime } from './support/runtime-env';
import { errorLines, runScript, runTsk, startTsk, TSCTL } from './support/tsk-process';

test('nodes and control-plane components join with a token over TCP + TLS', async (t) => {
  const id = randomBytes(3).toString('hex');
  const ns = `tsk-join-${id}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-join-'));
  const cleanups: Array<() => Promise<void> | void> = [];
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  run('ip', ['netns', 'add', ns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', ns]));
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // An address outside 127/8 (the server certificate covers it through --tls-san only).
  run('ip', ['-n', ns, 'addr', 'add', '10.77.0.1/32', 'dev', 'lo']);
  const serverUrl = 'https://10.77.0.1:6443';

  // The server: prints its token and keeps it in <data-dir>/token.
  const serverDir = path.join(dir, 'server');
  const server = startTsk(ns, [
    'apiserver',
    '--data-dir',
    serverDir,
    '--address',
    '10.77.0.1:6443',
    '--http-address',
    '127.0.0.1:6080',
    '--tls-san',
    '10.77.0.1',
    '--write-config=false',
  ]);
  cleanups.push(() => killProcess(server.child));
  const printed = (await server.waitFor(/^Node join token: K10/, 120_000)).slice('Node join token: '.length);
  t.is(fs.readFileSync(path.join(serverDir, 'token'), 'utf8').trim(), printed);
  t.is(fs.statSync(path.join(serverDir, 'token')).mode & 0o777, 0o600);
  const serverToken = printed;
  // The admin credential the server wrote for root on its machine.
  const admin = ['--kubeconfig', path.join(serverDir, 'admin.conf')];

  // A node: its own key, a certificate for system:node:NAME; the Node registers.
  const created = await runTsk(ns, ['token', 'create', '--ttl', '1h', '--description', 'join test', ...admin]);
  t.is(created.code, 0, created.stderr);
  const joinToken = created.stdout.trim();
  t.regex(joinToken, /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const listed = await runTsk(ns, ['token', 'list', ...admin]);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^TOKEN ID\s+TTL\s+EXPIRES\s+USAGES\s+DESCRIPTION/);
  t.regex(listed.stdout, new RegExp(`${joinToken.slice(-23, -17)}\\s+(59m|1h)\\S*\\s+\\S+\\s+authentication\\s+join test`));
  t.regex(listed.stdout, /<forever>\s+<never>\s+authentication,control-plane/);

  const nodeName = `join-${id}`;
  const nodeDir = path.join(dir, 'node');
  cleanups.push(async () => {
    if (fs.existsSync(nodeDir)) await cleanupRuntime(new NativeRuntime({ dataDir: nodeDir, images: new ImageStore(nodeDir) }), nodeDir);
    // The kubelet's --cgroup-root, in every hierarchy, deepest first.
    const found = spawnSync('find', ['/sys/fs/cgroup', '-depth', '-type', 'd', '-name', `tsk-join-${id}`], { encoding: 'utf8' }).stdout;
    for (const d of found.split('\n').filter((l) => l !== '')) spawnSync('rmdir', [d]);
  });
  const kubeletArgs = (data: string): string[] => [
    'kubelet',
    '--server',
    serverUrl,
    '--hostname-override',
    nodeName,
    '--data-dir',
    data,
    '--network',
    'loopback',
    '--cgroup-root',
    `tsk-join-${id}`,
    '--http-address',
    '127.0.0.1:0',
  ];
  const first = startTsk(ns, [...kubeletArgs(nodeDir), '--token', joinToken]);
  cleanups.push(() => killProcess(first.child));
  await first.waitFor(/joined the cluster at .* as system:node:/);
  // The Node is registered with the joined identity.
  await first.waitFor(new RegExp(`registered node ${nodeName}`));
  const agentDir = path.join(nodeDir, 'agent');
  t.is(fs.statSync(agentDir).mode & 0o777, 0o700);
  for (const f of ['client.key', 'client.crt', 'ca.crt']) t.is(fs.statSync(path.join(agentDir, f)).mode & 0o777, 0o600, f);
  const info = certificateInfo(fs.readFileSync(path.join(agentDir, 'client.crt'), 'utf8'));
  t.deepEqual(info.subject, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] });
  await killProcess(first.child);

  // A second start needs no token: it uses what it kept.
  const second = startTsk(ns, kubeletArgs(nodeDir));
  cleanups.push(() => killProcess(second.child));
  await second.waitFor(new RegExp(`node ${nodeName} already registered`));
  t.false(
    second.lines.some((l) => /joined the cluster|warning/.test(l)),
    second.lines.join('\n'),
  );
  await killProcess(second.child);

  // Refusals: each one line on stderr, exit 1, nothing issued.
  const refuse = async (args: string[], message: RegExp): Promise<void> => {
    const r = await runTsk(ns, args);
    t.is(r.code, 1, r.stdout + r.stderr);
    const lines = errorLines(r.stderr);
    t.is(lines.length, 1, r.stderr);
    t.regex(lines[0] ?? '', message);
  };
  const fresh = (): string => path.join(dir, `fresh-${randomBytes(3).toString('hex')}`);
  const hash = serverToken.slice(3, 67);
  const otherCa = `K10${'0'.repeat(64)}${joinToken.slice(67)}`;
  const issuedBefore = server.lines.filter((l) => /issued a client certificate/.test(l)).length;
  const refusedByServer = (): string[] => server.lines.filter((l) => /refused IssueCertificate/.test(l));
  await refuse([...kubeletArgs(fresh()), '--token', otherCa], /has CA sha256:[0-9a-f]+…, not the CA sha256:0+… of the token: refusing to send the token/);
  t.deepEqual(refusedByServer(), [], 'a token for another CA never reaches the server');
  await refuse([...kubeletArgs(fresh()), '--token', `K10${hash}::abcdef.0000000000000000`], /^tsk kubelet: joining the cluster at .*: unknown token$/);
  await refuse([...kubeletArgs(fresh()), '--token', 'not-a-token'], /^tsk kubelet: --token: the token has no "<id>\.<secret>" part/);
  t.is(refusedByServer().length, 1, 'the wrong token reached the server, the malformed one did not');
  t.regex(refusedByServer()[0] ?? '', /refused IssueCertificate from .*: unknown token$/);
  // A join token may not make a scheduler; the server token may.
  await refuse(
    ['scheduler', '--server', serverUrl, '--token', joinToken, '--data-dir', fresh(), '--http-address', '127.0.0.1:0'],
    /token [a-z0-9]{6} may only join nodes; system:kube-scheduler needs the server token/,
  );
  t.is(server.lines.filter((l) => /issued a client certificate/.test(l)).length, issuedBefore, 'nothing was issued for the refused joins');
  const schedDir = fresh();
  const scheduler = startTsk(ns, ['scheduler', '--server', serverUrl, '--token', serverToken, '--data-dir', schedDir, '--http-address', '127.0.0.1:0']);
  cleanups.push(() => killProcess(scheduler.child));
  await scheduler.waitFor(/joined the cluster at .* as system:kube-scheduler/);
  await killProcess(scheduler.child);

  // The name is bound to the node's key: another machine with the same token and name is refused...
  const takeover = new RegExp(
    `^tsk kubelet: joining the cluster at .*: node "${nodeName}" already joined with another key; if this is a new machine for that name, delete the Node first: tsctl delete node ${nodeName}$`,
  );
  await refuse([...kubeletArgs(fresh()), '--token', joinToken], takeover);
  t.regex(refusedByServer().at(-1) ?? '', /already joined with another key/);
  // ...while the node itself, joining again with the key it kept (its certificate gone), is not.
  fs.rmSync(path.join(agentDir, CREDENTIAL_FILES.cert));
  const rejoined = startTsk(ns, [...kubeletArgs(nodeDir), '--token', joinToken]);
  cleanups.push(() => killProcess(rejoined.child));
  await rejoined.waitFor(new RegExp(`joined the cluster at .* as system:node:${nodeName}`));
  await rejoined.waitFor(new RegExp(`node ${nodeName} already registered`));
  await killProcess(rejoined.child);
  // Once an admin deleted the Node, a new machine (a new key) may take the name; the old key then may not.
  const tsctl = (args: string[]) =>
    runScript(ns, TSCTL, ['--kubeconfig', path.join(serverDir, 'admin.conf'), ...args], { TSK_CONFIG: path.join(dir, 'no-config') });
  const deletedNode = await tsctl(['delete', 'node', nodeName]);
  t.is(deletedNode.code, 0, deletedNode.stderr);
  const newDir = path.join(dir, 'new-node');
  cleanups.push(async () => {
    if (fs.existsSync(newDir)) await cleanupRuntime(new NativeRuntime({ dataDir: newDir, images: new ImageStore(newDir) }), newDir);
  });
  const replacement = startTsk(ns, [...kubeletArgs(newDir), '--token', joinToken]);
  cleanups.push(() => killProcess(replacement.child));
  await replacement.waitFor(new RegExp(`joined the cluster at .* as system:node:${nodeName}`));
  await replacement.waitFor(new RegExp(`registered node ${nodeName}`));
  await killProcess(replacement.child);
  fs.rmSync(path.join(agentDir, CREDENTIAL_FILES.cert));
  await refuse([...kubeletArgs(nodeDir), '--token', joinToken], takeover);

  // A deleted token cannot join any more.
  const deleted = await runTsk(ns, ['token', 'delete', joinToken, ...admin]);
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, /bootstrap token "[a-z0-9]{6}" deleted/);
  await refuse([...kubeletArgs(fresh()), '--token', joinToken], /: unknown token$/);
  t.regex(
    errorLines((await runTsk(ns, ['token', 'delete', joinToken, ...admin])).stderr)[0] ?? '',
    /^tsk token delete: bootstrap token "[a-z0-9]{6}" not found$/,
  );

  // A restarted server keeps its token (file and etcd) without printing the secret again.
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  const restarted = startTsk(ns, [
    'apiserver',
    '--data-dir',
    serverDir,
    '--address',
    '10.77.0.1:6443',
    '--http-address',
    '127.0.0.1:6080',
    '--tls-san',
    '10.77.0.1',
    '--write-config=false',
  ]);
  cleanups.push(() => killProcess(restarted.child));
  await restarted.waitFor(/the node join token is in .*\/token$/, 120_000);
  await restarted.waitFor(/serving gRPC/);
  t.false(
    restarted.lines.some((l) => l.includes(serverToken.slice(-16))),
    'the secret is not printed again',
  );
  const after = await runTsk(ns, ['token', 'list', ...admin]);
  t.regex(after.stdout, /<forever>\s+<never>\s+authentication,control-plane/);
  // The scheduler that joined starts again without a token.
  const again = startTsk(ns, ['scheduler', '--server', serverUrl, '--data-dir', schedDir, '--http-address', '127.0.0.1:0']);
  cleanups.push(() => killProcess(again.child));
  await again.waitFor(/using API server/);
  t.false(
    again.lines.some((l) => /joined the cluster|warning/.test(l)),
    again.lines.join('\n'),
  );
});

test('a joined client renews its certificate with itself, and its connection re-reads the files', async (t) => {
  const etcd = await startTestEtcd(t);
  const tls = await testTls();
  const log: string[] = [];
  const api = await startApiServer({
    tls: tls.serving,
    bootstrap: { ca: tls.ca },
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    log: (l) => log.push(l),
  });
  t.teardown(() => api.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-renew-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A node certificate 30 days from its end: inside the renewal window.
  const writeShortLived = async (): Promise<string> => {
    const short = await issue(tls.ca, { commonName: 'system:node:n1', organizations: ['system:nodes'] }, { usage: 'client', validityDays: 30 });
    fs.writeFileSync(path.join(dir, CREDENTIAL_FILES.ca), tls.ca.certPem);
    fs.writeFileSync(path.join(dir, CREDENTIAL_FILES.key), short.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, CREDENTIAL_FILES.cert), short.certPem, { mode: 0o600 });
    return short.certPem;
  };
  const old = await writeShortLived();
  const clientLog: string[] = [];
  // 25 days on, the 30-day certificate is in its last third: due for renewal.
  const later = (): Date => new Date(Date.now() + 25 * 86_400_000);
  const opts = { server: api.grpcAddress, identity: 'node' as const, nodeName: 'n1', dir, now: later, log: (l: string) => clientLog.push(l) };
  const renewed = await loadOrJoin(opts);
  t.not(renewed.certPem, old, clientLog.join('\n'));
  t.deepEqual(certificateInfo(renewed.certPem).subject, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  t.true(certificateInfo(renewed.certPem).notAfter.getTime() > certificateInfo(old).notAfter.getTime() + 300 * 86_400_000);
  t.is(fs.readFileSync(path.join(dir, CREDENTIAL_FILES.cert), 'utf8'), renewed.certPem);
  t.true(
    log.some((l) => l === 'issued a client certificate for system:node:n1 (user system:node:n1)'),
    log.join('\n'),
  );

  // The component's connection uses the files: it works, and keeps working with renewed ones.
  const target = await resolveComponentClient({ ...opts, kubeconfig: undefined }, { TSK_CONFIG: path.join(dir, 'no-config') });
  t.truthy(target.credentials.files);
  const cs = new Clientset(target.server, target.credentials);
  t.teardown(() => cs.close());
  t.regex((await cs.version()).version ?? '', /^v/);
  await writeShortLived();
  const renewal = keepRenewed(opts, 100);
  t.teardown(() => renewal.stop());
  const deadline = Date.now() + 20_000;
  while (certificateInfo(fs.readFileSync(path.join(dir, CREDENTIAL_FILES.cert), 'utf8')).notAfter.getTime() < Date.now() + 300 * 86_400_000) {
    if (Date.now() > deadline) t.fail('keepRenewed did not renew the certificate');
    await new Promise((r) => setTimeout(r, 100));
  }
  t.regex((await cs.version()).version ?? '', /^v/);
});

/** curl in the namespace: "STATUS BODY" of an HTTPS page, verified against `ca`, with a client certificate when given. */
function curlInNs(ns: string, url: string, ca: string, client?: { cert: string; key: string }): string {
  const args = [`--net=/var/run/netns/${ns}`, 'curl', '-sS', '--max-time', '10', '--cacert', ca, '-w', ' %{http_code}', '-o', '-'];
  if (client) args.push('--cert', client.cert, '--key', client.key);
  const r = spawnSync('nsenter', [...args, url], { encoding: 'utf8' });
  if (r.status !== 0) return `curl failed: ${r.stderr}`;
  const i = r.stdout.lastIndexOf(' ');
  return `${r.stdout.slice(i + 1)} ${r.stdout.slice(0, i).trim()}`;
}

test("a kubelet and a proxy bound beyond loopback serve HTTPS with the node's serving certificate; /metrics needs a client certificate", async (t) => {
  const id = randomBytes(3).toString('hex');
  const ns = `tsk-https-${id}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-https-'));
  const cleanups: Array<() => Promise<void> | void> = [];
  t.teardown(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  run('ip', ['netns', 'add', ns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', ns]));
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // The server's address, and the node's (both beyond 127/8, inside the namespace only).
  run('ip', ['-n', ns, 'addr', 'add', '10.78.0.1/32', 'dev', 'lo']);
  run('ip', ['-n', ns, 'addr', 'add', '10.78.0.2/32', 'dev', 'lo']);
  const serverDir = path.join(dir, 'server');
  const server = startTsk(ns, [
    'apiserver',
    '--data-dir',
    serverDir,
    '--address',
    '10.78.0.1:6443',
    '--http-address',
    '127.0.0.1:6080',
    '--tls-san',
    '10.78.0.1',
    '--write-config=false',
  ]);
  cleanups.push(() => killProcess(server.child));
  const token = (await server.waitFor(/^Node join token: K10/, 120_000)).slice('Node join token: '.length);
  const ca = path.join(serverDir, 'tls', 'ca.crt');
  const admin = { cert: path.join(serverDir, 'tls', 'admin.crt'), key: path.join(serverDir, 'tls', 'admin.key') };

  const nodeName = `https-${id}`;
  const nodeDir = path.join(dir, 'node');
  cleanups.push(async () => {
    if (fs.existsSync(nodeDir)) await cleanupRuntime(new NativeRuntime({ dataDir: nodeDir, images: new ImageStore(nodeDir) }), nodeDir);
    const found = spawnSync('find', ['/sys/fs/cgroup', '-depth', '-type', 'd', '-name', `tsk-https-${id}`], { encoding: 'utf8' }).stdout;
    for (const d of found.split('\n').filter((l) => l !== '')) spawnSync('rmdir', [d]);
  });
  const kubelet = startTsk(ns, [
    'kubelet',
    '--server',
    'https://10.78.0.1:6443',
    '--token',
    token,
    '--hostname-override',
    nodeName,
    '--node-ip',
    '10.78.0.2',
    '--data-dir',
    nodeDir,
    '--network',
    'loopback',
    '--cgroup-root',
    `tsk-https-${id}`,
    '--http-address',
    '10.78.0.2:0',
  ]);
  cleanups.push(() => killProcess(kubelet.child));
  const served = await kubelet.waitFor(/serving \/healthz and \/metrics on /, 120_000);
  const url = /on (https:\/\/10\.78\.0\.2:\d+)$/.exec(served)?.[1];
  t.truthy(url, served);
  // The certificate: the node's identity, its name and IP, server auth, kept 0600 beside the client one.
  const agentDir = path.join(nodeDir, 'agent');
  const cert = certificateInfo(fs.readFileSync(path.join(agentDir, 'serving.crt'), 'utf8'));
  t.deepEqual(cert.subject, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] });
  t.deepEqual(cert.sans, { dns: [nodeName], ips: ['10.78.0.2'] });
  t.is(fs.statSync(path.join(agentDir, 'serving.key')).mode & 0o777, 0o600);
  t.is(curlInNs(ns, `${url ?? ''}/healthz`, ca), '200 ok', 'healthz is open, over TLS the cluster CA verifies');
  t.regex(curlInNs(ns, `${url ?? ''}/readyz`, ca), /^(200|503) /);
  t.is(curlInNs(ns, `${url ?? ''}/metrics`, ca), '401 Unauthorized: /metrics needs a client certificate of the cluster CA');
  t.regex(curlInNs(ns, `${url ?? ''}/metrics`, ca, admin), /^200 [\s\S]*kubelet_running_pods/);

  // The proxy on the same node reuses the node's credentials and serving certificate.
  const proxy = startTsk(ns, [
    'proxy',
    '--server',
    'https://10.78.0.1:6443',
    '--hostname-override',
    nodeName,
    '--data-dir',
    nodeDir,
    '--node-ip',
    '10.78.0.2',
    '--http-address',
    '10.78.0.2:0',
  ]);
  cleanups.push(() => killProcess(proxy.child));
  const proxyServed = await proxy.waitFor(/serving \/healthz and \/metrics on /, 60_000);
  const proxyUrl = /on (https:\/\/10\.78\.0\.2:\d+);/.exec(proxyServed)?.[1];
  t.truthy(proxyUrl, proxyServed);
  t.is(curlInNs(ns, `${proxyUrl ?? ''}/metrics`, ca), '401 Unauthorized: /metrics needs a client certificate of the cluster CA');
  t.regex(curlInNs(ns, `${proxyUrl ?? ''}/metrics`, ca, admin), /^200 /);
});
