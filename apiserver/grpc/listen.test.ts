import test from 'ava';
import { parseListenAddress } from './listen';

test('TCP and unix listen addresses parse; the error says what is expected', (t) => {
  t.deepEqual(parseListenAddress('127.0.0.1:6443'), { kind: 'tcp', host: '127.0.0.1', port: 6443, text: '127.0.0.1:6443' });
  t.deepEqual(parseListenAddress('[::1]:0'), { kind: 'tcp', host: '[::1]', port: 0, text: '[::1]:0' });
  t.deepEqual(parseListenAddress('unix:/run/tsk/api.sock'), { kind: 'unix', path: '/run/tsk/api.sock', text: 'unix:/run/tsk/api.sock' });
  t.deepEqual(parseListenAddress('unix:///run/tsk/api.sock'), { kind: 'unix', path: '/run/tsk/api.sock', text: 'unix:/run/tsk/api.sock' });
  t.throws(() => parseListenAddress('unix:api.sock'), { message: /not unix:\/ABSOLUTE\/PATH/ });
  t.throws(() => parseListenAddress('nowhere'), { message: /not HOST:PORT or unix:\/PATH/ });
  t.throws(() => parseListenAddress('h:70000'), { message: /not HOST:PORT/ });
});
