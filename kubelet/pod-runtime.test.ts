// readPodRuntimeState reads one pod's sandboxes and containers, the same as
// that pod's entry of readRuntimeState (every pod), also from a runtime that
// ignores the podUid filter (the fake returns everything).

import test from 'ava';
import { LABEL_POD_UID, readPodRuntimeState, readRuntimeState, EMPTY_STATE } from './pod-runtime';
import { FakeRuntime } from './testing/fake-runtime';

async function twoPods(): Promise<FakeRuntime> {
  let now = 1_000;
  const rt = new FakeRuntime(() => now++);
  for (const uid of ['uid-a', 'uid-b']) {
    const sb = await rt.createSandbox({ name: uid, namespace: 'default', uid, labels: { [LABEL_POD_UID]: uid } });
    await rt.createContainer(sb, { name: 'c', image: 'busybox' });
  }
  return rt;
}

test('one pod: its own sandboxes and containers, as the full read has them', async (t) => {
  const rt = await twoPods();
  const all = await readRuntimeState(rt);
  for (const uid of ['uid-a', 'uid-b']) {
    const one = await readPodRuntimeState(rt, uid);
    t.is(one.sandboxes.length, 1);
    t.is(one.containers.length, 1);
    t.deepEqual(one, all.get(uid));
  }
});

test('a pod the runtime does not hold: the empty state', async (t) => {
  t.is(await readPodRuntimeState(await twoPods(), 'uid-c'), EMPTY_STATE);
});
