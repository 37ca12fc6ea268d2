// Debian's kubectl (1.32) against tsk's REST API for the streaming
// subresources, with a real node (a `tsk kubelet` in a network namespace of
// its own, integration/support/node-env.ts): `kubectl exec` (output, stdin
// round trip, exit code, -it through a pty), `kubectl attach` (output; -i to
// a stdin/stdinOnce container; -it to a tty one), `kubectl run -i --rm`, and `kubectl
// port-forward` (SPDY tunnelled through a WebSocket) answered by a web
// server inside the pod; the bad cases answered as Kubernetes answers them.
// The pod's side is inside the test's namespace; kubectl's local port is on
// loopback in the host namespace.

import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { join } from 'node:path';
import { kubeconfigServer, writeKubeconfig } from '../client/kubeconfig';
import { testTls } from './support/pki';
import { killProcess } from './support/netns';
import { newNodeEnv, startNodeEnv, startNodeKubelet, type NodeEnv } from './support/node-env';
import { TSCTL_BIN, runProcess, type Run } from './support/run';
import { eventually } from './support/wait';

type Env = NodeEnv & { kubectlConfig: string };
const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv('ks') as Env;
  await startNodeEnv(t.context, { rest: true });
  const admin = (await testTls()).admin as { caPem: string; certPem: string; keyPem: string };
  t.context.kubectlConfig = join(t.context.dir, 'kubectl.kubeconfig');
  await writeKubeconfig(t.context.kubectlConfig, { name: 'test', server: kubeconfigServer(t.context.api.restAddress!), ...admin });
  const env = t.context;
  // One pod: a web server on port 80 (for port-forward) that also logs a tick a second (for attach).
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'main',
          image: env.image,
          command: [
            'sh',
            '-c',
            'mkdir -p /www && echo hello-from-pod > /www/index.html && httpd -p 80 -h /www && i=0; while true; do i=$((i+1)); echo tick $i; echo err $i >&2; sleep 1; done',
          ],
        },
      ],
    },
  };
  const created = await kubectl(env, ['create', '--validate=false', '-f', '-'], JSON.stringify(pod));
  if (created.code !== 0) throw new Error(`create: ${created.stderr}`);
  const waited = await kubectl(env, ['wait', '--for=condition=Ready', 'pod/web', '--timeout=90s']);
  if (waited.code !== 0) throw new Error(`wait: ${waited.stderr}`);
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

function kubectlArgs(env: Env, args: readonly string[]): string[] {
  return ['--kubeconfig', env.kubectlConfig, '--cache-dir', join(env.dir, 'kube-cache'), ...args];
}

