import test from 'ava';
import { FakeClock } from '../../client';
import { makePod } from '../testing';
import { SchedulingQueue } from './scheduling-queue';

function queue(clock = new FakeClock()): { q: SchedulingQueue; clock: FakeClock } {
  const q = new SchedulingQueue({ clock });
  return { q, clock };
}

async function popKey(q: SchedulingQueue): Promise<string | undefined> {
  return (await q.pop())?.key;
}

test('active: higher priority first, then older, then first queued', async (t) => {
  const { q } = queue();
  q.add(makePod('young', { created: '2026-01-01T00:00:05Z' }));
  q.add(makePod('old', { created: '2026-01-01T00:00:01Z' }));
  q.add(makePod('same-age-later', { created: '2026-01-01T00:00:05Z' }));
  q.add(makePod('important', { created: '2026-01-01T00:00:09Z', priority: 1000 }));
  const order = [];
  for (let i = 0; i < 4; i++) order.push(await popKey(q));
  t.deepEqual(order, ['default/important', 'default/old', 'default/young', 'default/same-age-later']);
  q.close();
});

test('pop waits for a pod and resolves undefined when closed', async (t) => {
  const { q } = queue();
  const waiting = q.pop();
  q.add(makePod('a'));
  t.is((await waiting)?.key, 'default/a');
  const closed = q.pop();
  q.close();
  t.is(await closed, undefined);
});

test('back-off: 1 s doubling per attempt up to 10 s', (t) => {
  const { q } = queue();
  t.deepEqual(
    [1, 2, 3, 4, 5, 6, 20].map((a) => q.backoffDuration(a)),
    [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
  );
  q.close();
});

test('a failed pod returns to active once its back-off has passed', async (t) => {
  const { q, clock } = queue();
  q.add(makePod('a'));
  const first = await q.pop();
  t.truthy(first);
  q.requeueBackoff(first!);
  t.is(q.where('default/a'), 'backoff');
  await clock.advance(999);
  t.is(q.where('default/a'), 'backoff');
  await clock.advance(1);
  t.is(q.where('default/a'), 'active');
  const second = await q.pop();
  t.is(second?.attempts, 2);
  q.requeueBackoff(second!);
  await clock.advance(1999);
  t.is(q.where('default/a'), 'backoff');
  await clock.advance(1);
  t.is(q.where('default/a'), 'active');
  q.close();
});

test('unschedulable pods move on a cluster change: to active when their back-off is over, else to backoff', async (t) => {
  const { q, clock } = queue();
  q.add(makePod('a'));
  q.add(makePod('b'));
  const a = (await q.pop())!;
  const b = (await q.pop())!;
  q.requeueUnschedulable(a);
  await clock.advance(5000);
  q.requeueUnschedulable(b);
  t.deepEqual(q.lengths(), { active: 0, backoff: 0, unschedulable: 2 });
  q.moveAllToActiveOrBackoff();
  t.is(q.where('default/a'), 'active');
  t.is(q.where('default/b'), 'backoff');
  await clock.advance(1000);
  t.is(q.where('default/b'), 'active');
  q.close();
});

test('unschedulable pods are retried after 5 minutes without any change', async (t) => {
  const { q, clock } = queue();
  q.add(makePod('a'));
  q.requeueUnschedulable((await q.pop())!);
  await clock.advance(4 * 60_000);
  t.is(q.where('default/a'), 'unschedulable');
  await clock.advance(60_000 + 30_000);
  t.is(q.where('default/a'), 'active');
  q.close();
});

test('a cluster change during the cycle sends the failed pod to backoff, not unschedulable', async (t) => {
  const { q, clock } = queue();
  q.add(makePod('a'));
  const a = (await q.pop())!;
  q.moveAllToActiveOrBackoff(); // e.g. a node was added while "a" was being scheduled
  q.requeueUnschedulable(a);
  t.is(q.where('default/a'), 'backoff');
  await clock.advance(1000);
  t.is(q.where('default/a'), 'active');
  q.close();
});

test('updates: a spec change retries a parked pod, a status change does not', async (t) => {
  const { q } = queue();
  const pod = makePod('a');
  q.add(pod);
  q.requeueUnschedulable((await q.pop())!);
  const statusOnly = { ...pod, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } };
  q.update(pod, statusOnly);
  t.is(q.where('default/a'), 'unschedulable');
  const relaxed = { ...statusOnly, spec: { ...statusOnly.spec, nodeSelector: {}, tolerations: [{ operator: 'Exists' }] } };
  q.update(statusOnly, relaxed);
  t.not(q.where('default/a'), 'unschedulable');
  q.close();
});

test('deleting a pod in flight drops it when its cycle ends; an update in flight is kept', async (t) => {
  const { q } = queue();
  q.add(makePod('a'));
  q.add(makePod('b'));
  const a = (await q.pop())!;
  const b = (await q.pop())!;
  q.delete('default/a');
  const newer = makePod('b', { cpu: '1' });
  q.update(b.pod, newer);
  t.is(q.where('default/b'), 'inflight');
  q.requeueUnschedulable(a);
  q.requeueUnschedulable(b);
  t.is(q.where('default/a'), undefined);
  t.is(q.where('default/b'), 'unschedulable');
  q.moveAllToActiveOrBackoff();
  await new Promise((r) => setImmediate(r));
  t.deepEqual(q.lengths(), { active: 0, backoff: 1, unschedulable: 0 });
  q.close();
});

test('done() ends the flight; delete removes from every queue', async (t) => {
  const { q } = queue();
  q.add(makePod('a'));
  q.add(makePod('b'));
  const a = (await q.pop())!;
  q.done(a.key);
  t.is(q.where('default/a'), undefined);
  q.delete('default/b');
  t.deepEqual(q.lengths(), { active: 0, backoff: 0, unschedulable: 0 });
  q.close();
});
