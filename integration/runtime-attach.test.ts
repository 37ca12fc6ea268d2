// The built-in runtime's attach (CRI Attach) against the real kernel: a
// container made with stdin (a pipe its shim holds open), stdinOnce (closed
// when the first stdin client leaves), tty (a terminal from the container's
// devpts, sized by resizes); several clients at once; a new runtime instance
// (a restarted kubelet) attaching to a container an earlier one started; and
// a client that reads nothing dropped without slowing the container; no
// attach socket for a container made with neither; `tsk runtime run -i`
// and `-it`, as docker run's. Each test has its own
// data dir, removed with everything it made by its teardown.

import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import type { AttachStreams, ContainerConfig } from '../kubelet/runtime/runtime';
import { spawn } from 'node:child_process';
import { makeRuntimeEnv, type RuntimeEnv } from './support/runtime-env';
import { runTsk, TSK_BIN, type Run } from './support/run';
import { eventually } from './support/wait';

async function setup(t: { teardown(fn: () => Promise<void>): void }): Promise<RuntimeEnv> {
  const env = await makeRuntimeEnv('tsk-rta-');
  t.teardown(() => env.cleanup());
  return env;
}

let podSeq = 0;
async function run(env: RuntimeEnv, config: Omit<ContainerConfig, 'image'>): Promise<string> {
  const sb = await env.runtime.createSandbox({ name: config.name, namespace: 'test', uid: `${process.pid}-a${++podSeq}-${Date.now()}` });
  const id = await env.runtime.createContainer(sb, { image: env.image, ...config });
  await env.runtime.startContainer(id);
  return id;
}

/** Collects an attach's output as it comes. */
function collect(a: AttachStreams): { out: () => string; err: () => string; ended: Promise<void> } {
  let out = '';
  let err = '';
  a.stdout.on('data', (d: Buffer) => (out += d.toString()));
  a.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ended = Promise.all([new Promise((r) => a.stdout.on('end', r)), new Promise((r) => a.stderr.on('end', r))]).then(() => undefined);
  return { out: () => out, err: () => err, ended };
}

async function logText(env: RuntimeEnv, id: string): Promise<string> {
  let s = '';
  for await (const e of env.runtime.logs(id)) s += `${e.stream[3]} ${e.text}${e.partial ? '' : '\n'}`;
  return s;
}

test.serial('stdin + stdinOnce: input reaches the process, output comes back apart, the client leaving is its EOF', async (t) => {
  const env = await setup(t);
  const id = await run(env, {
    name: 'cat',
    command: ['sh', '-c', 'echo ready; while read l; do echo "got $l"; echo "err $l" >&2; done; echo eof; exit 4'],
    stdin: true,
    stdinOnce: true,
  });
  // Nobody attached yet: the process waits on its stdin, it reads no EOF.
  await eventually(async () => (await logText(env, id)).includes('ready'), 10_000, 'the container is up');
  await new Promise((r) => setTimeout(r, 300));
  t.is((await env.runtime.containerStatus(id)).state, 'running');
  const a = (await env.runtime.attach(id, { stdin: true }))!;
  t.truthy(a.stdin);
  const c = collect(a);
  a.stdin!.write('one\n');
  a.stdin!.write('two\n');
  await eventually(() => c.out() === 'got one\ngot two\n' && c.err() === 'err one\nerr two\n', 10_000, 'the lines echoed');
  a.stdin!.end();
  await c.ended;
  const st = await env.runtime.waitContainer(id);
  t.is(st.exitCode, 4);
  // Each stream in order (the two pipes are read as they come, not interleaved exactly).
  const log = await logText(env, id);
  t.regex(log.replace(/^e .*\n/gm, ''), /o got one\no got two\no eof\n/);
  t.regex(log.replace(/^o .*\n/gm, ''), /^e err one\ne err two\n$/);
});

test.serial('stdin without stdinOnce: clients come and go, their input interleaved, the process never reads EOF', async (t) => {
  const env = await setup(t);
  const id = await run(env, { name: 'many', command: ['sh', '-c', 'while read l; do echo "got $l"; done; echo eof'], stdin: true });
  const a = (await env.runtime.attach(id, { stdin: true }))!;
  const b = (await env.runtime.attach(id, { stdin: true }))!;
  const watcher = (await env.runtime.attach(id, { stdin: false }))!;
  t.is(watcher.stdin, null);
  const ca = collect(a);
  const cw = collect(watcher);
  a.stdin!.write('from-a\n');
  await eventually(() => ca.out().includes('got from-a'), 10_000, 'a echoed');
  b.stdin!.write('from-b\n');
  await eventually(() => ca.out().includes('got from-b') && cw.out() === 'got from-a\ngot from-b\n', 10_000, 'every client sees all output');
  // b's stdin ending and a leaving close nothing: a third client still feeds the process.
  b.stdin!.end();
  a.kill();
  await new Promise((r) => setTimeout(r, 300));
  const c = (await env.runtime.attach(id, { stdin: true }))!;
  const cc = collect(c);
  c.stdin!.write('from-c\n');
  await eventually(() => cc.out() === 'got from-c\n', 10_000, 'c echoed');
  t.is((await env.runtime.containerStatus(id)).state, 'running');
  t.false((await logText(env, id)).includes('eof'));
  c.kill();
  b.kill();
  watcher.kill();
});

