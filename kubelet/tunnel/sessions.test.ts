import test from 'ava';
import type { TunnelMessage } from '../../api/gen/tsk/v1/stream';
import { TUNNEL_CHUNK_BYTES, TUNNEL_WINDOW_BYTES, TunnelMux } from '../../tunnel';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from '../pod-runtime';
import { PassThrough } from 'node:stream';
import type { AttachOptions, AttachStreams, LogEntry, LogOptions } from '../runtime/runtime';
import { FakeRuntime } from '../testing/fake-runtime';
import { SessionServer, formatEntry } from './sessions';

class LogRuntime extends FakeRuntime {
  entries: LogEntry[] = [];
  lastOpts: LogOptions | undefined;
  override async *logs(_id?: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    this.lastOpts = opts;
    yield* this.entries;
  }
}

async function podWithContainer(rt: FakeRuntime, state: 'running' | 'exited' = 'running'): Promise<string> {
  const sb = await rt.createSandbox({ name: 'web', namespace: 'default', uid: 'u1' });
  const labels = { [LABEL_POD_NAME]: 'web', [LABEL_POD_NAMESPACE]: 'default', [LABEL_POD_UID]: 'u1', [LABEL_CONTAINER_NAME]: 'app' };
  const id = await rt.createContainer(sb, { name: 'app', image: 'busybox', labels });
  await rt.startContainer(id);
  if (state === 'exited') rt.exit(id, 0);
  return id;
}

function harness(rt: FakeRuntime): { mux: TunnelMux; sent: TunnelMessage[]; server: SessionServer; closed: () => TunnelMessage | undefined } {
  const sent: TunnelMessage[] = [];
  const mux = new TunnelMux((m) => sent.push(m));
  return { mux, sent, server: new SessionServer(rt, () => {}), closed: () => sent.find((m) => m.close) };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  if (!cond()) throw new Error(`never: ${what}`);
}

const data = (sent: TunnelMessage[], stream: 'stdout' | 'stderr'): string => sent.map((m) => m[stream]?.toString() ?? '').join('');

