import test from 'ava';
import type { Event } from '../api/gen/tsk/v1/core';
import { ConflictError, NotFoundError } from '../api/errors';
import { FakeClock } from './clock';
import { Registry } from 'prom-client';
import { ApiEventRecorder, EventRecorderMetrics, referenceTo, type EventWriter } from './events';

/** Records the writes; stores Events by name with a revision counter, as the server would. */
class Writer implements EventWriter {
  readonly stored = new Map<string, Event>();
  readonly calls: string[] = [];
  private rev = 1;
  failNext: Error | undefined;
  async create(e: Event): Promise<Event> {
    this.calls.push(`create ${e.metadata?.name} count=${e.count}`);
    return this.put(e);
  }
  async update(e: Event): Promise<Event> {
    this.calls.push(`update ${e.metadata?.name} count=${e.count}`);
    const cur = this.stored.get(e.metadata?.name ?? '');
    if (!cur) throw new NotFoundError('Event', e.metadata?.name ?? '');
    if (cur.metadata?.resourceVersion !== e.metadata?.resourceVersion) throw new ConflictError('stale');
    return this.put(e);
  }
  private put(e: Event): Event {
    const err = this.failNext;
    this.failNext = undefined;
    if (err) throw err;
    const s = { ...e, metadata: { ...e.metadata, namespace: e.metadata?.namespace ?? '', name: e.metadata?.name ?? '', resourceVersion: String(++this.rev) } };
    this.stored.set(s.metadata.name, s);
    return s;
  }
}

const pod = referenceTo('Pod', { metadata: { name: 'web-1', namespace: 'prod', uid: 'u1' } });
const node = referenceTo('Node', { metadata: { name: 'node-1', namespace: '', uid: 'n1' } });

test('an event is written with Kubernetes fields: name from the object, source, type, timestamps', async (t) => {
  const w = new Writer();
  const clock = new FakeClock(Date.parse('2026-01-02T03:04:05Z'));
  const r = new ApiEventRecorder(w, { component: 'default-scheduler' }, { clock });
  r.event(pod, 'Normal', 'Scheduled', 'Successfully assigned prod/web-1 to node-1');
  await r.flush();
  const [e] = [...w.stored.values()];
  t.regex(e?.metadata?.name ?? '', /^web-1\.[0-9a-f]+$/);
  t.is(e?.metadata?.namespace, 'prod');
  t.is(e?.involvedObject?.uid, 'u1');
  t.is(e?.source?.component, 'default-scheduler');
  t.is(e?.type, 'Normal');
  t.is(e?.count, 1);
  t.is(e?.firstTimestamp, '2026-01-02T03:04:05Z');
  t.is(e?.lastTimestamp, '2026-01-02T03:04:05Z');
});

test('a cluster-scoped object\'s events go to "default"', async (t) => {
  const w = new Writer();
  const r = new ApiEventRecorder(w, { component: 'node-controller' }, { clock: new FakeClock(0) });
  r.event(node, 'Normal', 'RegisteredNode', 'Node node-1 event: Registered Node node-1');
  await r.flush();
  t.is([...w.stored.values()][0]?.metadata?.namespace, 'default');
});

test('repeats within the window update one Event (count, lastTimestamp); after it, a new Event', async (t) => {
  const w = new Writer();
  const clock = new FakeClock(1_000_000);
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock, aggregateWindowMs: 60_000 });
  r.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available');
  r.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available');
  await r.flush();
  await clock.advance(30_000);
  r.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available');
  await r.flush();
  t.is(w.stored.size, 1);
  const e = [...w.stored.values()][0];
  t.is(e?.count, 3);
  t.not(e?.firstTimestamp, e?.lastTimestamp);
  await clock.advance(61_000);
  r.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available');
  await r.flush();
  t.is(w.stored.size, 2, 'a new Event after the window');
  r.event(pod, 'Warning', 'FailedScheduling', 'another message');
  await r.flush();
  t.is(w.stored.size, 3, 'another message is another Event');
});

test('an aggregated Event that vanished (TTL) or was changed is written anew', async (t) => {
  const w = new Writer();
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock: new FakeClock(0) });
  r.event(pod, 'Normal', 'Pulled', 'x');
  await r.flush();
  w.stored.clear();
  r.event(pod, 'Normal', 'Pulled', 'x');
  await r.flush();
  t.is(w.stored.size, 1);
  t.deepEqual(
    w.calls.map((c) => c.split(' ')[0]),
    ['create', 'update', 'create'],
  );
  t.is([...w.stored.values()][0]?.count, 2);
});

test('one object cannot flood: a burst, then one event per refill interval', async (t) => {
  const w = new Writer();
  const clock = new FakeClock(0);
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock, burst: 3, refillMs: 1000 });
  for (let i = 0; i < 10; i++) r.event(pod, 'Normal', 'R', `m${i}`);
  await r.flush();
  t.is(w.stored.size, 3);
  r.event(node, 'Normal', 'R', 'other object');
  await r.flush();
  t.is(w.stored.size, 4, 'other objects have their own bucket');
  await clock.advance(1000);
  r.event(pod, 'Normal', 'R', 'after refill');
  r.event(pod, 'Normal', 'R', 'still limited');
  await r.flush();
  t.is(w.stored.size, 5);
});

