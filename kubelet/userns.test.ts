import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_NODE_RANGE,
  IDS_PER_POD,
  nodeRange,
  parseRecord,
  renderRecord,
  USERNS_FILE,
  UserNamespaceAllocator,
  userNamespaceSupportProblem,
} from './userns';

function podsDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-userns-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('pods get disjoint 65536-ID slots of the node range, lowest free first', (t) => {
  const a = new UserNamespaceAllocator(podsDir(t), { hostId: 65536, length: 3 * IDS_PER_POD });
  t.deepEqual(a.allocate('pod-a'), { hostId: 65536, length: 65536 });
  t.deepEqual(a.allocate('pod-b'), { hostId: 131072, length: 65536 });
  t.deepEqual(a.allocate('pod-a'), { hostId: 65536, length: 65536 }, 'a pod keeps its slot');
});

test('the ranges are kept in the pod directories: a new allocator (a restarted kubelet) gives each pod its own back', (t) => {
  const dir = podsDir(t);
  const range = { hostId: 65536, length: 4 * IDS_PER_POD };
  const first = new UserNamespaceAllocator(dir, range);
  const a = first.allocate('pod-a');
  const b = first.allocate('pod-b');
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'pod-b', USERNS_FILE), 'utf8')), {
    uidMappings: [{ hostId: b.hostId, containerId: 0, length: 65536 }],
    gidMappings: [{ hostId: b.hostId, containerId: 0, length: 65536 }],
  });
  const again = new UserNamespaceAllocator(dir, range);
  t.deepEqual(again.allocate('pod-b'), b);
  t.deepEqual(again.allocate('pod-a'), a);
  t.notDeepEqual(again.allocate('pod-c'), a);
  // A removed pod directory frees its slot.
  fs.rmSync(path.join(dir, 'pod-a'), { recursive: true });
  t.deepEqual(again.allocate('pod-d'), a);
});

test('an exhausted node range is an error with Kubernetes message; a record outside the range is replaced', (t) => {
  const dir = podsDir(t);
  const a = new UserNamespaceAllocator(dir, { hostId: 65536, length: IDS_PER_POD });
  a.allocate('pod-a');
  t.throws(() => a.allocate('pod-b'), { message: 'could not find an empty slot to allocate a user namespace' });
  fs.mkdirSync(path.join(dir, 'pod-c'));
  fs.writeFileSync(path.join(dir, 'pod-c', USERNS_FILE), renderRecord({ hostId: 10 * IDS_PER_POD, length: IDS_PER_POD }));
  fs.rmSync(path.join(dir, 'pod-a'), { recursive: true });
  t.deepEqual(a.allocate('pod-c'), { hostId: 65536, length: 65536 });
});

test('records that are not one range of 65536 IDs are not trusted', (t) => {
  t.is(parseRecord('not json'), undefined);
  t.is(parseRecord('{}'), undefined);
  const m = (hostId: number, length = 65536): object => ({ hostId, containerId: 0, length });
  t.is(parseRecord(JSON.stringify({ uidMappings: [m(65536)], gidMappings: [m(131072)] })), undefined);
  t.is(parseRecord(JSON.stringify({ uidMappings: [m(65536, 10)], gidMappings: [m(65536, 10)] })), undefined);
  t.deepEqual(parseRecord(renderRecord({ hostId: 65536, length: 65536 })), { hostId: 65536, length: 65536 });
});

test("the node range: the kubelet user's subordinate IDs, else 65536 up to 2^32", (t) => {
  t.deepEqual(nodeRange(undefined, undefined), DEFAULT_NODE_RANGE);
  t.deepEqual(nodeRange('alice:100000:65536\n', 'alice:100000:65536\n'), DEFAULT_NODE_RANGE);
  t.deepEqual(nodeRange('kubelet:65536:7208960\n', 'kubelet:65536:7208960\n'), { hostId: 65536, length: 7208960 });
  t.throws(() => nodeRange('kubelet:100000:65536\n', 'kubelet:100000:65536\n'), { message: /must start at a multiple of 65536/ });
  t.throws(() => nodeRange('kubelet:65536:1000\n', 'kubelet:65536:1000\n'), { message: /must be a multiple of 65536/ });
  t.throws(() => nodeRange('kubelet:65536:65536\n', undefined), { message: /must be the same range/ });
  t.throws(() => nodeRange('kubelet:0:65536\n', 'kubelet:0:65536\n'), { message: /root/ });
});

test('a node that cannot idmap overlayfs layers, or has user namespaces switched off, says why', (t) => {
  t.is(userNamespaceSupportProblem('6.18.44-fc-v1272', '63432\n'), undefined);
  t.is(userNamespaceSupportProblem('5.19.0', undefined), undefined);
  t.is(
    userNamespaceSupportProblem('5.15.0-91-generic', '1000'),
    'Linux 5.19 or later is needed for idmapped overlayfs layers, this node runs 5.15.0-91-generic',
  );
  t.is(userNamespaceSupportProblem('6.1.0', '0\n'), 'user namespaces are switched off (user.max_user_namespaces is 0)');
});