test('exec: stdout and stderr frames, then the exit code with close', async (t) => {
  const rt = new FakeRuntime();
  await podWithContainer(rt);
  rt.execResults.set('sh', { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  const h = harness(rt);
  h.server.open(h.mux, 1, { exec: { namespace: 'default', name: 'web', container: 'app', command: ['sh', '-c', 'x'] }, podUid: 'u1' });
  await until('close', () => h.closed() !== undefined);
  t.is(data(h.sent, 'stdout'), 'out\n');
  t.is(data(h.sent, 'stderr'), 'err\n');
  t.like(h.closed(), { streamId: 1, exitCode: 3, close: true });
  t.false(h.mux.has(1));
});

test('exec: errors for a missing and for a stopped container', async (t) => {
  const rt = new FakeRuntime();
  await podWithContainer(rt, 'exited');
  const h = harness(rt);
  h.server.open(h.mux, 1, { exec: { namespace: 'default', name: 'web', container: 'other', command: ['true'] }, podUid: 'u1' });
  h.server.open(h.mux, 3, { exec: { namespace: 'default', name: 'web', container: 'app', command: ['true'] }, podUid: 'u1' });
  await until('both closed', () => h.sent.filter((m) => m.close).length === 2);
  t.like(
    h.sent.find((m) => m.streamId === 1),
    { error: 'container not found ("other")', errorCode: 404, close: true },
  );
  const stopped = h.sent.find((m) => m.streamId === 3);
  t.is(stopped?.errorCode, 400);
  t.regex(stopped?.error ?? '', /container app is not running in pod web/);
});

test('exec: output stops at the window until credit comes back', async (t) => {
  const rt = new FakeRuntime();
  await podWithContainer(rt);
  const big = 'x'.repeat(3 * TUNNEL_WINDOW_BYTES);
  rt.execResults.set('yes', { exitCode: 0, stdout: big, stderr: '' });
  const h = harness(rt);
  h.server.open(h.mux, 1, { exec: { namespace: 'default', name: 'web', container: 'app', command: ['yes'] }, podUid: 'u1' });
  await until(`a window sent (${data(h.sent, 'stdout').length})`, () => data(h.sent, 'stdout').length >= TUNNEL_WINDOW_BYTES);
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  const sent = data(h.sent, 'stdout').length;
  t.true(sent <= TUNNEL_WINDOW_BYTES + TUNNEL_CHUNK_BYTES, `sent ${sent} bytes without credit`);
  t.is(h.closed(), undefined);
  // The reader takes everything: credit back, the rest flows and the session ends.
  for (let round = 0; round < 20 && !h.closed(); round++) {
    h.mux.dispatch({ streamId: 1, credit: TUNNEL_WINDOW_BYTES });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }
  t.is(data(h.sent, 'stdout').length, big.length);
  t.like(h.closed(), { exitCode: 0 });
});

test('logs: lines as kubectl prints them, tail passed on, follow off for previous', async (t) => {
  const rt = new LogRuntime();
  await podWithContainer(rt);
  rt.entries = [
    { time: '2026-01-01T00:00:00.000000001Z', stream: 'stdout', partial: false, text: 'one' },
    { time: '2026-01-01T00:00:01Z', stream: 'stderr', partial: true, text: 'tw' },
    { time: '2026-01-01T00:00:02Z', stream: 'stderr', partial: false, text: 'o' },
  ];
  const h = harness(rt);
  h.server.open(h.mux, 1, { logs: { namespace: 'default', name: 'web', container: 'app', tailLines: 2, timestamps: true }, podUid: 'u1' });
  await until('close', () => h.closed() !== undefined);
  t.is(data(h.sent, 'stdout'), '2026-01-01T00:00:00.000000001Z one\n2026-01-01T00:00:01Z two\n');
  t.is(rt.lastOpts?.tail, 2);
  t.false(rt.lastOpts?.follow);
  t.falsy(h.closed()?.error);

  h.server.open(h.mux, 3, { logs: { namespace: 'default', name: 'web', container: 'app', previous: true }, podUid: 'u1' });
  await until('close 3', () => h.sent.some((m) => m.streamId === 3 && m.close));
  t.like(
    h.sent.find((m) => m.streamId === 3 && m.close),
    { error: 'previous terminated container "app" in pod "web" not found', errorCode: 400 },
  );
});

test('formatEntry: newline unless partial; a continued line gets no second timestamp', (t) => {
  const e: LogEntry = { time: 'T', stream: 'stdout', partial: false, text: 'a' };
  t.is(formatEntry(e, false, false), 'a\n');
  t.is(formatEntry(e, true, false), 'T a\n');
  t.is(formatEntry(e, true, true), 'a\n');
  t.is(formatEntry({ ...e, partial: true }, false, false), 'a');
});

test('exec: started goes out before any output', async (t) => {
  const rt = new FakeRuntime();
  await podWithContainer(rt);
  rt.execResults.set('echo', { exitCode: 0, stdout: 'hi\n', stderr: '' });
  const h = harness(rt);
  h.server.open(h.mux, 1, { exec: { namespace: 'default', name: 'web', container: 'app', command: ['echo'] }, podUid: 'u1' });
  await until('close', () => h.closed() !== undefined);
  const started = h.sent.findIndex((m) => m.started);
  const firstData = h.sent.findIndex((m) => m.stdout?.length);
  t.true(started >= 0 && started < firstData, JSON.stringify(h.sent.map((m) => Object.keys(m))));
});

test('port-forward: the pod sandbox connection carries stdin back as stdout; stdin_eof ends it', async (t) => {
  const rt = new FakeRuntime();
  await podWithContainer(rt);
  const h = harness(rt);
  h.server.open(h.mux, 1, { portForward: { namespace: 'default', name: 'web', port: 8080 }, podUid: 'u1' });
  await until('started', () => h.sent.some((m) => m.started));
  t.true(
    rt.calls.some((c) => /^portForward \S+ 8080$/.test(c)),
    rt.calls.join('\n'),
  );
  h.mux.dispatch({ streamId: 1, stdin: Buffer.from('ping') });
  await until('echo', () => data(h.sent, 'stdout') === 'ping');
  t.true(
    h.sent.some((m) => m.credit === 4),
    'the stdin written is credited back',
  );
  h.mux.dispatch({ streamId: 1, stdinEof: true });
  await until('close', () => h.closed() !== undefined);
  t.deepEqual(h.closed(), { streamId: 1, close: true });
});

test('port-forward: a pod without a sandbox here and a port out of range are refused', async (t) => {
  const rt = new FakeRuntime();
  await podWithContainer(rt);
  const h = harness(rt);
  h.server.open(h.mux, 1, { portForward: { namespace: 'default', name: 'other', port: 80 }, podUid: 'u2' });
  h.server.open(h.mux, 3, { portForward: { namespace: 'default', name: 'web', port: 70000 }, podUid: 'u1' });
  await until('both closed', () => h.sent.filter((m) => m.close).length === 2);
  t.like(
    h.sent.find((m) => m.streamId === 1),
    { error: 'pod other has no running sandbox on this node', errorCode: 404 },
  );
  t.like(
    h.sent.find((m) => m.streamId === 3),
    { error: 'invalid port 70000: must be 1-65535', errorCode: 400 },
  );
});

test('attach: the main process output from now on, stdout and stderr apart', async (t) => {
  const rt = new LogRuntime();
  await podWithContainer(rt);
  rt.entries = [
    { time: 't1', stream: 'stdout', partial: false, text: 'tick 5' },
    { time: 't2', stream: 'stderr', partial: false, text: 'oops' },
    { time: 't3', stream: 'stdout', partial: true, text: 'par' },
  ];
  const h = harness(rt);
  h.server.open(h.mux, 1, { attach: { namespace: 'default', name: 'web', container: 'app', command: [] }, podUid: 'u1' });
  await until('close', () => h.closed() !== undefined);
  t.like(rt.lastOpts, { follow: true, tail: 0 });
  t.true(h.sent.some((m) => m.started));
  t.is(data(h.sent, 'stdout'), 'tick 5\npar');
  t.is(data(h.sent, 'stderr'), 'oops\n');
});

/** A container made with stdin and tty: attach gets its streams, an echo of what is written. */
class StdinRuntime extends FakeRuntime {
  asked: boolean | undefined;
  sizes: string[] = [];
  detached = false;
  override async attach(_id: string, opts?: AttachOptions): Promise<AttachStreams> {
    this.asked = opts?.stdin;
    const echo = new PassThrough();
    const stderr = new PassThrough();
    // The process exits at its stdin's end (stdinOnce): both streams end.
    echo.on('end', () => stderr.end());
    return {
      stdin: echo,
      stdout: echo,
      stderr,
      kill: () => {
        this.detached = true;
        echo.end();
        stderr.end();
      },
      resize: (w, h) => this.sizes.push(`${w}x${h}`),
    };
  }
}

test('attach: a container with stdin gets the session stdin and resizes; its end ends the session', async (t) => {
  const rt = new StdinRuntime();
  await podWithContainer(rt);
  const h = harness(rt);
  h.server.open(h.mux, 1, { attach: { namespace: 'default', name: 'web', container: 'app', command: [], stdin: true, tty: true }, podUid: 'u1' });
  await until('started', () => h.sent.some((m) => m.started));
  t.true(rt.asked);
  h.mux.dispatch({ streamId: 1, stdin: Buffer.from('hello\n'), resize: { width: 80, height: 24 } });
  await until('echo', () => data(h.sent, 'stdout') === 'hello\n');
  t.true(
    h.sent.some((m) => m.credit === 6),
    'stdin written is credited back',
  );
  t.deepEqual(rt.sizes, ['80x24']);
  h.mux.dispatch({ streamId: 1, stdinEof: true });
  await until('close', () => h.closed() !== undefined);
  t.like(h.closed(), { streamId: 1, close: true });
});
