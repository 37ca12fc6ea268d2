import test from 'ava';
import { Turns } from './turns';

test('jobs run one at a time, in order, and settle as their job does', async (t) => {
  const turns = new Turns();
  const log: string[] = [];
  let running = 0;
  const job =
    (name: string, fail = false) =>
    async (): Promise<string> => {
      running++;
      t.is(running, 1, 'never two at once');
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
  const results = await Promise.allSettled([turns.run(job('a')), turns.run(job('b', true)), turns.run(job('c'))]);
  t.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  t.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ['a', 'b failed', 'c'],
  );
  t.is(turns.pending, 0);
});

test('a timer due meanwhile runs before the second of jobs queued in the same turn', async (t) => {
  const turns = new Turns();
  const log: string[] = [];
  setTimeout(() => log.push('timer'), 0);
  // Jobs that block the loop for a while each, as a proxy's sync does.
  const busy = (name: string) => async (): Promise<void> => {
    const until = Date.now() + 5;
    while (Date.now() < until);
    log.push(name);
  };
  await Promise.all([turns.run(busy('a')), turns.run(busy('b')), turns.run(busy('c'))]);
  // Run in one turn (as microtasks), the three would all come before the timer.
  t.true(log.indexOf('timer') < log.indexOf('b'), log.join(','));
});
