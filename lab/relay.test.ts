import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEndpoint, startRelay } from './relay';

/** Sends text through the socket at path and resolves with what comes back before the peer closes. */
function roundTrip(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => s.end(text));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
}

test('the relay carries bytes both ways, replaces a stale socket file, and closes the client when the target is gone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-relay-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const target = join(dir, 'target.sock');
  const echo = createServer((c) => c.on('error', () => undefined).pipe(c));
  await new Promise<void>((r) => echo.listen(target, r));
  const listen = join(dir, 'link.sock');
  await writeFile(listen, 'stale');
  const relay = await startRelay(listen, target);
  t.teardown(() => void relay.close());

  t.is(await roundTrip(listen, 'hello over the link'), 'hello over the link');
  await new Promise((r) => echo.close(r));
  // Closed (or reset, with the bytes it sent unread), not left hanging.
  const outcome = await roundTrip(listen, 'nobody there').catch((err: NodeJS.ErrnoException) => err.code);
  t.true(outcome === '' || outcome === 'ECONNRESET', String(outcome));
});

test('relay endpoints: a unix socket path or tcp:HOST:PORT', (t) => {
  t.deepEqual(parseEndpoint('/run/lab/api.sock'), { path: '/run/lab/api.sock' });
  t.deepEqual(parseEndpoint('tcp:127.0.0.1:6444'), { host: '127.0.0.1', port: 6444 });
  t.throws(() => parseEndpoint('tcp:nowhere'), { message: 'relay: "tcp:nowhere" is not tcp:HOST:PORT' });
});

test('a TCP listener relays to a unix socket', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-relay-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const target = join(dir, 'target.sock');
  const echo = createServer((s) => s.on('data', (d: Buffer) => s.end(`echo ${d.toString()}`)));
  await new Promise<void>((resolve) => echo.listen(target, resolve));
  t.teardown(() => echo.close());
  const relay = await startRelay('tcp:127.0.0.1:0', target);
  t.teardown(() => relay.close());
  const port = (relay.address() as { port: number }).port;
  const got = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('hi'));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('close', () => resolve(text));
    s.on('error', reject);
  });
  t.is(got, 'echo hi');
});
