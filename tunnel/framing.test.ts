import test from 'ava';
import type { TunnelMessage } from '../api/gen/tsk/v1/stream';
import { Credit, TunnelMux, chunks, dataBytes, type SessionHandler } from './framing';

test('chunks splits into bounded views and keeps every byte', (t) => {
  const data = Buffer.from('abcdefghij');
  t.deepEqual(chunks(data, 4).map(String), ['abcd', 'efgh', 'ij']);
  t.deepEqual(chunks(Buffer.alloc(0), 4), []);
  t.deepEqual(chunks(data, 10).map(String), ['abcdefghij']);
});

test('credit: a sender waits once the window is used, until credit comes back', async (t) => {
  const c = new Credit(10);
  t.true(await c.take(6));
  t.true(await c.take(6)); // some credit was left: the frame goes, overshooting by less than a frame
  t.is(c.remaining, -2);
  let sent = false;
  const pending = c.take(1).then((ok) => (sent = ok));
  await new Promise((r) => setImmediate(r));
  t.false(sent, 'no credit: the sender is paused');
  c.grant(2);
  await new Promise((r) => setImmediate(r));
  t.false(sent, 'back to zero is still no credit');
  c.grant(5);
  await pending;
  t.true(sent);
  t.is(c.remaining, 4);
});

test('credit: closing releases waiting senders with false', async (t) => {
  const c = new Credit(1);
  await c.take(1);
  const pending = c.take(1);
  c.close();
  t.false(await pending);
  t.false(await c.take(1));
});

class Recorder implements SessionHandler {
  readonly got: TunnelMessage[] = [];
  closed: string | undefined;
  onMessage(msg: TunnelMessage): void {
    this.got.push(msg);
  }
  onTunnelClosed(reason: string): void {
    this.closed = reason;
  }
}

test('mux routes frames by stream id and allocates odd ids', (t) => {
  const sent: TunnelMessage[] = [];
  const mux = new TunnelMux((m) => sent.push(m));
  const a = mux.allocate();
  const b = mux.allocate();
  t.deepEqual([a, b], [1, 3]);
  const ra = new Recorder();
  const rb = new Recorder();
  mux.register(a, ra);
  mux.register(b, rb);
  t.true(mux.dispatch({ streamId: a, stdout: Buffer.from('x') }));
  t.true(mux.dispatch({ streamId: b, stderr: Buffer.from('y') }));
  t.is(ra.got.length, 1);
  t.is(rb.got.length, 1);
  // A close frame ends the session's registration.
  mux.dispatch({ streamId: a, close: true, exitCode: 0 });
  t.false(mux.has(a));
  t.is(ra.got.length, 2);
  t.is(mux.size, 1);
});

test('mux answers frames of an unknown stream with a close, but never a close with a close', (t) => {
  const sent: TunnelMessage[] = [];
  const mux = new TunnelMux((m) => sent.push(m));
  t.false(mux.dispatch({ streamId: 7, stdout: Buffer.from('late') }));
  t.deepEqual(sent, [{ streamId: 7, close: true, error: 'no such stream', errorCode: 404 }]);
  t.false(mux.dispatch({ streamId: 9, close: true }));
  t.false(mux.dispatch({ streamId: 0, hello: { nodeName: 'n' } }));
  t.is(sent.length, 1);
});

test('closeAll ends every session once; later registrations end at once and nothing more is sent', (t) => {
  const sent: TunnelMessage[] = [];
  const mux = new TunnelMux((m) => sent.push(m));
  const r1 = new Recorder();
  mux.register(mux.allocate(), r1);
  mux.closeAll('gone');
  mux.closeAll('again');
  t.is(r1.closed, 'gone');
  t.true(mux.closed);
  const r2 = new Recorder();
  mux.register(mux.allocate(), r2);
  t.is(r2.closed, 'gone');
  mux.send({ streamId: 1, stdin: Buffer.from('x') });
  t.is(sent.length, 0);
});

test('dataBytes counts only payload', (t) => {
  t.is(dataBytes({ streamId: 1, stdout: Buffer.from('ab'), stderr: Buffer.from('c'), credit: 100 }), 3);
  t.is(dataBytes({ streamId: 1, close: true }), 0);
});