test('a failed write is reported and dropped; the recorder goes on', async (t) => {
  const w = new Writer();
  const errors: string[] = [];
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock: new FakeClock(0), onError: (e) => errors.push(String(e)) });
  w.failNext = new Error('unavailable');
  r.event(pod, 'Normal', 'A', 'a');
  r.event(pod, 'Normal', 'B', 'b');
  await r.flush();
  t.deepEqual(errors, ['Error: unavailable']);
  t.deepEqual(
    [...w.stored.values()].map((e) => e.reason),
    ['B'],
  );
});

test('after stop() events are ignored', async (t) => {
  const w = new Writer();
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock: new FakeClock(0) });
  await r.stop();
  r.event(pod, 'Normal', 'A', 'a');
  await r.flush();
  t.is(w.stored.size, 0);
});

/** A writer whose calls wait until released, to see what is in flight. */
class GatedWriter implements EventWriter {
  readonly calls: string[] = [];
  private waiting: (() => void)[] = [];
  private rev = 1;
  inFlight = 0;
  maxInFlight = 0;
  async create(e: Event): Promise<Event> {
    return this.call(`create ${e.involvedObject?.name} count=${e.count}`, e);
  }
  async update(e: Event): Promise<Event> {
    return this.call(`update ${e.involvedObject?.name} count=${e.count}`, e);
  }
  /** Lets every waiting call finish, and waits until they did. */
  async release(): Promise<void> {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
  private async call(what: string, e: Event): Promise<Event> {
    this.calls.push(what);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight--;
    return { ...e, metadata: { ...e.metadata, resourceVersion: String(++this.rev) } };
  }
}

const podNamed = (name: string): ReturnType<typeof referenceTo> => referenceTo('Pod', { metadata: { name, namespace: 'prod', uid: name } });

test('writes go out a few at a time, in the order recorded', async (t) => {
  const w = new GatedWriter();
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock: new FakeClock(0), concurrency: 3 });
  for (let i = 0; i < 7; i++) r.event(podNamed(`p${i}`), 'Normal', 'Scheduled', 'x');
  t.is(w.inFlight, 3);
  t.is(r.queued(), 4);
  const flushed = r.flush();
  while (w.calls.length < 7 || w.inFlight > 0) await w.release();
  await flushed;
  t.is(w.maxInFlight, 3);
  t.deepEqual(
    w.calls,
    ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((p) => `create ${p} count=1`),
  );
});

test('repeats recorded while their Event is being written join one update', async (t) => {
  const w = new GatedWriter();
  const r = new ApiEventRecorder(w, { component: 'c' }, { clock: new FakeClock(0), concurrency: 4 });
  for (let i = 0; i < 6; i++) r.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
  t.deepEqual(w.calls, ['create web-1 count=1'], 'the update waits for the create it needs');
  t.is(r.queued(), 1);
  const flushed = r.flush();
  while (w.inFlight > 0 || r.queued() > 0) await w.release();
  await flushed;
  t.deepEqual(w.calls, ['create web-1 count=1', 'update web-1 count=6']);
});

test('drops are counted by reason: a full queue, a failed write, the spam filter', async (t) => {
  const registry = new Registry();
  const metrics = new EventRecorderMetrics(registry);
  const w = new Writer();
  const errors: unknown[] = [];
  const r = new ApiEventRecorder(
    w,
    { component: 'kubelet' },
    { clock: new FakeClock(0), concurrency: 1, maxQueue: 2, burst: 1, metrics, onError: (e) => errors.push(e) },
  );
  w.failNext = new Error('unavailable');
  r.event(podNamed('a'), 'Normal', 'Pulled', 'x'); // in flight, fails
  r.event(podNamed('b'), 'Normal', 'Pulled', 'x'); // queued
  r.event(podNamed('c'), 'Normal', 'Pulled', 'x'); // queued
  r.event(podNamed('d'), 'Normal', 'Pulled', 'x'); // queue full
  r.event(podNamed('b'), 'Normal', 'Pulled', 'again'); // spam filter: b's burst is spent
  await r.flush();
  const text = await registry.metrics();
  t.regex(text, /event_recorder_dropped_events_total\{component="kubelet",reason="queue_full"\} 1/);
  t.regex(text, /event_recorder_dropped_events_total\{component="kubelet",reason="write_failed"\} 1/);
  t.regex(text, /event_recorder_dropped_events_total\{component="kubelet",reason="rate_limited"\} 1/);
  t.is(errors.length, 2, 'onError hears of the queue-full and the failed write');
  t.deepEqual([...w.stored.values()].map((e) => e.involvedObject?.name).sort(), ['b', 'c']);
});

test('two recorders may count into one registry', (t) => {
  const registry = new Registry();
  new EventRecorderMetrics(registry).drop('default-scheduler', 'queue_full');
  t.notThrows(() => new EventRecorderMetrics(registry).drop('replication-controller', 'queue_full'));
});
