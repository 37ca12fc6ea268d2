import test from 'ava';
import type { Lease, Node } from '../../api/gen/tsk/v1/core';
import { observe } from './health';

const node = (heartbeat: string): Node => ({
  metadata: { name: 'n1' },
  status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: heartbeat }] },
});
const lease = (renewTime: string): Lease => ({ metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n1', renewTime } });

test('a later Lease renewal counts as a heartbeat, seen on the controller clock', (t) => {
  const h0 = observe(undefined, node('2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:00.000001Z'), 1000);
  t.is(h0.probeMs, 1000);
  const same = observe(h0, node('2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:00.000001Z'), 5000);
  t.is(same.probeMs, 1000, 'nothing new: the probe time stays');
  const renewed = observe(same, node('2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:10.000001Z'), 9000);
  t.is(renewed.probeMs, 9000);
  const micro = observe(renewed, node('2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:10.000002Z'), 9500);
  t.is(micro.probeMs, 9500, 'microseconds decide within one millisecond');
  const older = observe(micro, node('2026-01-01T00:00:00Z'), lease('2026-01-01T00:00:05.000000Z'), 12000);
  t.is(older.probeMs, 9500, 'an older renewTime (a re-created Lease read late) is not a heartbeat');
  const noLease = observe(older, node('2026-01-01T00:00:20Z'), undefined, 13000);
  t.is(noLease.probeMs, 13000, "without a Lease the Ready condition's heartbeat still counts");
});
