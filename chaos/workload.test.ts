import test from 'ava';
import { seededRng } from './rng';
import { chooseChange, DEFAULT_WORKLOAD_LIMITS } from './workload';

test('the workload creates a namespace first, never deletes the last, and never exceeds the limit', (t) => {
  const rng = seededRng(5);
  t.is(chooseChange(rng, 0, DEFAULT_WORKLOAD_LIMITS), 'create-namespace');
  for (let i = 0; i < 500; i++) {
    t.not(chooseChange(rng, 1, DEFAULT_WORKLOAD_LIMITS), 'delete-namespace');
    t.not(chooseChange(rng, DEFAULT_WORKLOAD_LIMITS.maxNamespaces, DEFAULT_WORKLOAD_LIMITS), 'create-namespace');
  }
  const seen = new Set(Array.from({ length: 500 }, () => chooseChange(rng, 2, DEFAULT_WORKLOAD_LIMITS)));
  t.deepEqual([...seen].sort(), ['create-namespace', 'create-service', 'delete-namespace', 'delete-service', 'scale']);
});
