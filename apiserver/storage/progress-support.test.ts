import test from 'ava';
import { progressRequestsReliable } from './progress-support';

test('progress requests are trusted from etcd 3.4.31 and 3.5.13 on (etcd#15220), as Kubernetes requires', (t) => {
  for (const v of ['3.4.31', '3.4.35', '3.5.13', '3.5.21', '3.6.0', '4.0.0']) t.true(progressRequestsReliable(v), v);
  for (const v of ['3.4.23', '3.4.30', '3.5.0', '3.5.12', '3.3.27', '', 'unknown']) t.false(progressRequestsReliable(v), v);
});
