import test from 'ava';
import { DEFAULT_HTTP_ADDRESS, FLAG_HELP, UsageError, parseFlags } from './flags';

test('defaults', (t) => {
  t.deepEqual(parseFlags([]), {
    server: undefined,
    kubeconfig: undefined,
    httpAddress: '127.0.0.1:10259',
    token: undefined,
    dataDir: '/var/lib/tsk',
    leaderElection: {
      leaderElect: true,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      resourceName: 'kube-scheduler',
      resourceNamespace: 'kube-system',
    },
    percentageOfNodesToScore: 0,
    help: false,
  });
  t.like(parseFlags(['--token', 'T', '--data-dir', '/srv/tsk']), { token: 'T', dataDir: '/srv/tsk' });
  t.is(DEFAULT_HTTP_ADDRESS, '127.0.0.1:10259');
});

test('every flag', (t) => {
  t.like(parseFlags(['--server', '127.0.0.1:7000', '--kubeconfig', '/etc/tsk/scheduler.conf', '--http-address', '0.0.0.0:0']), {
    server: '127.0.0.1:7000',
    kubeconfig: '/etc/tsk/scheduler.conf',
    httpAddress: '0.0.0.0:0',
    help: false,
  });
  t.is(parseFlags(['--server=unix:/run/tsk/api.sock']).server, 'unix:/run/tsk/api.sock');
  t.true(parseFlags(['-h']).help);
  t.true(parseFlags(['--help']).help);
});

const bad: [string[], RegExp][] = [
  [['--server', 'localhost'], /--server: "localhost" is not HOST:PORT/],
  [['--server', 'unix:relative.sock'], /--server: .* must be unix:\/ABSOLUTE\/PATH/],
  [['--http-address', 'nope'], /--http-address: "nope" is not HOST:PORT/],
  [['--http-address', '1.2.3.4:70000'], /--http-address/],
  [['--bogus'], /bogus/],
  [['extra'], /extra/],
];

for (const [argv, message] of bad) {
  test(`rejects ${argv.join(' ')}`, (t) => {
    const err = t.throws(() => parseFlags(argv), { instanceOf: UsageError });
    t.regex(err?.message ?? '', message);
  });
}

test('help lists every flag with its default', (t) => {
  for (const flag of ['--server', '--http-address', '-h, --help', '127.0.0.1:10259', '127.0.0.1:6443']) t.true(FLAG_HELP.includes(flag), flag);
});

test('--percentage-of-nodes-to-score: 0..100, refused otherwise naming the flag', (t) => {
  t.is(parseFlags(['--percentage-of-nodes-to-score', '30']).percentageOfNodesToScore, 30);
  t.is(parseFlags(['--percentage-of-nodes-to-score', '100']).percentageOfNodesToScore, 100);
  t.throws(() => parseFlags(['--percentage-of-nodes-to-score', '101']), {
    instanceOf: UsageError,
    message: '--percentage-of-nodes-to-score: not in valid range [0-100]: 101',
  });
  t.throws(() => parseFlags(['--percentage-of-nodes-to-score', 'half']), {
    instanceOf: UsageError,
    message: '--percentage-of-nodes-to-score: not an integer: "half"',
  });
});
