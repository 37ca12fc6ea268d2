import test from 'ava';
import { Registry } from 'prom-client';
import { Clientset, FakeClock, SharedInformerFactory } from '../client';
import type { Controller, ControllerContext } from './controller';
import { UnknownControllerError, startControllerManager } from './manager';
import { newControllerQueue } from './queue';
import type { ControllerTable } from './registry';

/** A controller that records what the manager did with it. */
class Probe implements Controller {
  ran: number | undefined;
  stops = 0;
  constructor(
    readonly name: string,
    readonly ctx: ControllerContext,
  ) {}
  run(workers: number): void {
    if (this.ran !== undefined) throw new Error('invariant: run twice');
    this.ran = workers;
  }
  async stop(): Promise<void> {
    this.stops++;
  }
}

function table(built: Probe[], extra: ControllerTable = {}): ControllerTable {
  const entry = (name: string, workers: number, disabledByDefault = false) => ({
    factory: (ctx: ControllerContext) => {
      const p = new Probe(name, ctx);
      built.push(p);
      return p;
    },
    workers,
    disabledByDefault,
  });
  return { alpha: entry('alpha', 5), beta: entry('beta', 20), gamma: entry('gamma', 1, true), ...extra };
}

function deps() {
  // No informer is asked for, so nothing connects; the address is never dialled.
  const clientset = new Clientset('127.0.0.1:9');
  return { clientset, informers: new SharedInformerFactory(clientset) };
}

test('runs the default controllers with their table workers; stop() stops each once', async (t) => {
  const built: Probe[] = [];
  const d = deps();
  t.teardown(() => d.clientset.close());
  const m = await startControllerManager({ ...d, table: table(built), log: () => undefined });
  t.deepEqual(
    built.map((p) => [p.name, p.ran]),
    [
      ['alpha', 5],
      ['beta', 20],
    ],
  );
  await Promise.all([m.stop(), m.stop()]);
  t.deepEqual(
    built.map((p) => p.stops),
    [1, 1],
  );
});

test('workers: one number for all, or by name over the table defaults; the context carries registry and clock', async (t) => {
  const built: Probe[] = [];
  const d = deps();
  t.teardown(() => d.clientset.close());
  const registry = new Registry();
  const clock = new FakeClock();
  const m = await startControllerManager({
    ...d,
    table: table(built),
    controllers: ['gamma', 'alpha'],
    workers: { alpha: 3 },
    registry,
    clock,
    log: () => undefined,
  });
  t.deepEqual(
    built.map((p) => [p.name, p.ran]),
    [
      ['gamma', 1],
      ['alpha', 3],
    ],
  );
  t.is(built[0]!.ctx.registry, registry);
  t.is(built[0]!.ctx.clock, clock);
  t.is(m.registry, registry);
  await m.stop();
  const again: Probe[] = [];
  const m2 = await startControllerManager({ ...d, table: table(again), workers: 2, log: () => undefined });
  t.deepEqual(
    again.map((p) => p.ran),
    [2, 2],
  );
  await m2.stop();
});

test('an unknown controller name is refused before anything is built', async (t) => {
  const built: Probe[] = [];
  const d = deps();
  t.teardown(() => d.clientset.close());
  const err = await t.throwsAsync(startControllerManager({ ...d, table: table(built), controllers: ['alpha', 'nosuch'] }), {
    instanceOf: UnknownControllerError,
  });
  t.is(err?.message, 'unknown controller "nosuch"; known controllers: alpha, beta, gamma');
  t.deepEqual(built, []);
});

test('a factory that throws stops the controllers already built', async (t) => {
  const built: Probe[] = [];
  const d = deps();
  t.teardown(() => d.clientset.close());
  const broken = {
    factory: (): Controller => {
      throw new Error('no informer for you');
    },
    workers: 1,
  };
  await t.throwsAsync(startControllerManager({ ...d, table: table(built, { broken }), controllers: ['alpha', 'broken'], log: () => undefined }), {
    message: 'no informer for you',
  });
  t.deepEqual(
    built.map((p) => [p.name, p.ran, p.stops]),
    [['alpha', undefined, 1]],
  );
});

test('the metered queue reports adds, depth, retries and durations by queue name', async (t) => {
  const registry = new Registry();
  const clock = new FakeClock();
  const q = newControllerQueue({ registry, clock }, 'replicationmanager');
  const line = async (metric: string): Promise<string | undefined> =>
    (await registry.metrics()).split('\n').find((l) => l.startsWith(`${metric}{name="replicationmanager"}`));
  q.add('a');
  q.add('a'); // already waiting: not an add
  q.add('b');
  t.is(await line('workqueue_adds_total'), 'workqueue_adds_total{name="replicationmanager"} 2');
  t.is(await line('workqueue_depth'), 'workqueue_depth{name="replicationmanager"} 2');
  const first = await q.get();
  t.is(await line('workqueue_depth'), 'workqueue_depth{name="replicationmanager"} 1');
  await clock.advance(250);
  q.addRateLimited('a'); // a failed sync
  q.done(first.key!);
  t.is(await line('workqueue_retries_total'), 'workqueue_retries_total{name="replicationmanager"} 1');
  t.is(await line('workqueue_work_duration_seconds_sum'), 'workqueue_work_duration_seconds_sum{name="replicationmanager"} 0.25');
  t.is(await line('workqueue_queue_duration_seconds_count'), 'workqueue_queue_duration_seconds_count{name="replicationmanager"} 1');
  await clock.advance(1000); // the back-off ends: a is back
  t.is(await line('workqueue_adds_total'), 'workqueue_adds_total{name="replicationmanager"} 3');
  t.is(await line('workqueue_depth'), 'workqueue_depth{name="replicationmanager"} 2');
  q.shutDown();
  t.is(await line('workqueue_depth'), 'workqueue_depth{name="replicationmanager"} 0');
});

test('queues of one name across terms share the depth gauge without driving it negative', async (t) => {
  const registry = new Registry();
  const clock = new FakeClock();
  const depth = async (): Promise<string | undefined> =>
    (await registry.metrics()).split('\n').find((l) => l.startsWith('workqueue_depth{name="nodelifecycle"}'));
  const oldTerm = newControllerQueue({ registry, clock }, 'nodelifecycle');
  oldTerm.add('n1');
  const newTerm = newControllerQueue({ registry, clock }, 'nodelifecycle'); // the next term starts first
  newTerm.add('n1');
  newTerm.add('n2');
  t.is(await depth(), 'workqueue_depth{name="nodelifecycle"} 3');
  oldTerm.shutDown(); // takes back only its own item
  t.is(await depth(), 'workqueue_depth{name="nodelifecycle"} 2');
  await newTerm.get();
  await newTerm.get();
  t.is(await depth(), 'workqueue_depth{name="nodelifecycle"} 0');
});
