import test from 'ava';
import { parseHollowFlags } from './hollow-flags';

test('tsk hollow-nodes flags: --count required; sizes and names checked', (t) => {
  t.throws(() => parseHollowFlags([]), { message: '--count is required' });
  t.like(parseHollowFlags(['--count', '5000']), {
    count: 5000,
    namePrefix: 'hollow-node-',
    nameOffset: 0,
    maxPods: 110,
    cpus: 4,
    memoryKi: 16 * 1024 * 1024,
    startConcurrency: 50,
  });
  t.throws(() => parseHollowFlags(['--count', '0']), { message: '--count: "0" must be a positive integer' });
  t.throws(() => parseHollowFlags(['--count', '1', '--memory', 'lots']), { message: '--memory: "lots" is not a quantity (such as 16Gi)' });
  t.throws(() => parseHollowFlags(['--count', '1', '--name-prefix', 'Big_']), { message: /--name-prefix: "Big_"/ });
  t.throws(() => parseHollowFlags(['--count', '1', '--proxy', 'maybe']), { message: '--proxy: "maybe" must be true or false' });
});

test('tsk hollow-nodes --name-offset: where the nodes of this process start, within the hollow node addresses', (t) => {
  t.like(parseHollowFlags(['--count', '500', '--name-offset', '1500']), { count: 500, nameOffset: 1500 });
  t.like(parseHollowFlags(['--count', '70', '--name-offset', '131000']), { nameOffset: 131000 });
  t.throws(() => parseHollowFlags(['--count', '1', '--name-offset=-3']), { message: '--name-offset: "-3" must be a non-negative integer' });
  t.throws(() => parseHollowFlags(['--count', '1', '--name-offset', 'x']), { message: '--name-offset: "x" must be a non-negative integer' });
  t.throws(() => parseHollowFlags(['--count', '71', '--name-offset', '131000']), {
    message: '--name-offset: nodes 131000 to 131070 pass the 131070 hollow node addresses',
  });
});
