import test from 'ava';
import { formatTable, humanAge, humanSize, imageRows, ProgressView, runImageCommand } from './image-commands';

test('sizes in decimal units like docker', (t) => {
  t.is(humanSize(999), '999B');
  t.is(humanSize(2_131_456), '2.13MB');
  t.is(humanSize(45_600_000), '45.6MB');
  t.is(humanSize(1_234_000_000), '1.23GB');
});

test('ages like docker', (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.is(humanAge('2024-01-01T00:00:00Z', now), '2 years ago');
  t.is(humanAge('2025-12-31T23:00:00Z', now), 'An hour ago');
  t.is(humanAge('2025-12-31T23:59:30Z', now), '30 seconds ago');
  t.is(humanAge('', now), 'N/A');
});

test('one row per reference, <none> for untagged', (t) => {
  const base = {
    config: { entrypoint: [], cmd: [], env: [], workingDir: '', user: '', exposedPorts: [], labels: {} },
    layerDirs: [],
    size: 1000,
    created: '2024-01-01T00:00:00Z',
  };
  const rows = imageRows(
    [
      { ...base, id: `sha256:${'a'.repeat(64)}`, references: ['docker.io/library/busybox:latest', '127.0.0.1:5000/x:v1'] },
      { ...base, id: `sha256:${'b'.repeat(64)}`, references: [] },
      { ...base, id: `sha256:${'c'.repeat(64)}`, references: [`docker.io/library/alpine@sha256:${'d'.repeat(64)}`] },
    ],
    Date.parse('2026-01-01T00:00:00Z'),
  );
  t.deepEqual(
    rows.map((r) => r.slice(0, 3)),
    [
      ['127.0.0.1:5000/x', 'v1', 'aaaaaaaaaaaa'],
      ['alpine', '<none>', 'cccccccccccc'],
      ['busybox', 'latest', 'aaaaaaaaaaaa'],
      ['<none>', '<none>', 'bbbbbbbbbbbb'],
    ],
  );
  t.is(formatTable(['A', 'BB'], [['xxx', 'y']]), 'A     BB\nxxx   y\n');
});

test('usage errors exit 2 without touching the data dir', async (t) => {
  const err: string[] = [];
  const io = {
    out: () => {},
    err: (s: string) => {
      err.push(s);
    },
    tty: false,
    now: () => 0,
  };
  t.is(await runImageCommand('pull', [], '/nonexistent/tsk-data', io), 2);
  t.regex(err.join(''), /missing image reference/);
  t.is(await runImageCommand('pull', ['--username', 'u', 'busybox'], '/nonexistent/tsk-data', io), 2);
  t.regex(err.join(''), /--username and --password go together/);
  t.is(await runImageCommand('images', ['extra'], '/nonexistent/tsk-data', io), 2);
  t.is(await runImageCommand('rmi', [], '/nonexistent/tsk-data', io), 2);
  t.is(await runImageCommand('import', ['a', 'b'], '/nonexistent/tsk-data', io), 2);
});

test('on a TTY, progress redraws one line per layer in place', (t) => {
  let now = 0;
  const err: string[] = [];
  const view = new ProgressView({
    out: () => {},
    err: (s) => {
      err.push(s);
    },
    tty: true,
    now: () => now,
  });
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  view.update({ digest: a, phase: 'waiting', bytesDone: 0, bytesTotal: 2_000_000 });
  view.update({ digest: b, phase: 'done', bytesDone: 10, bytesTotal: 10, cached: true });
  now = 500;
  view.update({ digest: a, phase: 'downloading', bytesDone: 1_000_000, bytesTotal: 2_000_000 });
  now = 510;
  view.update({ digest: a, phase: 'downloading', bytesDone: 1_100_000, bytesTotal: 2_000_000 }); // throttled
  const last = err.at(-1) ?? '';
  t.is(err.length, 3);
  t.true(last.startsWith('\x1b[2A'));
  t.true(last.includes('aaaaaaaaaaaa: Downloading 1.00MB/2.00MB'));
  t.true(last.includes('bbbbbbbbbbbb: Already exists'));
});
