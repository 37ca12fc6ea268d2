import test from 'ava';
import { SERVER_HELP, parseServerFlags, splitServerArgv } from './server-flags';

test('each flag goes to the component that owns it, with its value', (t) => {
  t.deepEqual(
    splitServerArgv([
      '--data-dir',
      '/d',
      '--cluster-cidr',
      '10.200.0.0/16',
      '--controllers=*,-podgc',
      '--address',
      'unix:/s',
      '--node-monitor-grace-period',
      '20s',
    ]),
    {
      api: ['--data-dir', '/d', '--address', 'unix:/s'],
      controllers: ['--cluster-cidr', '10.200.0.0/16', '--controllers=*,-podgc', '--node-monitor-grace-period', '20s'],
    },
  );
});

test("the parsed flags keep both components' defaults and validation", (t) => {
  const f = parseServerFlags(['--data-dir', '/d', '--controllers', '*,-podgc', '--cluster-cidr', '10.200.0.0/16']);
  t.is(f.api.dataDir, '/d');
  t.is(f.api.address, '127.0.0.1:6443');
  t.false(f.controllers.controllers.includes('podgc'));
  t.true(f.controllers.controllers.includes('replicationcontroller'));
  t.is(f.controllers.nodeControllers.nodeIpam.clusterCidr, '10.200.0.0/16');
  t.throws(() => parseServerFlags(['--controllers', 'nosuch']), { message: /unknown controller "nosuch"|nosuch/ });
  t.throws(() => parseServerFlags(['--cluster-cidr', 'x']), { message: /--cluster-cidr/ });
  t.throws(() => parseServerFlags(['--address', 'nowhere']), { message: /--address/ });
  t.throws(() => parseServerFlags(['--bogus']), { message: /bogus/ });
  t.true(parseServerFlags(['-h']).help);
  t.regex(SERVER_HELP, /--etcd-servers/);
  t.regex(SERVER_HELP, /--cluster-cidr/);
});

test('tsk server --disable servicelb, as k3s', (t) => {
  t.true(parseServerFlags(['--data-dir', '/d']).controllers.controllers.includes('servicelb'));
  const f = parseServerFlags(['--disable', 'servicelb', '--data-dir', '/d']);
  t.false(f.controllers.controllers.includes('servicelb'));
  t.true(f.controllers.controllers.includes('endpoints'));
  t.is(f.api.dataDir, '/d');
  t.regex(SERVER_HELP, /--disable LIST/);
});

test('tsk server elects two Leases of fixed names with one set of --leader-elect flags', (t) => {
  const f = parseServerFlags(['--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period=1s', '--data-dir', '/d']);
  t.is(f.api.dataDir, '/d');
  t.like(f.scheduler, {
    leaderElect: true,
    resourceName: 'kube-scheduler',
    resourceNamespace: 'kube-system',
    leaseDurationMs: 4_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 1_000,
  });
  t.like(f.controllerManager, { leaderElect: true, resourceName: 'kube-controller-manager', leaseDurationMs: 4_000 });
  t.false(parseServerFlags(['--leader-elect=false']).scheduler.leaderElect);
  t.throws(() => parseServerFlags(['--leader-elect-resource-name=x']), { message: /leader-elect-resource-name/ });
  t.regex(SERVER_HELP, /--leader-elect-retry-period/);
});

test("tsk server passes --percentage-of-nodes-to-score to its scheduler, with tsk scheduler's validation", (t) => {
  t.is(parseServerFlags(['--data-dir', '/d']).percentageOfNodesToScore, 0);
  const f = parseServerFlags(['--percentage-of-nodes-to-score', '30', '--data-dir', '/d']);
  t.is(f.percentageOfNodesToScore, 30);
  t.is(f.api.dataDir, '/d');
  t.is(parseServerFlags(['--percentage-of-nodes-to-score=100']).percentageOfNodesToScore, 100);
  t.throws(() => parseServerFlags(['--percentage-of-nodes-to-score', '101']), { message: '--percentage-of-nodes-to-score: not in valid range [0-100]: 101' });
  t.throws(() => parseServerFlags(['--percentage-of-nodes-to-score', 'half']), { message: '--percentage-of-nodes-to-score: not an integer: "half"' });
  t.regex(SERVER_HELP, /--percentage-of-nodes-to-score N/);
});

test('tsk server --components-thread: true by default, false runs the components on the API server loop, anything else refused', (t) => {
  t.true(parseServerFlags(['--data-dir', '/d']).componentsThread);
  t.false(parseServerFlags(['--components-thread=false', '--data-dir', '/d']).componentsThread);
  t.false(parseServerFlags(['--components-thread', 'false', '--data-dir', '/d']).componentsThread);
  t.throws(() => parseServerFlags(['--components-thread', 'maybe']), { message: /--components-thread: "maybe" must be true or false/ });
  t.regex(SERVER_HELP, /--components-thread BOOL/);
});
