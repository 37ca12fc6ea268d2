import test from 'ava';
import { reportStop, untilStopped, type ShutdownSignals } from './signals';

function fakeSignals(received: Promise<NodeJS.Signals>): ShutdownSignals {
  return { signal: new AbortController().signal, received, dispose: () => undefined };
}

const never = new Promise<never>(() => undefined);

test('untilStopped: a signal is a clean stop', async (t) => {
  t.deepEqual(await untilStopped(fakeSignals(Promise.resolve('SIGTERM')), never), { ok: true, signal: 'SIGTERM' });
});

test('untilStopped: a part that dies first is a failure naming it', async (t) => {
  t.deepEqual(await untilStopped(fakeSignals(never), Promise.resolve('etcd exited with code 1')), { ok: false, died: 'etcd exited with code 1' });
});

test('reportStop: a signal is logged, a death goes to stderr with the command name', (t) => {
  const logged: string[] = [];
  reportStop({ ok: true, signal: 'SIGINT' }, 'tsk server', (l) => logged.push(l));
  t.deepEqual(logged, ['received SIGINT, shutting down']);
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(...args);
  try {
    reportStop({ ok: false, died: 'etcd exited with code 1' }, 'tsk server', (l) => logged.push(l));
  } finally {
    console.error = original;
  }
  t.deepEqual(errors, ['tsk server: etcd exited with code 1; shutting down']);
  t.is(logged.length, 1);
});
