import test from 'ava';
import { parseHollowFlags } from './hollow-flags';

test('tsk hollow-nodes flags: --count required; sizes and names checked', (t) => {
  t.throws(() => parseHollowFlags([]), { message: '--count is required' });
  t.like(parseHollowFlags(['--count', '5000']), {
    count: 5000,
    namePrefix: 'hollow-node-',
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