function kubectl(env: Env, args: readonly string[], stdin?: string): Promise<Run> {
  return runProcess('kubectl', kubectlArgs(env, args), {
    env: { HOME: env.dir, KUBECONFIG: '' },
    timeoutMs: 120_000,
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

test.serial('exec: output, stderr, stdin round trip and the exit code', async (t) => {
  const env = t.context;
  const hi = await kubectl(env, ['exec', 'web', '--', 'echo', 'hi']);
  t.is(hi.code, 0, hi.stderr);
  t.is(hi.stdout, 'hi\n');
  const both = await kubectl(env, ['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2']);
  t.is(both.stdout, 'out\n');
  t.is(both.stderr, 'err\n');
  // stdin piped: v5.channel.k8s.io's close message ends cat's input.
  const big = `${'0123456789abcdef'.repeat(64 * 1024)}\nend\n`;
  const cat = await kubectl(env, ['exec', '-i', 'web', '--', 'cat'], big);
  t.is(cat.code, 0, cat.stderr);
  t.is(cat.stdout.length, big.length);
  t.true(cat.stdout === big);
  const exit3 = await kubectl(env, ['exec', 'web', '--', 'sh', '-c', 'exit 3']);
  t.is(exit3.code, 3);
  t.is(exit3.stderr, 'command terminated with exit code 3\n');
});

test.serial("exec -it runs the command on a terminal of the size of kubectl's", async (t) => {
  const env = t.context;
  // script(1) gives kubectl a pty of its own, as a user's terminal, sized 123x45
  // first; kubectl sends that size on the resize channel (the command waits a
  // moment for it: in Kubernetes too the size comes after the start).
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  const kubectlCmd = ['kubectl', ...kubectlArgs(env, ['exec', '-it', 'web', '--', 'sh', '-c', 'test -t 0 && echo on-a-tty; tty; sleep 1; stty size'])]
    .map(quote)
    .join(' ');
  // script's stdin stays open while kubectl runs: at its end script would type an EOF to kubectl's terminal.
  const r = await new Promise<Run>((resolve, reject) => {
    const child = spawn('script', ['-qec', `stty cols 123 rows 45; ${kubectlCmd}`, '/dev/null'], {
      env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /on-a-tty\r?\n\/dev\/pts\/\d+\r?\n45 123\r?\n/);
});

test.serial('exec errors as Kubernetes reports them', async (t) => {
  const env = t.context;
  const missing = await kubectl(env, ['exec', 'nope', '--', 'true']);
  t.is(missing.code, 1);
  t.is(missing.stderr.trim(), 'Error from server (NotFound): pods "nope" not found');
  const container = await kubectl(env, ['exec', 'web', '-c', 'other', '--', 'true']);
  t.is(container.code, 1);
  t.regex(container.stderr, /container other is not valid for pod web/);
  // A pod with a node but no container running yet: the kubelet refuses the upgrade.
  const pending = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'never' },
    spec: { nodeName: env.nodeName, containers: [{ name: 'main', image: `${env.image}-missing` }] },
  };
  t.is((await kubectl(env, ['create', '--validate=false', '-f', '-'], JSON.stringify(pending))).code, 0);
  const notRunning = await kubectl(env, ['exec', 'never', '--', 'true']);
  t.is(notRunning.code, 1);
  // As Kubernetes ≥1.30, whose API server upgrades the WebSocket before the kubelet refuses.
  t.is(notRunning.stderr.trim(), 'error: Internal error occurred: unable to upgrade connection: container not found ("main")');
  await kubectl(env, ['delete', 'pod', 'never', '--wait=false']);
});

test.serial('exec, attach and port-forward need create on the subresource', async (t) => {
  const env = t.context;
  const config = join(env.dir, 'nobody.kubeconfig');
  const nobody = await (await testTls()).credentialsFor('nobody');
  await writeKubeconfig(config, {
    name: 'nobody',
    server: kubeconfigServer(env.api.restAddress!),
    caPem: nobody.caPem!,
    certPem: nobody.certPem!,
    keyPem: nobody.keyPem!,
  });
  // kubectl reads the pod first: a user who may not is refused there; the stream itself is checked with the gate directly.
  const denied = await runProcess('kubectl', ['--kubeconfig', config, '--cache-dir', join(env.dir, 'nobody-cache'), 'exec', 'web', '--', 'true'], {
    env: { HOME: env.dir, KUBECONFIG: '' },
    timeoutMs: 60_000,
  });
  t.is(denied.code, 1);
  t.is(
    denied.stderr.trim(),
    'Error from server (Forbidden): pods "web" is forbidden: User "nobody" cannot get resource "pods" in API group "" in the namespace "default"',
  );
  for (const [sub, protocol] of [
    ['exec?command=true&stdout=true', 'v5.channel.k8s.io'],
    ['attach?stdout=true', 'v5.channel.k8s.io'],
    ['portforward?ports=80', 'v4.channel.k8s.io'],
  ] as const) {
    const ws = new WebSocket(`wss://${env.api.restAddress!}/api/v1/namespaces/default/pods/web/${sub}`, protocol, {
      ca: nobody.caPem,
      cert: nobody.certPem,
      key: nobody.keyPem,
    });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.once('unexpected-response', (_req, r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      ws.once('open', () => reject(new Error(`${sub}: upgraded`)));
      ws.once('error', () => undefined);
    });
    const resource = sub.split('?')[0];
    t.is(res.status, 403, sub);
    t.like(JSON.parse(res.body), {
      reason: 'Forbidden',
      message: `pods "web" is forbidden: User "nobody" cannot create resource "pods/${resource}" in API group "" in the namespace "default"`,
    });
  }
});

test.serial('attach streams the main process output; stdin to a container without stdin is refused with a reason', async (t) => {
  const env = t.context;
  const attach = spawn('kubectl', kubectlArgs(env, ['attach', 'web']), {
    env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => attach.kill('SIGKILL'));
  let out = '';
  let err = '';
  attach.stdout.on('data', (d: Buffer) => (out += d.toString()));
  attach.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await eventually(() => /tick \d+\n[\s\S]*tick \d+\n/.test(out) && /err \d+/.test(err), 20_000, 'two ticks on stdout, errors on stderr');
  // Only new output: the first ticks (before attach) are not repeated.
  t.false(/^tick 1\n/.test(out), out);
  attach.kill('SIGTERM');
  const stdin = await kubectl(env, ['attach', '-i', 'web'], '');
  t.not(stdin.code, 0);
  t.regex(stdin.stderr, /container main in pod web does not have stdin enabled/);
});

/** Creates a pod on the test's node from a container spec and waits until it runs. */
async function runPod(env: Env, name: string, container: Record<string, unknown>): Promise<void> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { nodeName: env.nodeName, restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: env.image, ...container }] },
  };
  const created = await kubectl(env, ['create', '--validate=false', '-f', '-'], JSON.stringify(pod));
  if (created.code !== 0) throw new Error(`create ${name}: ${created.stderr}`);
  const waited = await kubectl(env, ['wait', '--for=condition=Ready', `pod/${name}`, '--timeout=90s']);
  if (waited.code !== 0) throw new Error(`wait ${name}: ${waited.stderr}`);
}

/** Runs kubectl on a terminal of its own (script(1)) sized 123x45; `input` is typed once `ready` shows in its output. */
function kubectlOnTerminal(env: Env, args: readonly string[], ready: RegExp, input: string): Promise<Run> {
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  const cmd = ['kubectl', ...kubectlArgs(env, args)].map(quote).join(' ');
  return new Promise<Run>((resolve, reject) => {
    const child = spawn('script', ['-qec', `stty cols 123 rows 45; ${cmd}`, '/dev/null'], {
      env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!typed && ready.test(stdout)) {
        typed = true;
        child.stdin.write(input);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

test.serial('attach -i feeds a stdin: true, stdinOnce: true container; the end of kubectl stdin is its EOF', async (t) => {
  const env = t.context;
  await runPod(env, 'reader', { command: ['sh', '-c', 'while read l; do echo "got $l"; echo "err $l" >&2; done; echo bye'], stdin: true, stdinOnce: true });
  const attach = await kubectl(env, ['attach', '-i', 'reader'], 'one\ntwo\n');
  t.is(attach.code, 0, attach.stderr);
  t.is(attach.stdout, 'got one\ngot two\nbye\n');
  t.regex(attach.stderr, /err one\nerr two\n/);
  await eventually(
    async () => /Succeeded/.test((await kubectl(env, ['get', 'pod', 'reader', '-o', 'jsonpath={.status.phase}'])).stdout),
    30_000,
    'reader succeeded',
  );
  const logs = await kubectl(env, ['logs', 'reader']);
  t.regex(logs.stdout, /got one\n[\s\S]*got two\n[\s\S]*bye\n/);
  // stdinOnce was used: nothing is fed to a later attach (the container has exited: kubectl says so).
  const again = await kubectl(env, ['attach', '-i', 'reader'], 'three\n');
  t.not(again.code, 0);
  await kubectl(env, ['delete', 'pod', 'reader', '--wait=false']);
});

test.serial('run -i --rm --restart=Never: stdin in, output back, the pod deleted', async (t) => {
  const env = t.context;
  const r = await kubectl(
    env,
    [
      'run',
      'oneshot',
      '-i',
      '--rm',
      '--restart=Never',
      `--image=${env.image}`,
      `--overrides={"spec":{"nodeName":"${env.nodeName}"}}`,
      '--',
      'sh',
      '-c',
      'read l; echo "hello $l"',
    ],
    'world\n',
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^hello world\n/);
  t.regex(r.stdout, /pod "oneshot" deleted/);
  const gone = await kubectl(env, ['get', 'pod', 'oneshot']);
  t.regex(gone.stderr, /NotFound|not found/);
});

test.serial('attach -it: a tty: true container on a terminal of the size of kubectl\'s; its log lines end without "\\r"', async (t) => {
  const env = t.context;
  await runPod(env, 'term', { command: ['sh'], stdin: true, tty: true });
  const r = await kubectlOnTerminal(env, ['attach', '-it', 'term'], /try pressing enter/, 'tty; stty size; exit 5\r');
  t.regex(r.stdout, /\/dev\/pts\/0\r?\n45 123\r?\n/, r.stdout + r.stderr);
  t.is(r.code, 5, r.stdout + r.stderr);
  const logs = await kubectl(env, ['logs', 'term']);
  // Lines end "\r\n" on the terminal and "\n" in the log (a line editor's "\r" inside a line stays, as with containerd).
  t.regex(logs.stdout, /^45 123$/m, JSON.stringify(logs.stdout));
  t.notRegex(logs.stdout, /\r\n/);
  await kubectl(env, ['delete', 'pod', 'term', '--wait=false']);
});

/** A free loopback port of the host namespace, for kubectl to listen on. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function fetchText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
  });
}

test.serial('port-forward: HTTP to a local port answered by the pod', async (t) => {
  const env = t.context;
  const local = await freePort();
  const pf = spawn('kubectl', kubectlArgs(env, ['port-forward', 'pod/web', `${local}:80`]), {
    env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => pf.kill('SIGKILL'));
  let out = '';
  let err = '';
  pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
  pf.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await eventually(() => out.includes(`Forwarding from 127.0.0.1:${local} -> 80`), 30_000, 'kubectl listening').catch((e: Error) => {
    throw new Error(`${e.message}: ${out} ${err}`);
  });
  // Several connections in a row, each a pair of SPDY streams.
  for (let i = 0; i < 3; i++) {
    const res = await fetchText(local, '/index.html').catch((e: Error) => {
      throw new Error(`${e.message}: kubectl port-forward said: ${out} ${err}`);
    });
    t.is(res.status, 200);
    t.is(res.body, 'hello-from-pod\n');
  }
  t.regex(out, /Handling connection for \d+/);
  // A port nothing listens on: kubectl reports the pod's refusal and goes on serving.
  const closedPort = await freePort();
  const pf2 = spawn('kubectl', kubectlArgs(env, ['port-forward', 'pod/web', `${closedPort}:81`]), {
    env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => pf2.kill('SIGKILL'));
  let err2 = '';
  let out2 = '';
  pf2.stderr.on('data', (d: Buffer) => (err2 += d.toString()));
  pf2.stdout.on('data', (d: Buffer) => (out2 += d.toString()));
  await eventually(() => out2.includes('Forwarding from'), 30_000, 'second kubectl listening');
  await fetchText(closedPort, '/').catch(() => undefined);
  await eventually(() => /an error occurred forwarding \d+ -> 81: .*connection refused/i.test(err2), 20_000, 'the refusal reported').catch((e: Error) => {
    throw new Error(`${e.message}: ${err2}`);
  });
  pf.kill('SIGTERM');
  pf2.kill('SIGTERM');
  const missing = await kubectl(env, ['port-forward', 'pod/nope', '8080:80']);
  t.is(missing.stderr.trim(), 'Error from server (NotFound): pods "nope" not found');
});

/** A WebSocket to a pod subresource with the admin's client certificate, as a client library opens one. */
async function podSocket(env: Env, path: string, protocol: string): Promise<WebSocket> {
  const admin = (await testTls()).admin as { caPem: string; certPem: string; keyPem: string };
  return new WebSocket(`wss://${env.api.restAddress!}/api/v1/namespaces/default/pods/${path}`, protocol, {
    ca: admin.caPem,
    cert: admin.certPem,
    key: admin.keyPem,
  });
}

test.serial("port-forward over the channel protocol (client libraries): port prefixes, then the pod's bytes", async (t) => {
  const ws = await podSocket(t.context, 'web/portforward?ports=80', 'v4.channel.k8s.io');
  const messages: Buffer[] = [];
  ws.on('message', (d: Buffer) => messages.push(Buffer.from(d)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  t.is(ws.protocol, 'v4.channel.k8s.io');
  await eventually(() => messages.length >= 2, 10_000, 'the port prefixes');
  // Data channel 0 and error channel 1, each opened by port 80 as 2 bytes little-endian.
  t.deepEqual(
    messages.slice(0, 2).map((m) => [...m]),
    [
      [0, 80, 0],
      [1, 80, 0],
    ],
  );
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /index.html HTTP/1.0\r\n\r\n')]));
  const body = (): string =>
    Buffer.concat(
      messages
        .slice(2)
        .filter((m) => m[0] === 0)
        .map((m) => m.subarray(1)),
    ).toString();
  await eventually(() => body().includes('hello-from-pod'), 20_000, 'the answer on channel 0');
  t.regex(body(), /^HTTP\/1\.[01] 200 OK/);
  ws.close();
});

test.serial('an unknown subprotocol is refused with a Status', async (t) => {
  const ws = await podSocket(t.context, 'web/exec?command=true&stdout=true', 'base64.channel.k8s.io');
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    ws.once('unexpected-response', (_req, r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    ws.once('open', () => reject(new Error('upgraded')));
    ws.once('error', () => undefined);
  });
  t.is(res.status, 400);
  t.like(JSON.parse(res.body), {
    kind: 'Status',
    status: 'Failure',
    reason: 'BadRequest',
    code: 400,
    message: 'requested protocol(s) are not supported: [base64.channel.k8s.io]; supports [v5.channel.k8s.io v4.channel.k8s.io]',
  });
});

test.serial("tsctl port-forward: the same through the gRPC API, with kubectl's output", async (t) => {
  const env = t.context;
  const local = await freePort();
  const pf = spawn(
    process.execPath,
    [TSCTL_BIN, 'port-forward', '--server', env.api.grpcAddress, '--kubeconfig', env.kubeconfig, 'pod/web', `${local}:80`, ':81'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => pf.kill('SIGKILL'));
  let out = '';
  let err = '';
  pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
  pf.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await eventually(() => /Forwarding from 127\.0\.0\.1:\d+ -> 81/.test(out), 30_000, 'tsctl listening').catch((e: Error) => {
    throw new Error(`${e.message}: ${out} ${err}`);
  });
  t.true(out.startsWith(`Forwarding from 127.0.0.1:${local} -> 80\nForwarding from [::1]:${local} -> 80\n`), out);
  for (let i = 0; i < 2; i++) {
    const res = await fetchText(local, '/index.html');
    t.is(res.body, 'hello-from-pod\n');
  }
  t.true(out.includes(`Handling connection for ${local}\n`));
  // Nothing listens on 81 in the pod: the refusal is reported and tsctl goes on.
  const other = Number(/Forwarding from 127\.0\.0\.1:(\d+) -> 81/.exec(out)![1]);
  await fetchText(other, '/').catch(() => undefined);
  await eventually(() => /error: an error occurred forwarding \d+ -> 81: .*Connection refused/i.test(err), 20_000, 'the refusal').catch((e: Error) => {
    throw new Error(`${e.message}: ${err}`);
  });
  t.is((await fetchText(local, '/index.html')).status, 200);
  const exited = new Promise<number | null>((resolve) => pf.on('exit', (code) => resolve(code)));
  pf.kill('SIGINT');
  t.is(await exited, 0);
});

test.serial('a plain SPDY upgrade (kubectl before 1.30) is refused naming the WebSocket protocols', async (t) => {
  const admin = (await testTls()).admin as { caPem: string; certPem: string; keyPem: string };
  const [host, port] = t.context.api.restAddress!.split(':');
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest({
      host,
      port: Number(port),
      method: 'POST',
      path: '/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
      ca: admin.caPem,
      cert: admin.certPem,
      key: admin.keyPem,
    });
    req.on('response', (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
  t.is(res.status, 400);
  t.like(JSON.parse(res.body), {
    reason: 'BadRequest',
    message: 'tsk serves pods/exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io): use kubectl 1.30 or later',
  });
});

/** `kubectl attach -i NAME` with its stdin open (a pipe this test writes), until `until` shows in its output; then it is stopped. */
async function attachUntil(env: Env, name: string, input: string, until: RegExp): Promise<string> {
  const attach = spawn('kubectl', kubectlArgs(env, ['attach', '-i', name]), {
    env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  attach.stdout.on('data', (d: Buffer) => (out += d.toString()));
  attach.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise((r) => attach.on('close', r));
  try {
    attach.stdin.write(input);
    await eventually(() => until.test(out) || attach.exitCode !== null, 30_000, `attach output ${until}`);
    if (!until.test(out)) throw new Error(`kubectl attach ended: ${out} ${err}`);
    return out;
  } finally {
    attach.kill('SIGTERM');
    await exited;
  }
}

// Last: it restarts the kubelet.
test.serial("a container's stdin outlives its attaches and a kubelet killed and started again", async (t) => {
  const env = t.context;
  await runPod(env, 'keeper', { command: ['sh', '-c', 'while read l; do echo "got $l"; done; echo eof'], stdin: true });
  t.regex(await attachUntil(env, 'keeper', 'before\n', /got before\n/), /^got before\n/);
  await killProcess(env.kubelet.proc!);
  env.kubelet.proc = undefined;
  await startNodeKubelet(env);
  // Until the new kubelet's tunnel is up, attach fails: retried.
  let out = '';
  await eventually(
    async () => {
      out = await attachUntil(env, 'keeper', 'after\n', /got after\n/).catch(() => '');
      return out !== '';
    },
    60_000,
    'an attach through the restarted kubelet',
  );
  const logs = await kubectl(env, ['logs', 'keeper']);
  t.is(logs.stdout, 'got before\ngot after\n');
  const pod = await kubectl(env, ['get', 'pod', 'keeper', '-o', 'jsonpath={.status.phase} {.status.containerStatuses[0].restartCount}']);
  t.is(pod.stdout, 'Running 0');
  await kubectl(env, ['delete', 'pod', 'keeper', '--wait=false']);
});
