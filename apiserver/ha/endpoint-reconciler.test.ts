import test from 'ava';
import { kubernetesService, kubernetesSubsets } from './endpoint-reconciler';

test('kubernetesSubsets: the servers sorted and once each, on the API port named https; none alive, no subsets', (t) => {
  t.deepEqual(kubernetesSubsets(['10.0.0.3', '10.0.0.1', '10.0.0.3'], 6443), [
    { addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.3' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
  ]);
  t.deepEqual(kubernetesSubsets([], 6443), []);
});

test("kubernetesService: Kubernetes' selectorless default/kubernetes, 443 to the API port", (t) => {
  const s = kubernetesService(6443);
  t.is(s.metadata?.name, 'kubernetes');
  t.is(s.metadata?.namespace, 'default');
  t.is(s.spec?.selector, undefined);
  t.deepEqual(s.spec?.ports, [{ name: 'https', port: 443, protocol: 'TCP', targetPort: { type: 0, intVal: 6443 } }]);
});
