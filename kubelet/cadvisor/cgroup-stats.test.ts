import test from 'ava';
import * as path from 'node:path';
import { cgroupDirFiles, readCgroupStats, weightToShares } from './cgroup-stats';

// The fixtures stay in the source tree: dist/kubelet/cadvisor -> kubelet/cadvisor/testdata.
const TESTDATA = path.resolve(__dirname, '../../../kubelet/cadvisor/testdata');

test('cgroup v2: cpu.stat in seconds, working set is usage minus inactive_file, anon and file as rss and cache, limits from memory.max and cpu.max', (t) => {
  const dir = path.join(TESTDATA, 'cgroup-v2/pod/ctr');
  const stats = readCgroupStats(
    2,
    cgroupDirFiles(() => dir),
  );
  t.deepEqual(stats, {
    cpuUsageSeconds: 2.5,
    cpuUserSeconds: 2,
    cpuSystemSeconds: 0.5,
    memoryUsageBytes: 6553600,
    memoryWorkingSetBytes: 6553600 - 1048576,
    memoryRssBytes: 4194304,
    memoryCacheBytes: 2097152,
    memoryLimitBytes: 134217728,
    cpuQuotaUs: 50000,
    cpuPeriodUs: 100000,
    cpuShares: weightToShares(79),
    // The nested leaf's process and threads count with the container's.
    processes: 3,
    threads: 5,
  });
});

test('cgroup v2: "max" limits are reported as 0 (no limit); a pod cgroup counts the processes of the containers below it', (t) => {
  const dir = path.join(TESTDATA, 'cgroup-v2/pod');
  const stats = readCgroupStats(
    2,
    cgroupDirFiles(() => dir),
  );
  t.is(stats.memoryLimitBytes, 0);
  t.is(stats.cpuQuotaUs, 0);
  t.is(stats.cpuPeriodUs, 100000);
  t.is(stats.cpuUsageSeconds, 10 / 1e6);
  t.is(stats.processes, 3);
  t.is(stats.threads, 5);
  t.is(stats.memoryWorkingSetBytes, 0);
});

test('cgroup v1: each controller from its own hierarchy, cpuacct.stat ticks at USER_HZ, hierarchical memory totals, 2^63 limit is 0', (t) => {
  const stats = readCgroupStats(
    1,
    cgroupDirFiles((c) => path.join(TESTDATA, 'cgroup-v1', c, 'ctr')),
  );
  t.deepEqual(stats, {
    cpuUsageSeconds: 1.5,
    cpuUserSeconds: 1.2,
    cpuSystemSeconds: 0.3,
    memoryUsageBytes: 10485760,
    memoryWorkingSetBytes: 10485760 - 2097152,
    memoryRssBytes: 5242880,
    memoryCacheBytes: 3145728,
    memoryLimitBytes: 0,
    cpuQuotaUs: 20000,
    cpuPeriodUs: 100000,
    cpuShares: 256,
    processes: 2,
    threads: 3,
  });
});

test('a cgroup that is gone reads as no stats and no processes, not an error', (t) => {
  const stats = readCgroupStats(
    1,
    cgroupDirFiles(() => path.join(TESTDATA, 'no-such-cgroup')),
  );
  t.deepEqual(stats, { processes: 0, threads: 0 });
});

test('weightToShares inverts the OCI shares-to-weight mapping at its ends', (t) => {
  t.is(weightToShares(1), 2);
  t.is(weightToShares(10000), 262144);
  t.is(weightToShares(100), 2597);
});
