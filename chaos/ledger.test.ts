import test from 'ava';
import { Ledger, ledgerKey, lostObjects, type Observed } from './ledger';

const rc = ledgerKey('ReplicationController', 'chaos-1', 'web');
const svc = ledgerKey('Service', 'chaos-1', 'web');
const ns = ledgerKey('Namespace', '', 'chaos-1');

test('an acknowledged object that is missing, or with other replicas, is lost', (t) => {
  const l = new Ledger();
  l.acknowledge(ns, { state: 'present' });
  l.acknowledge(rc, { state: 'present', replicas: 3 });
  l.acknowledge(svc, { state: 'present' });
  const observed = new Map<string, Observed>([
    [ns, {}],
    [rc, { replicas: 2 }],
  ]);
  t.deepEqual(
    lostObjects(l.snapshot(), observed).map((v) => v.text),
    [
      'ReplicationController/chaos-1/web: spec.replicas is 2, the acknowledged update set 3',
      'Service/chaos-1/web: created or updated (acknowledged) but missing from the list',
    ],
  );
  t.is(l.writes, 3);
});

test('a deleted object that is back is a violation; an unsure one is not checked', (t) => {
  const l = new Ledger();
  l.acknowledge(svc, { state: 'absent' });
  l.unsure(rc);
  const observed = new Map<string, Observed>([
    [svc, {}],
    [rc, { replicas: 1 }],
  ]);
  t.deepEqual(
    lostObjects(l.snapshot(), observed).map((v) => v.text),
    ['Service/chaos-1/web: deleted (acknowledged) but still listed'],
  );
});

test('deleting a namespace expects everything in it gone', (t) => {
  const l = new Ledger();
  l.acknowledge(rc, { state: 'present', replicas: 1 });
  l.acknowledge(ledgerKey('Service', 'chaos-2', 'web'), { state: 'present' });
  l.namespaceDeleted('chaos-1');
  t.deepEqual(l.expectation(rc), { state: 'absent' });
  t.deepEqual(l.expectation(ns), { state: 'absent' });
  t.deepEqual(l.expectation(ledgerKey('Service', 'chaos-2', 'web')), { state: 'present' });
  t.deepEqual(lostObjects(l.snapshot(), new Map([[ledgerKey('Service', 'chaos-2', 'web'), {}]])), []);
});
