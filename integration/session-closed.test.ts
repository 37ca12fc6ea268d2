// A client whose HTTP/2 session the API server closes with an error. Node's
// nghttp2 (1.57 and later, the CVE-2023-44487 "rapid reset" mitigation) lets a
// client reset at most 1,000 streams at once, refilled at 33 a second, per
// connection; past that the server sends GOAWAY with INTERNAL_ERROR and
// destroys the session. A client that cancels many calls at once (watches
// stopped together, calls that reach their deadline together) meets it. The
// client must take this as a lost connection (UnavailableError, not the
// server's InternalError), its next call must go on a new connection, and an
// informer must resume its watch from the revision it had, missing nothing.

import test from 'ava';
import type * as core from '../api/gen/tsk/v1/core';
import { ConnectionLostError, UnavailableError } from '../api/errors';
import { Clientset } from '../client/clientset';
import { Informer, listerWatcher, type ListerWatcher } from '../client/informer';
import type { Watch } from '../client/watch';
import { eventually, startControlPlane } from './support/client-harness';
import { testTls } from './support/pki';

const pod = (name: string): core.Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
});

/** More resets at once than nghttp2's burst of 1,000 (plus what refills while they are opened). */
const WATCHES_CANCELLED = 2_500;

test('after the server closes the session (too many resets), the next call succeeds on a new connection and the informer misses no event', async (t) => {
  const plane = await startControlPlane(t);
  const cs = new Clientset(plane.address, (await testTls()).admin);
  t.teardown(() => cs.close());
  let lists = 0;
  const inner = listerWatcher(cs.pods, { namespace: 'default' });
  const lw: ListerWatcher<core.Pod> = {
    list: () => {
      lists++;
      return inner.list();
    },
    watch: (rv) => inner.watch(rv),
  };
  const errors: unknown[] = [];
  const informer = new Informer<core.Pod>({ listerWatcher: lw, name: 'pods', backoff: { initialMs: 50, maxMs: 500 }, onError: (err) => errors.push(err) });
  const seen: string[] = [];
  informer.addEventHandler({ onAdd: (p) => seen.push(p.metadata?.name ?? '') });
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync();
  for (let i = 0; i < 5; i++) await cs.pods.create(pod(`before-${i}`));
  await eventually(() => seen.length === 5, 10_000, '5 adds before');

  // Open many watches on the same connection, let them reach the server, then stop them all at once.
  const watches: Watch<core.Pod>[] = [];
  for (let i = 0; i < WATCHES_CANCELLED; i++) watches.push(cs.pods.watch({ namespace: 'kube-system' }));
  await new Promise((r) => setTimeout(r, 1_500));
  for (const w of watches) w.cancel();

  await eventually(() => errors.length > 0, 20_000, "the informer's watch to break with the session");
  const lost = errors[0];
  t.true(lost instanceof UnavailableError, `the broken watch is a lost connection, not the server's answer: ${String(lost)}`);
  t.true(lost instanceof ConnectionLostError, 'its outcome is unknown: a controller must not take it as not done');
  t.regex(String((lost as Error).message), /closed the connection/);

  // The next call goes on a new connection.
  await cs.pods.create(pod('after-0'));
  for (let i = 1; i < 5; i++) await cs.pods.create(pod(`after-${i}`));
  await eventually(() => seen.length === 10, 20_000, 'the 5 pods created after the session was closed');
  t.is(lists, 1, 'the informer resumed its watch from its revision; no re-list');
  t.deepEqual(seen.sort(), [...Array.from({ length: 5 }, (_, i) => `after-${i}`), ...Array.from({ length: 5 }, (_, i) => `before-${i}`)]);
  const server = (await cs.pods.listAll({ namespace: 'default' })).items ?? [];
  t.deepEqual(informer.store.listKeys().sort(), server.map((p) => `default/${p.metadata?.name}`).sort());
});
