import test from 'ava';
import { currentSchedulerIdentity } from './lab';

test("the scheduler's identity is the last one a server's log names (its current process)", (t) => {
  const log = [
    'tsk server: leader election for kube-system/kube-scheduler as host_aaa',
    'tsk server: leader election for kube-system/kube-controller-manager as host_ccc',
    'tsk server: leader election for kube-system/kube-scheduler as host_bbb',
  ].join('\n');
  t.is(currentSchedulerIdentity(log), 'host_bbb');
  t.is(currentSchedulerIdentity(''), undefined);
});
