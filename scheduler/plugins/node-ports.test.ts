import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { ERR_REASON_NODE_PORTS, nodePorts } from './node-ports';

type P = { port: number; protocol?: string; ip?: string };
const cases: { name: string; used: P[]; wanted: P[]; want: string }[] = [
  { name: 'no host ports', used: [{ port: 80 }], wanted: [], want: 'Success' },
  { name: 'free port', used: [{ port: 80 }], wanted: [{ port: 8080 }], want: 'Success' },
  { name: 'same port and protocol', used: [{ port: 80 }], wanted: [{ port: 80 }], want: 'Unschedulable' },
  { name: 'same port, other protocol', used: [{ port: 53, protocol: 'UDP' }], wanted: [{ port: 53, protocol: 'TCP' }], want: 'Success' },
  { name: 'same port, distinct host IPs', used: [{ port: 80, ip: '127.0.0.1' }], wanted: [{ port: 80, ip: '127.0.0.2' }], want: 'Success' },
  { name: 'same port, one on every address', used: [{ port: 80, ip: '127.0.0.1' }], wanted: [{ port: 80 }], want: 'Unschedulable' },
  { name: 'same port, same host IP', used: [{ port: 80, ip: '127.0.0.1' }], wanted: [{ port: 80, ip: '127.0.0.1' }], want: 'Unschedulable' },
];

for (const c of cases) {
  test(`NodePorts: ${c.name}`, (t) => {
    const node = info(makeNode('n'), [makePod('existing', { nodeName: 'n', hostPorts: c.used })]);
    const s = nodePorts.filter(podInfo(makePod('p', { hostPorts: c.wanted })), node);
    t.is<string, string>(s.code, c.want);
    if (c.want !== 'Success') t.deepEqual(s.reasons, [ERR_REASON_NODE_PORTS]);
  });
}
