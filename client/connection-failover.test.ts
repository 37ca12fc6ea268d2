// A Connection to several servers against real grpc-js servers on loopback:
// a call that cannot reach the current server goes to the next, which stays
// current; with every server down the call fails at once (or, waitForReady,
// keeps going round until one comes back).

import test from 'ava';
import { Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { DiscoveryService } from '../api/gen/tsk/v1/api';
import { TooManyRequestsError, UnavailableError, toServiceError } from '../api/errors';
import { Connection } from './connection';

/** A Discovery server answering with its own name; resolves to its address and a stop function. */
async function discovery(name: string, port = 0): Promise<{ address: string; stop(): Promise<void> }> {
  const server = new Server();
  server.addService(DiscoveryService, { version: (_call: unknown, cb: (err: null, res: { version: string }) => void) => cb(null, { version: name }) });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { address: `127.0.0.1:${bound}`, stop: () => new Promise((r) => server.tryShutdown(() => r())) };
}

/** A loopback address nobody listens on (bound, then released): connection refused. */
async function deadAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

test('an unreachable server is skipped: the call is answered by the next, which stays current', async (t) => {
  const dead = await deadAddress();
  const live = await discovery('live');
  t.teardown(() => live.stop());
  const c = new Connection([dead, live.address], { insecurePlaintext: true, deadlineMs: 5_000 });
  t.teardown(() => c.close());
  t.is((await c.unary(DiscoveryService.version, {}, undefined, false)).version, 'live', 'never sent, so even a non-replayable call moves on');
  t.is(c.address, live.address);
  t.is((await c.unary(DiscoveryService.version, {})).version, 'live');
});

test('every server down: an UnavailableError at once, or with waitForReady the call waits for one to come back', async (t) => {
  const a = await deadAddress();
  const b = await deadAddress();
  const quick = new Connection([a, b], { insecurePlaintext: true, deadlineMs: 5_000 });
  t.teardown(() => quick.close());
  const started = Date.now();
  await t.throwsAsync(quick.unary(DiscoveryService.version, {}), { instanceOf: UnavailableError, message: /cannot reach the API server/ });
  t.true(Date.now() - started < 4_000, 'no waiting without waitForReady');

  const patient = new Connection([a, b], { insecurePlaintext: true, deadlineMs: 10_000, waitForReady: true });
  t.teardown(() => patient.close());
  const call = patient.unary(DiscoveryService.version, {});
  await new Promise((r) => setTimeout(r, 500));
  const back = await discovery('back', Number(b.split(':')[1]));
  t.teardown(() => back.stop());
  t.is((await call).version, 'back');
  t.is(patient.address, b);
});

test('one server: a failed call is the ApiError itself', async (t) => {
  const c = new Connection(await deadAddress(), { insecurePlaintext: true, deadlineMs: 5_000 });
  t.teardown(() => c.close());
  await t.throwsAsync(c.unary(DiscoveryService.version, {}), { instanceOf: UnavailableError, message: /connection refused/ });
});

test('a call refused with 429 TooManyRequests (API Priority and Fairness) is sent again after its Retry-After', async (t) => {
  const server = new Server();
  let calls = 0;
  server.addService(DiscoveryService, {
    version: (_call: unknown, cb: (err: Partial<ServiceError> | null, res?: { version: string }) => void) =>
      ++calls < 3 ? cb(toServiceError(new TooManyRequestsError('too many requests are waiting'))) : cb(null, { version: 'served' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.teardown(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  const c = new Connection(`127.0.0.1:${port}`, { insecurePlaintext: true, deadlineMs: 10_000 });
  t.teardown(() => c.close());
  const started = Date.now();
  t.is((await c.unary(DiscoveryService.version, {})).version, 'served');
  t.is(calls, 3);
  t.true(Date.now() - started >= 2_000, 'a second between tries');
  const short = new Connection(`127.0.0.1:${port}`, { insecurePlaintext: true, deadlineMs: 500 });
  t.teardown(() => short.close());
  calls = 0;
  await t.throwsAsync(short.unary(DiscoveryService.version, {}), { instanceOf: TooManyRequestsError }, 'no time left for a retry: the 429 itself');
});
