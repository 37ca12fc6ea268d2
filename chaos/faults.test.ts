import test from 'ava';
import { ALL_KINDS, MUST_KINDS, planFaults } from './faults';
import { randomInt, seededRng, shuffled } from './rng';

const servers = ['s1', 's2', 's3'];
const agents = ['n1', 'n2', 'n3'];

test('the same seed gives the same faults; another seed others', (t) => {
  t.deepEqual(planFaults(seededRng(7), 20, servers, agents), planFaults(seededRng(7), 20, servers, agents));
  t.notDeepEqual(planFaults(seededRng(7), 20, servers, agents), planFaults(seededRng(8), 20, servers, agents));
});

test('the first rounds kill the scheduler leader, an etcd member and an agent, once each, for every seed', (t) => {
  for (let seed = 0; seed < 50; seed++) {
    const kinds = planFaults(seededRng(seed), 3, servers, agents).map((f) => f.kind);
    t.deepEqual([...kinds].sort(), [...MUST_KINDS].sort(), `seed ${seed}`);
  }
});

test('targets fit their kind: agents for agent faults, servers otherwise, the leader found later', (t) => {
  const faults = planFaults(seededRng(3), 300, servers, agents);
  for (const f of faults) {
    if (f.kind === 'kill-leader') t.is(f.target, undefined);
    else if (f.kind.endsWith('-agent')) t.true(agents.includes(f.target ?? ''), f.kind);
    else t.true(servers.includes(f.target ?? ''), f.kind);
    t.true(f.afterMs >= 0 && f.afterMs <= 2000);
    t.true(f.downMs >= 1000 && f.downMs <= 10_000);
  }
  // Over many rounds every kind comes up.
  for (const k of ALL_KINDS)
    t.true(
      faults.some((f) => f.kind === k),
      k,
    );
});

test('a lab without servers or agents is refused', (t) => {
  t.throws(() => planFaults(seededRng(1), 1, [], agents), { message: /at least one server and one agent/ });
});

test('rng helpers stay in range and shuffle keeps every element', (t) => {
  const rng = seededRng(42);
  for (let i = 0; i < 1000; i++) {
    const n = randomInt(rng, 2, 5);
    t.true(n >= 2 && n <= 5 && Number.isInteger(n));
  }
  t.deepEqual([...shuffled(rng, [1, 2, 3, 4, 5])].sort(), [1, 2, 3, 4, 5]);
});
