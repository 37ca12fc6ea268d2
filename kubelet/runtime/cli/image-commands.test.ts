import test from 'ava';
import { formatTable, humanAge, humanSize, imageRows } from './image-commands';

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
  const base = { config: { entrypoint: [], cmd: [], env: [], workingDir: '', user: '', exposedPorts: [], labels: {} }, layerDirs: [], size: 1000, created: '2024-01-01T00:00:00Z' };
  const rows = imageRows([
    { ...base, id: `sha256:${'a'.repeat(64)}`, references: ['docker.io/library/busybox:latest', '127.0.0.1:5000/x:v1'] },
    { ...base, id: `sha256:${'b'.repeat(64)}`, references: [] },
    { ...base, id: `sha256:${'c'.repeat(64)}`, references: [`docker.io/library/alpine@sha256:${'d'.repeat(64)}`] },
  ], Date.parse('2026-01-01T00:00:00Z'));
  t.deepEqual(rows.map((r) => r.slice(0, 3)), [
    ['127.0.0.1:5000/x', 'v1', 'aaaaaaaaaaaa'],
    ['alpine', '<none>', 'cccccccccccc'],
    ['busybox', 'latest', 'aaaaaaaaaaaa'],
    ['<none>', '<none>', 'bbbbbbbbbbbb'],
  ]);
  t.is(formatTable(['A', 'BB'], [['xxx', 'y']]), 'A     BB\nxxx   y\n');
});
