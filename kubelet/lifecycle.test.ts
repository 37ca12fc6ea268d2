import test from 'ava';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Container, Pod } from '../api/gen/tsk/v1/core';
import { FakeClock, realClock } from '../client';
import { hookURL, runHook, runPreStop, stopWindowAfterPreStop, type HookDeps } from './lifecycle';
import type { ExecOptions, ExecResult } from './runtime/runtime';

const pod: Pod = { metadata: { name: 'web', namespace: 'prod', uid: 'u1' } };
const container: Container = { name: 'app', ports: [{ name: 'http', containerPort: 8080 }] };
const target = { pod, container, containerId: 'c1', podIP: '10.244.0.7' };

function deps(result: ExecResult | Error, clock = new FakeClock(0)): HookDeps & { cmds: string[][] } {
  const cmds: string[][] = [];
  return {
    cmds,
    clock,
    runtime: {
      exec: async (_id: string, o: ExecOptions) => {
        cmds.push(o.cmd);
        if (result instanceof Error) throw result;
        return result;
      },
    },
  };
}

test("exec: runs in the container; a non-zero exit is Kubernetes' message with the output", async (t) => {
  const ok = deps({ exitCode: 0, stdout: '', stderr: '' });
  t.is(await runHook(ok, { exec: { command: ['sh', '-c', 'date'] } }, target), undefined);
  t.deepEqual(ok.cmds, [['sh', '-c', 'date']]);
  const bad = deps({ exitCode: 2, stdout: 'o', stderr: 'e' });
  t.is(
    await runHook(bad, { exec: { command: ['sh', '-c', 'exit 2'] } }, target),
    'Exec lifecycle hook ([sh -c exit 2]) for Container "app" in Pod "web_prod(u1)" failed - error: command \'sh -c exit 2\' exited with 2: e, message: "oe"',
  );
  const gone = deps(new Error('container c1 is not running'));
  t.regex((await runHook(gone, { exec: { command: ['x'] } }, target)) ?? '', /failed - error: container c1 is not running, message: ""$/);
});

test('httpGet: the URL from host (default the pod IP), a named or numeric port, scheme and path', (t) => {
  t.is(hookURL({ path: '/quit', port: { type: 1, strVal: 'http' } }, container, '10.0.0.1'), 'http://10.0.0.1:8080/quit');
  t.is(hookURL({ path: 'x', host: 'example', port: { type: 0, intVal: 81 }, scheme: 'HTTPS' }, container, '10.0.0.1'), 'https://example:81/x');
  t.throws(() => hookURL({ path: '/', port: { type: 1, strVal: 'nope' } }, container, '10.0.0.1'), { message: /couldn't find port: nope/ });
});

test('httpGet: any response is success (Kubernetes ignores the status), a refused connection is a failure', async (t) => {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.url ?? ''} ${req.headers['x-why'] ?? ''} ${req.headers['user-agent'] ?? ''}`);
    res.statusCode = 500;
    res.end('no');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const d = deps({ exitCode: 0, stdout: '', stderr: '' }, realClock as FakeClock);
  const h = { httpGet: { path: '/bye', port: { type: 0, intVal: port }, httpHeaders: [{ name: 'X-Why', value: 'stop' }] } };
  t.is(await runHook(d, h, { ...target, podIP: '127.0.0.1' }), undefined);
  t.deepEqual(hits, ['/bye stop kube-lifecycle/tsk']);
  server.close();
  await new Promise((r) => setTimeout(r, 50));
  t.regex(
    (await runHook(d, h, { ...target, podIP: '127.0.0.1' })) ?? '',
    /^HTTP lifecycle hook \(\/bye\) for Container "app" in Pod "web_prod\(u1\)" failed - error: Get "http:\/\/127.0.0.1:\d+\/bye": connect ECONNREFUSED/,
  );
});

test('sleep: waits its seconds; aborted, it fails as Kubernetes\' "terminated before sleep hook finished"', async (t) => {
  const clock = new FakeClock(0);
  const d = deps({ exitCode: 0, stdout: '', stderr: '' }, clock);
  let result: string | undefined | null = null as string | undefined | null;
  void runHook(d, { sleep: { seconds: 2 } }, target).then((r) => {
    result = r;
  });
  await clock.advance(1999);
  t.is(result, null);
  await clock.advance(1);
  t.is(result, undefined);
  const ac = new AbortController();
  const cut = runHook(d, { sleep: { seconds: 5 } }, target, ac.signal);
  ac.abort();
  t.is(await cut, 'Sleep lifecycle hook (5) for Container "app" in Pod "web_prod(u1)" failed - error: container terminated before sleep hook finished');
});

test('tcpSocket is not a lifecycle handler: it fails at run time, as in Kubernetes', async (t) => {
  const d = deps({ exitCode: 0, stdout: '', stderr: '' });
  t.regex((await runHook(d, { tcpSocket: { port: { type: 0, intVal: 80 } } }, target)) ?? '', /^Cannot run handler: invalid handler/);
});

test('preStop: the grace left is the period minus the hook time, at least 2 s; the hook is bounded by the period', async (t) => {
  t.is(stopWindowAfterPreStop(30, 4500), 25.5);
  t.is(stopWindowAfterPreStop(5, 4500), 2);
  const clock = new FakeClock(0);
  const d = deps({ exitCode: 0, stdout: '', stderr: '' }, clock);
  const failures: string[] = [];
  const left = runPreStop(d, { sleep: { seconds: 60 } }, target, 10, (m) => failures.push(m));
  await clock.advance(10_000);
  t.is(await left, 2);
  t.deepEqual(failures, [], 'cut short by the grace period: no failure event');
  const bad = deps({ exitCode: 1, stdout: '', stderr: '' }, clock);
  t.is(await runPreStop(bad, { exec: { command: ['false'] } }, target, 10, (m) => failures.push(m)), 10);
  t.is(failures.length, 1);
});
