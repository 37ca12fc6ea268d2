import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedEtcd } from './embedded';

async function healthy(url: string): Promise<boolean> {
  return fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  );
}

async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a killed etcd is started again on the same URL, counted and described; died stays pending', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-embedded-restart-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  let restarts = 0;
  const etcd = await EmbeddedEtcd.start({ dataDir: dir, log: (l) => lines.push(l), onRestart: () => restarts++, backoff: { initialMs: 100, maxMs: 1000 } });
  t.teardown(() => etcd.stop());
  let died: string | undefined;
  void etcd.died.then((m) => (died = m));
  t.is(etcd.status(), undefined, 'never restarted: no /readyz line');
  const url = etcd.clientUrl;
  const first = etcd.pid ?? 0;

  process.kill(first, 'SIGKILL');
  await until('the restart', () => restarts === 1);
  t.is(etcd.clientUrl, url, 'the same URL');
  t.not(etcd.pid, first);
  t.true(await healthy(url));
  t.regex(lines.join('\n'), /the embedded etcd exited unexpectedly \(SIGKILL\); restarting it in 0\.1s/);
  t.regex(etcd.status() ?? '', /^embedded etcd: restarted 1 time\(s\), last at \S+ after it exited \(SIGKILL\)$/);
  t.is(died, undefined);
  await etcd.stop();
  t.false(await healthy(url), 'stop stops the restarted etcd');
});

test('an etcd that cannot be started again is given up after maxFailures: died says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-embedded-giveup-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const etcd = await EmbeddedEtcd.start({ dataDir: dir, log: (l) => lines.push(l), maxFailures: 2, backoff: { initialMs: 500, maxMs: 500 } });
  t.teardown(() => etcd.stop());
  const port = Number(new URL(etcd.clientUrl).port);
  // Killed, and its client port taken at once (within the 500 ms before the first restart): every restart on that port fails.
  process.kill(etcd.pid ?? 0, 'SIGKILL');
  let squatter: Server | undefined;
  await until('the port to be free again', async () => {
    squatter = await new Promise<Server | undefined>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
    return squatter !== undefined;
  });
  t.teardown(() => void squatter?.close());
  const message = await etcd.died;
  t.regex(message, /the embedded etcd exited and could not be restarted \(2 attempts; last: .*address already in use\); see .*etcd\.log/);
  t.regex(lines.join('\n'), /restarting the embedded etcd failed \(attempt 1 of 2\)/);
});
