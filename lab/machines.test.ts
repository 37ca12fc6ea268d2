import test from 'ava';
import {
  checkHeal,
  checkKill,
  checkPartition,
  checkStart,
  findMachine,
  LabOpError,
  linkCut,
  machineState,
  replaceMachine,
  type MachineRecord,
  type MachineState,
} from './machines';
import { switchPortCommand } from './ops';
import { planLab } from './topology';

function machine(name: string, role: MachineRecord['role'], more: Partial<MachineRecord> = {}): MachineRecord {
  const proc = { what: name, pid: 42, startTime: '1', log: `/l/${name}.log` };
  return { name, role, argv: ['tsk', role], address: '172.30.0.2', log: proc.log, process: proc, killed: false, partitioned: false, ...more };
}

const table = [machine('l-server-1', 'server'), machine('l-node-1', 'agent'), machine('l-node-2', 'agent')];

test('an unknown machine is refused with the list of valid names', (t) => {
  t.is(findMachine(table, 'l-node-2').name, 'l-node-2');
  const err = t.throws(() => findMachine(table, 'node-9'), { instanceOf: LabOpError });
  t.is(err.message, 'unknown machine "node-9"; the lab\'s machines are: l-server-1, l-node-1, l-node-2');
});

test('states: killed, exited on its own, running, partitioned', (t) => {
  const cases: [Partial<MachineRecord>, boolean, MachineState][] = [
    [{}, true, 'running'],
    [{}, false, 'exited'],
    [{ killed: true }, false, 'killed'],
    [{ partitioned: true }, true, 'partitioned'],
    [{ killed: true, partitioned: true }, false, 'killed, partitioned'],
  ];
  for (const [more, running, want] of cases) t.is(machineState(machine('m', 'agent', more), running), want, JSON.stringify(more));
});

test('kill, start, partition and heal refuse a machine already in that state, saying so', (t) => {
  const m = machine('l-node-1', 'agent');
  t.throws(() => checkKill({ ...m, killed: true }, false), { message: 'l-node-1 is already killed; start it with: tsk lab start l-node-1' });
  t.throws(() => checkKill(m, false), { message: /l-node-1 is not running \(it exited; see \/l\/l-node-1.log\)/ });
  t.notThrows(() => checkKill(m, true));
  t.throws(() => checkStart(m, true), { message: 'l-node-1 is already running (pid 42)' });
  t.notThrows(() => checkStart({ ...m, killed: true }, false));
  t.throws(() => checkPartition({ ...m, partitioned: true }), { message: /already partitioned/ });
  t.throws(() => checkHeal(m), { message: 'l-node-1 is not partitioned' });
});

test("a node's link to the server is cut when the node or any server is partitioned", (t) => {
  const node = table[1] as MachineRecord;
  t.false(linkCut(table, node));
  t.true(linkCut(table, { ...node, partitioned: true }));
  const serverCut = replaceMachine(table, { ...(table[0] as MachineRecord), partitioned: true });
  t.true(linkCut(serverCut, node));
  t.is(serverCut.length, 3);
});

test("partition takes the node's port on the lab bridge down, in the switch namespace; a server has no port", (t) => {
  const plan = planLab({ name: 'l', nodes: 2, dataDir: '/d', network: '172.30.0.0/24' });
  t.deepEqual(switchPortCommand(plan, 'l-node-2', true), ['ip', '-n', 'tsk-l-sw', 'link', 'set', 'n2', 'down']);
  t.deepEqual(switchPortCommand(plan, 'l-node-2', false), ['ip', '-n', 'tsk-l-sw', 'link', 'set', 'n2', 'up']);
  t.is(switchPortCommand(plan, 'l-server-1', true), undefined);
});

test('in an HA lab a server has its own port on the lab bridge', (t) => {
  const plan = planLab({ name: 'l', nodes: 1, servers: 3, dataDir: '/d', network: '172.30.0.0/24' });
  t.deepEqual(switchPortCommand(plan, 'l-server-2', true), ['ip', '-n', 'tsk-l-sw', 'link', 'set', 's2', 'down']);
  t.deepEqual(switchPortCommand(plan, 'l-server-2', false), ['ip', '-n', 'tsk-l-sw', 'link', 'set', 's2', 'up']);
});
