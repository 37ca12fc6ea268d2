import test from 'ava';
import { haAgentServerFlags, haRestartArgv, haServerArgv } from './lab';
import { planLab } from './topology';

const plan = planLab({ name: 'h', nodes: 1, servers: 3, dataDir: '/d', network: '172.30.0.0/24' });
const o = { tsk: ['tsk'], name: 'h', nodeMonitorGracePeriod: undefined };

test('HA servers: server-1 starts the cluster, the others join it through server-1; each also listens on its socket', (t) => {
  const [s1, s2] = plan.servers;
  if (!s1 || !s2) return t.fail('no servers planned');
  const a1 = haServerArgv(o, plan, s1, '');
  t.true(a1.includes('--cluster-init'));
  t.false(a1.includes('--server'));
  t.is(a1[a1.indexOf('--address') + 1], '172.30.0.254:6443,unix:/d/lab/h/h-server-1.sock');
  t.is(a1[a1.indexOf('--advertise-address') + 1], '172.30.0.254');
  const a2 = haServerArgv(o, plan, s2, 'K10x::server:y');
  t.false(a2.includes('--cluster-init'));
  t.is(a2[a2.indexOf('--server') + 1], 'https://172.30.0.254:6443');
  t.is(a2[a2.indexOf('--data-dir') + 1], '/d/lab/h/server-2');
  t.is(a2[a2.indexOf('--token') + 1], 'K10x::server:y');
  t.false(a1.includes('--token'));
});

test('HA agents name every server', (t) => {
  t.deepEqual(haAgentServerFlags(plan), [
    '--server',
    'https://172.30.0.254:6443',
    '--server',
    'https://172.30.0.253:6443',
    '--server',
    'https://172.30.0.252:6443',
  ]);
  t.throws(() => haServerArgv(o, planLab({ name: 'h', nodes: 1, dataDir: '/d', network: '172.30.0.0/24' }), { name: 'h-server-1', dataDir: '/d' }, ''), {
    message: /not a server of an HA lab/,
  });
});

test('a joined HA server starts again without --server and --token (it is a member already)', (t) => {
  const s2 = plan.servers[1];
  if (!s2) return t.fail('no server-2 planned');
  const argv = haServerArgv(o, plan, s2, 'K10x::server:y');
  const again = haRestartArgv(argv);
  t.false(again.includes('--server') || again.includes('--token') || again.includes('K10x::server:y') || again.includes('https://172.30.0.254:6443'));
  t.deepEqual(again.slice(0, 4), ['tsk', 'server', '--data-dir', '/d/lab/h/server-2']);
  t.is(again.length, argv.length - 4);
});
