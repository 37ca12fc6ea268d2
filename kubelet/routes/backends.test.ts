import test from 'ava';
import type { Node } from '../../api/gen/tsk/v1/core';
import { ConflictError } from '../../api/errors';
import { vxlanBackend } from './backends';
import { backendAnnotations } from './vxlan';

const MAC = '0a:00:00:00:00:01';
const self = (annotations?: Record<string, string>, podCIDR = '10.244.1.0/24'): Node => ({
  metadata: { name: 'n1', resourceVersion: '1', ...(annotations ? { annotations } : {}) },
  spec: { podCIDR },
  status: { addresses: [{ type: 'InternalIP', address: '172.30.0.2' }] },
});

/** A fake `ip` whose tsk.1 exists with MAC and the right parameters, and a fake `bridge` with no FDB entries. */
function tools(calls: string[]) {
  const link = JSON.stringify([{ address: MAC, linkinfo: { info_kind: 'vxlan', info_data: { id: 1, local: '172.30.0.2', port: 8472, learning: false } } }]);
  return {
    ip: async (args: readonly string[]): Promise<string> => {
      calls.push(`ip ${args.join(' ')}`);
      return args.join(' ') === '-j -d link show tsk.1' ? link : args[0] === '-j' ? '[]' : '';
    },
    bridge: async (args: readonly string[]): Promise<string> => {
      calls.push(`bridge ${args.join(' ')}`);
      return args[0] === '-j' ? '[]' : '';
    },
  };
}

test('vxlan: nothing before the node has a pod CIDR', async (t) => {
  const calls: string[] = [];
  const b = vxlanBackend({ ...tools(calls), nodeName: 'n1', nodeIp: '172.30.0.2', nodes: { get: () => t.fail() as never, update: () => t.fail() as never } });
  t.deepEqual(await b.sync([self(undefined, '')]), []);
  t.deepEqual(calls, []);
});

test('vxlan: the VTEP MAC is published on the own Node once, retried on a conflict, and not again when it is there', async (t) => {
  const calls: string[] = [];
  const updates: Node[] = [];
  let conflicts = 1;
  const nodes = {
    get: async () => self({ keep: 'me' }),
    update: async (n: Node) => {
      if (conflicts-- > 0) throw new ConflictError('the object has been modified');
      updates.push(n);
      return n;
    },
  };
  const b = vxlanBackend({ ...tools(calls), nodeName: 'n1', nodeIp: '172.30.0.2', nodes });
  t.deepEqual(await b.sync([self()]), [`published VTEP MAC ${MAC} on node n1`]);
  t.is(updates.length, 1);
  t.deepEqual(updates[0]?.metadata?.annotations, { keep: 'me', ...backendAnnotations(MAC, '172.30.0.2') }, 'other annotations kept');
  t.true(calls.includes('ip addr replace 10.244.1.0/32 dev tsk.1'), 'the VTEP address');
  t.false(
    calls.some((c) => c.startsWith('ip link add')),
    'a right device is kept',
  );
  t.deepEqual(await b.sync([self(backendAnnotations(MAC, '172.30.0.2'))]), [], 'published already: no write');
  t.is(updates.length, 1);
});
