import test from 'ava';
import { UsageError } from '../util/flags';
import { leaderElectionFlagHelp, parseLeaderElectionFlags } from './leader-election-flags';

const SCHED = { resourceName: 'kube-scheduler', acceptResourceName: true };

test("Kubernetes' defaults, and the other flags left in order for the component's parser", (t) => {
  const r = parseLeaderElectionFlags(['--server', 'h:1', '--leader-elect', '--token', 'T'], SCHED);
  t.deepEqual(r.config, {
    leaderElect: true,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    resourceName: 'kube-scheduler',
    resourceNamespace: 'kube-system',
  });
  t.deepEqual(r.rest, ['--server', 'h:1', '--token', 'T']);
});

test('every flag, with a value after = or as the next argument', (t) => {
  const r = parseLeaderElectionFlags(
    [
      '--leader-elect=false',
      '--leader-elect-lease-duration',
      '30s',
      '--leader-elect-renew-deadline=20s',
      '--leader-elect-retry-period',
      '500ms',
      '--leader-elect-resource-name=my-scheduler',
      '--leader-elect-resource-namespace',
      'infra',
    ],
    SCHED,
  );
  t.deepEqual(r.config, {
    leaderElect: false,
    leaseDurationMs: 30_000,
    renewDeadlineMs: 20_000,
    retryPeriodMs: 500,
    resourceName: 'my-scheduler',
    resourceNamespace: 'infra',
  });
  t.deepEqual(r.rest, []);
  t.true(parseLeaderElectionFlags(['--leader-elect=true'], SCHED).config.leaderElect);
});

test('bad values name the flag; the durations keep client-go rules', (t) => {
  const bad = (argv: string[], message: string): void => {
    t.is(t.throws(() => parseLeaderElectionFlags(argv, SCHED), { instanceOf: UsageError })?.message, message);
  };
  bad(['--leader-elect=yes'], '--leader-elect: "yes" must be true or false');
  bad(['--leader-elect-lease-duration', 'soon'], '--leader-elect-lease-duration: "soon" is not a duration such as 15s, 10s or 2s');
  bad(['--leader-elect-retry-period=0'], '--leader-elect-retry-period: "0" must be more than zero');
  bad(['--leader-elect-renew-deadline=15s'], '--leader-elect-lease-duration (15s) must be greater than --leader-elect-renew-deadline (15s)');
  bad(['--leader-elect-retry-period=9s'], '--leader-elect-renew-deadline (10s) must be greater than 1.2 x --leader-elect-retry-period (9s)');
  bad(['--leader-elect-resource-namespace='], '--leader-elect-resource-namespace: must not be empty');
  bad(['--leader-elect-retry-period'], '--leader-elect-retry-period: a value is required');
  // Without leader election the durations are not used, so not checked against each other.
  t.false(parseLeaderElectionFlags(['--leader-elect=false', '--leader-elect-renew-deadline=20s'], SCHED).config.leaderElect);
});

test('tsk server takes no resource name (two Leases of fixed names): the flag is left for its parser to refuse', (t) => {
  const r = parseLeaderElectionFlags(['--leader-elect-resource-name=x'], { resourceName: 'kube-controller-manager', acceptResourceName: false });
  t.deepEqual(r.rest, ['--leader-elect-resource-name=x']);
  t.notRegex(leaderElectionFlagHelp({ resourceName: 'x', acceptResourceName: false }), /resource-name NAME/);
  t.regex(leaderElectionFlagHelp(SCHED, 30), /--leader-elect-resource-name NAME\n {30}the Lease's name \(default kube-scheduler\)/);
});
