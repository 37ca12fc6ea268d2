import test from 'ava';
import { noop } from 'cockatiel';
import { globalPolicy, hostPolicy, neverSent } from './etcd-connection';

test('only a call that never reached etcd counts as safe to send elsewhere', (t) => {
  t.true(neverSent(new Error('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379')));
  t.true(neverSent(new Error('connect ECONNREFUSED 127.0.0.1:2379')));
  // The request may have been applied: never retried.
  t.false(neverSent(new Error('14 UNAVAILABLE: Connection dropped')));
  t.false(neverSent(new Error('1 CANCELLED: Call cancelled')));
  t.false(neverSent(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded')));
  t.false(neverSent(new Error('etcdserver: request timed out')));
});

test('one member: no-op policies; several: fail-over policies', async (t) => {
  t.is(globalPolicy(1), noop);
  t.is(hostPolicy(1)(), noop);
  t.not(globalPolicy(3), noop);
  t.not(hostPolicy(3)(), noop);
  // The retry moves a never-sent call on, at most once per other member, and leaves other failures alone.
  let calls = 0;
  await t.throwsAsync(
    globalPolicy(3).execute(() => {
      calls++;
      throw new Error('No connection established');
    }),
  );
  t.is(calls, 3);
  calls = 0;
  await t.throwsAsync(
    globalPolicy(3).execute(() => {
      calls++;
      throw new Error('Connection dropped');
    }),
  );
  t.is(calls, 1);
});
