import test from 'ava';
import { signalNumber } from './stop-signal';

test('stop signals by name: classic, aliases and real-time', (t) => {
  t.is(signalNumber('SIGTERM'), 15);
  t.is(signalNumber('SIGUSR1'), 10);
  t.is(signalNumber('SIGCLD'), 17);
  t.is(signalNumber('SIGPOLL'), 29);
  t.is(signalNumber('SIGRTMIN'), 34);
  t.is(signalNumber('SIGRTMIN+15'), 49);
  t.is(signalNumber('SIGRTMAX-14'), 50);
  t.is(signalNumber('SIGRTMAX'), 64);
  t.is(signalNumber('SIGRTMAX+1'), undefined);
  t.is(signalNumber('SIGFOO'), undefined);
});
