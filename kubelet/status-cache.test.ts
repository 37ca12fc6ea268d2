import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { WrittenStatuses } from './status-cache';

const pod = (rv: string, phase: string): Pod => ({ metadata: { uid: 'u1', name: 'p', resourceVersion: rv }, spec: { nodeName: 'n' }, status: { phase } });

test("a write newer than the informer's copy gives its status and resourceVersion over the informer's spec", (t) => {
  const w = new WrittenStatuses();
  w.record(pod('12', 'Running'));
  const informer = { ...pod('10', 'Pending'), spec: { nodeName: 'n', activeDeadlineSeconds: 5 } };
  const got = w.latest(informer);
  t.is(got.metadata?.resourceVersion, '12');
  t.is(got.status?.phase, 'Running');
  t.is(got.spec?.activeDeadlineSeconds, 5);
  t.is(w.size, 1);
});

test('once the informer has caught up, its copy wins and the entry goes', (t) => {
  const w = new WrittenStatuses();
  w.record(pod('12', 'Running'));
  t.is(w.latest(pod('12', 'Running')).metadata?.resourceVersion, '12');
  t.is(w.size, 0);
  w.record(pod('13', 'Running'));
  t.is(w.latest(pod('20', 'Succeeded')).status?.phase, 'Succeeded');
  t.is(w.size, 0);
});

test('writes without a resourceVersion (fakes) are not kept; forget drops an entry', (t) => {
  const w = new WrittenStatuses();
  w.record(pod('', 'Running'));
  t.is(w.size, 0);
  w.record(pod('3', 'Running'));
  w.forget('u1');
  t.is(w.latest(pod('1', 'Pending')).status?.phase, 'Pending');
});

test("isOwnWrite: only the very version this kubelet's write returned", (t) => {
  const w = new WrittenStatuses();
  t.false(w.isOwnWrite(pod('12', 'Running')), 'nothing written');
  w.record(pod('12', 'Running'));
  t.true(w.isOwnWrite(pod('12', 'Running')));
  t.false(w.isOwnWrite(pod('13', 'Running')), 'a later change by someone else');
  t.false(w.isOwnWrite(pod('11', 'Pending')), 'an older version');
  t.false(w.isOwnWrite({ ...pod('12', 'Running'), metadata: { uid: 'u2', resourceVersion: '12' } }), 'another pod');
  w.forget('u1');
  t.false(w.isOwnWrite(pod('12', 'Running')));
});
