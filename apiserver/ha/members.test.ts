import test from 'ava';
import { initialCluster, joinDecision, toMember, type Member } from './members';

const started: Member[] = [
  { id: '1', name: 'a-1', peerUrls: ['https://10.0.0.1:2380'] },
  { id: '2', name: 'b-2', peerUrls: ['https://10.0.0.2:2380'] },
];

test('initialCluster: every member NAME=URL, the joiner under its own name (etcdctl member add)', (t) => {
  const members = [...started, { id: '3', name: '', peerUrls: ['https://10.0.0.3:2380'] }];
  t.deepEqual(initialCluster(members, '3', 'c-3'), ['a-1=https://10.0.0.1:2380', 'b-2=https://10.0.0.2:2380', 'c-3=https://10.0.0.3:2380']);
});

test('joinDecision: a new member is added, an unstarted entry of its URL reused, a started one or a taken name refused', (t) => {
  t.deepEqual(joinDecision(started, 'c-3', 'https://10.0.0.3:2380'), { kind: 'add' });
  t.deepEqual(joinDecision([...started, { id: '9', name: '', peerUrls: ['https://10.0.0.3:2380'] }], 'c-3', 'https://10.0.0.3:2380'), {
    kind: 'reuse',
    id: '9',
  });
  const again = joinDecision(started, 'b-2', 'https://10.0.0.2:2380');
  t.is(again.kind, 'refuse');
  t.regex(again.kind === 'refuse' ? again.reason : '', /already in the cluster.*etcdctl member remove 2/);
  const urlTaken = joinDecision(started, 'c-3', 'https://10.0.0.2:2380');
  t.regex(urlTaken.kind === 'refuse' ? urlTaken.reason : '', /belongs to etcd member b-2/);
  const nameTaken = joinDecision(started, 'a-1', 'https://10.0.0.9:2380');
  t.regex(nameTaken.kind === 'refuse' ? nameTaken.reason : '', /named a-1 is already/);
});

test('toMember: the etcd3 member as tsk reads it; an unstarted member has no name', (t) => {
  t.deepEqual(toMember({ ID: '12', name: '', peerURLs: ['https://x:2380'], clientURLs: [], isLearner: false }), {
    id: '12',
    name: '',
    peerUrls: ['https://x:2380'],
  });
});
