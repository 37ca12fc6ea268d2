import test from 'ava';
import type { ControllerTable } from './registry';
import { UsageError, flagHelp, parseFlags, selectControllers } from './flags';
import { main } from './main';

const factory = (): never => {
  throw new Error('not built in this test');
};
const table: ControllerTable = {
  replicationcontroller: { factory, workers: 5 },
  garbagecollector: { factory, workers: 20 },
  bootstrapsigner: { factory, workers: 1, disabledByDefault: true },
};

const selections: [string, string[]][] = [
  ['*', ['replicationcontroller', 'garbagecollector']],
  ['*,-garbagecollector', ['replicationcontroller']],
  ['garbagecollector', ['garbagecollector']],
  ['*,bootstrapsigner', ['replicationcontroller', 'garbagecollector', 'bootstrapsigner']],
  ['-replicationcontroller', []],
  ['-garbagecollector,*', ['replicationcontroller']],
];
for (const [flag, want] of selections) {
  test(`--controllers=${flag}`, (t) => {
    t.deepEqual(selectControllers(flag.split(','), table), want);
  });
}

test('an unknown controller is a usage error listing the known ones', (t) => {
  const err = t.throws(() => selectControllers(['*', '-nosuch'], table), { instanceOf: UsageError });
  t.regex(err?.message ?? '', /--controllers: "nosuch" is not a known controller; known controllers: bootstrapsigner, garbagecollector, replicationcontroller/);
});

test('--disable leaves controllers out whatever --controllers says (k3s --disable servicelb); unknown names are refused', (t) => {
  t.deepEqual(parseFlags(['--disable', 'garbagecollector'], table).controllers, ['replicationcontroller']);
  t.deepEqual(parseFlags(['--controllers', '*,garbagecollector', '--disable=garbagecollector,replicationcontroller'], table).controllers, []);
  t.throws(() => parseFlags(['--disable', 'traefik'], table), { instanceOf: UsageError, message: /--disable: "traefik" is not a known controller/ });
  t.true(parseFlags([]).controllers.includes('servicelb'));
  t.false(parseFlags(['--disable', 'servicelb']).controllers.includes('servicelb'));
});

test('defaults: HTTP address 10257, every default controller, no worker overrides', (t) => {
  const f = parseFlags([], table);
  t.is(f.httpAddress, '127.0.0.1:10257');
  t.is(f.server, undefined);
  t.deepEqual(f.controllers, ['replicationcontroller', 'garbagecollector']);
  t.deepEqual(f.workers, {});
});

test('--workers sets every controller; --concurrent-rc-syncs wins for its own', (t) => {
  const f = parseFlags(['--workers', '2', '--concurrent-rc-syncs=7', '--server', 'unix:/run/tsk.sock'], table);
  t.deepEqual(f.workers, { replicationcontroller: 7, garbagecollector: 2 });
  t.is(f.server, 'unix:/run/tsk.sock');
});

const bad: [string[], RegExp][] = [
  [['--concurrent-rc-syncs', '0'], /--concurrent-rc-syncs: "0" must be a positive integer/],
  [['--workers', 'many'], /--workers: "many" must be a positive integer/],
  [['--http-address', 'localhost'], /--http-address: "localhost" is not HOST:PORT/],
  [['--server', 'unix:relative.sock'], /--server: "unix:relative.sock" must be unix:\/ABSOLUTE\/PATH/],
  [['--bogus'], /bogus/],
];
for (const [argv, re] of bad) {
  test(`usage error: ${argv.join(' ')}`, (t) => {
    const err = t.throws(() => parseFlags(argv, table), { instanceOf: UsageError });
    t.regex(err?.message ?? '', re);
  });
}

test('the real table: every controller by default, the node controllers built with their flags', (t) => {
  const f = parseFlags(['--terminated-pod-gc-threshold', '50', '--concurrent-endpoint-syncs', '3']);
  t.deepEqual([...f.controllers].sort(), ['endpoints', 'garbagecollector', 'nodeipam', 'nodelifecycle', 'podgc', 'replicationcontroller', 'servicelb']);
  t.is(f.nodeControllers.podGc.terminatedPodThreshold, 50);
  t.deepEqual(f.workers, { endpoints: 3 });
  t.truthy(f.table['nodelifecycle']);
});

test('a bad node controller flag is a usage error naming it', (t) => {
  const err = t.throws(() => parseFlags(['--node-monitor-grace-period', 'soon']), { instanceOf: UsageError });
  t.regex(err?.message ?? '', /--node-monitor-grace-period: "soon"/);
});

test('help lists every flag with its default', (t) => {
  const help = flagHelp();
  for (const flag of [
    '--server',
    '--http-address',
    '--controllers',
    '--concurrent-rc-syncs',
    '--concurrent-gc-syncs',
    '--workers',
    '--cluster-cidr',
    '-h, --help',
  ]) {
    t.true(help.includes(flag), flag);
  }
  t.regex(help, /default 127\.0\.0\.1:10257/);
  t.regex(help, /Known: endpoints, garbagecollector, nodeipam, nodelifecycle, podgc, replicationcontroller/);
});

test('main: --help exits 0, a usage error exits 2 without connecting anywhere', async (t) => {
  const out: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (s: string) => out.push(s);
  console.error = (s: string) => out.push(s);
  try {
    t.is(await main(['--help']), 0);
    t.is(await main(['--controllers', 'replicationcontroller,nosuch']), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
  t.regex(out.join('\n'), /Usage: tsk controller-manager/);
  t.regex(out.join('\n'), /--controllers: "nosuch" is not a known controller/);
});
