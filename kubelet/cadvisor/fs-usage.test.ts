import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deviceNumber, diskUsage, DiskUsageCache, mountSourceOf } from './fs-usage';

const MOUNTINFO = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
35 22 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 22 259:3 / /var/lib/tsk rw,relatime - xfs /dev/nvme0n1p3 rw
`;

test('mountSourceOf finds the mount source of a MAJOR:MINOR; none gives ""', (t) => {
  t.is(mountSourceOf(MOUNTINFO, '8:1'), '/dev/sda1');
  t.is(mountSourceOf(MOUNTINFO, '259:3'), '/dev/nvme0n1p3');
  t.is(mountSourceOf(MOUNTINFO, '9:9'), '');
});

test('deviceNumber decodes st_dev as Linux encodes it', (t) => {
  t.is(deviceNumber(0x801), '8:1');
  t.is(deviceNumber((259 << 8) | 3), '259:3');
  // Minor numbers above 255 go to bits 20 and up.
  t.is(deviceNumber((0x12 << 20) | (8 << 8) | 0x34), '8:4660');
});

test('diskUsage counts allocated blocks of files and directories, hard links once, and a missing dir as 0', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-du-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'big'), Buffer.alloc(256 * 1024, 1));
  const before = await diskUsage(dir);
  t.true(before >= 256 * 1024, `${before}`);
  fs.linkSync(path.join(dir, 'sub', 'big'), path.join(dir, 'link'));
  const after = await diskUsage(dir);
  t.true(after - before < 64 * 1024, `a hard link adds no data blocks: ${before} -> ${after}`);
  t.is(await diskUsage(path.join(dir, 'gone')), 0);
});

test('DiskUsageCache walks a directory at most once per period, then again', async (t) => {
  let now = 0;
  const walks: string[] = [];
  const cache = new DiskUsageCache(
    10_000,
    () => now,
    async (dir) => {
      walks.push(dir);
      return walks.length * 100;
    },
  );
  t.is(await cache.usage('/a'), 100);
  now = 9_999;
  t.is(await cache.usage('/a'), 100);
  t.is(await cache.usage('/b'), 200);
  now = 10_000;
  t.is(await cache.usage('/a'), 300);
  t.deepEqual(walks, ['/a', '/b', '/a']);
});
