import test from 'ava';
import { parseArgs } from 'node:util';
import { NODE_CONTROLLER_FLAG_HELP, NODE_CONTROLLER_FLAG_SPECS, nodeControllerEntries, parseNodeControllerFlags } from './node-flags';

class Usage extends Error {}
const usage = (m: string): Error => new Usage(m);

function parse(argv: string[]) {
  const { values } = parseArgs({ args: argv, strict: true, options: NODE_CONTROLLER_FLAG_SPECS });
  return parseNodeControllerFlags(values, usage);
}

test("defaults are Kubernetes'", (t) => {
  t.deepEqual(parse([]), {
    endpoints: { updatesBatchPeriodMs: 0 },
    nodeLifecycle: { nodeMonitorGracePeriodMs: 40_000, nodeStartupGracePeriodMs: 60_000, nodeMonitorPeriodMs: 5000 },
    nodeIpam: { allocateNodeCidrs: true, clusterCidr: '10.244.0.0/16', nodeCidrMaskSize: 24 },
    podGc: { terminatedPodThreshold: 12_500 },
  });
});

test('flags set the options', (t) => {
  const o = parse([
    '--node-monitor-grace-period=2s',
    '--node-monitor-period',
    '500ms',
    '--cluster-cidr=10.100.0.0/20',
    '--node-cidr-mask-size=26',
    '--allocate-node-cidrs=false',
    '--terminated-pod-gc-threshold=0',
    '--endpoint-updates-batch-period=500ms',
  ]);
  t.is(o.endpoints.updatesBatchPeriodMs, 500);
  t.is(o.nodeLifecycle.nodeMonitorGracePeriodMs, 2000);
  t.is(o.nodeLifecycle.nodeMonitorPeriodMs, 500);
  t.deepEqual(o.nodeIpam, { allocateNodeCidrs: false, clusterCidr: '10.100.0.0/20', nodeCidrMaskSize: 26 });
  t.is(o.podGc.terminatedPodThreshold, 0);
});

const bad: [string[], RegExp][] = [
  [['--node-monitor-grace-period=40'], /^--node-monitor-grace-period: "40" is not a positive duration/],
  [['--node-monitor-period=0s'], /^--node-monitor-period/],
  [['--allocate-node-cidrs=yes'], /^--allocate-node-cidrs: "yes" must be true or false/],
  [['--cluster-cidr=10.0.0.0'], /^--cluster-cidr: "10.0.0.0" is not an IPv4 CIDR/],
  [['--node-cidr-mask-size=x'], /^--node-cidr-mask-size: "x" must be an integer/],
  [['--node-cidr-mask-size=8'], /^--node-cidr-mask-size: 8 must be between/],
  [['--terminated-pod-gc-threshold=many'], /^--terminated-pod-gc-threshold/],
  [['--endpoint-updates-batch-period=5'], /^--endpoint-updates-batch-period: "5" is not a duration/],
];
for (const [argv, re] of bad) {
  test(`refused, naming the flag: ${argv.join(' ')}`, (t) => {
    const err = t.throws(() => parse(argv), { instanceOf: Usage });
    t.regex(err!.message, re);
  });
}

test('every flag is in the help, and the entries carry the options', (t) => {
  for (const flag of Object.keys(NODE_CONTROLLER_FLAG_SPECS)) t.true(NODE_CONTROLLER_FLAG_HELP.includes(`--${flag} `), flag);
  t.deepEqual(Object.keys(nodeControllerEntries(parse([]))).sort(), ['endpoints', 'nodeipam', 'nodelifecycle', 'podgc']);
});