test.serial('a restarted runtime attaches to a running container; stdinOnce, once used, gives later clients no stdin', async (t) => {
  const env = await setup(t);
  const id = await run(env, {
    name: 'once',
    command: ['sh', '-c', 'read a; echo "first $a"; read b || echo "eof after $a"; sleep 30'],
    stdin: true,
    stdinOnce: true,
  });
  // A new instance over the same data dir, as a kubelet started again.
  const fresh = new NativeRuntime({ dataDir: env.dataDir, images: env.store });
  const a = (await fresh.attach(id, { stdin: true }))!;
  const ca = collect(a);
  a.stdin!.write('x\n');
  await eventually(() => ca.out() === 'first x\n', 10_000, 'the first line');
  a.kill();
  await ca.ended;
  const b = (await fresh.attach(id, { stdin: true }))!;
  const cb = collect(b);
  b.stdin!.write('ignored\n');
  await eventually(async () => (await logText(env, id)).includes('eof after x'), 10_000, 'EOF once the first client left');
  t.false((await logText(env, id)).includes('ignored'));
  b.kill();
  await cb.ended;
});

test.serial('tty: the process runs on a terminal of the attach size; its output is one stream, logged without "\\r"', async (t) => {
  const env = await setup(t);
  const id = await run(env, {
    name: 'tty',
    command: ['sh', '-c', 'test -t 0 && echo on-a-tty; tty; read size; stty size; echo err-too >&2; exit 7'],
    stdin: true,
    stdinOnce: true,
    tty: true,
  });
  const a = (await env.runtime.attach(id, { stdin: true }))!;
  t.truthy(a.resize);
  const c = collect(a);
  a.resize!(123, 45);
  await new Promise((r) => setTimeout(r, 200));
  a.stdin!.write('go\r');
  await c.ended;
  t.is(c.err(), '');
  t.regex(c.out(), /go\r\n45 123\r\nerr-too\r\n/);
  const st = await env.runtime.waitContainer(id);
  t.is(st.exitCode, 7);
  const log = await logText(env, id);
  t.regex(log, /^o on-a-tty\no \/dev\/pts\/0\n(o .*\n)*o 45 123\no err-too\n/m);
  t.false(log.includes('\r'));
});

test.serial("tty as a user: the terminal is the user's and is /dev/console too", async (t) => {
  const env = await setup(t);
  const id = await run(env, { name: 'ttyuser', command: ['sh', '-c', 'stat -c "%u %g %t" $(tty) /dev/console; id -u'], tty: true, user: 'nobody' });
  const st = await env.runtime.waitContainer(id);
  const log = await logText(env, id);
  t.is(st.exitCode, 0, log);
  // Both the same pts (major 0x88), owned by nobody, group tty (devpts' gid=5).
  t.is(log, 'o 65534 5 88\no 65534 5 88\no 65534\n');
});

test.serial('a client that reads nothing is dropped 1 MiB behind; the container is never slowed and its log keeps everything', async (t) => {
  const env = await setup(t);
  const id = await run(env, { name: 'loud', command: ['sh', '-c', 'read go; yes 0123456789abcdef | head -c 8000000; echo; echo finished'], stdin: true });
  const slow = (await env.runtime.attach(id, { stdin: true }))!;
  // Nobody reads slow's output from here on.
  slow.stdin!.write('go\n');
  const st = await env.runtime.waitContainer(id);
  t.is(st.exitCode, 0);
  let log = 0;
  for await (const e of env.runtime.logs(id)) log += e.text.length + (e.partial ? 0 : 1);
  t.is(log, 8000000 + 1 + 'finished\n'.length);
  // What slow gets is what was queued before it was dropped: far less than the output.
  let got = 0;
  slow.stdout.on('data', (d: Buffer) => (got += d.length));
  await new Promise((r) => slow.stdout.on('end', r));
  t.true(got < 4_000_000, `${got} bytes reached the slow client`);
});

test.serial('a container made without stdin and tty has no attach socket and reads /dev/null', async (t) => {
  const env = await setup(t);
  const id = await run(env, { name: 'plain', command: ['sh', '-c', 'cat; echo done; sleep 30'] });
  await eventually(async () => (await logText(env, id)).includes('done'), 10_000, 'cat read EOF at once');
  t.is(await env.runtime.attach(id, { stdin: true }), undefined);
  t.false(fs.existsSync(path.join(env.dataDir, 'containers', id, 'attach.sock')));
});

test.serial("tsk runtime run -i: our stdin is the container's, its end the container's EOF; -it runs it on a terminal of our size", async (t) => {
  const env = await setup(t);
  const dd = ['--data-dir', env.dataDir];
  const piped = await runTsk(['runtime', 'run', ...dd, '-i', env.image, 'sh', '-c', 'while read l; do echo "got $l"; done; echo eof; exit 3'], {
    stdin: 'one\ntwo\n',
    timeoutMs: 60_000,
  });
  t.is(piped.code, 3, piped.stderr);
  t.is(piped.stdout, 'got one\ngot two\neof\n');
  // Without -i the container reads nothing, as before.
  const closed = await runTsk(['runtime', 'run', ...dd, env.image, 'sh', '-c', 'cat; echo done'], { stdin: 'ignored\n', timeoutMs: 60_000 });
  t.is(closed.stdout, 'done\n');
  const quote = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
  const cmd = [process.execPath, TSK_BIN, 'runtime', 'run', ...dd, '-it', env.image, 'sh', '-c', 'tty; stty size; exit 4'].map(quote).join(' ');
  const onTerminal = await new Promise<Run>((resolve, reject) => {
    const child = spawn('script', ['-qec', `stty cols 77 rows 22; ${cmd}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  t.is(onTerminal.code, 4, onTerminal.stdout + onTerminal.stderr);
  // Node's raw mode (libuv's) keeps ONLCR on our terminal: the container's "\r\n" shows as "\r\r\n", the same on screen.
  t.regex(onTerminal.stdout, /\/dev\/pts\/0\r+\n22 77\r+\n/);
});
