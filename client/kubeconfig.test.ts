import test from 'ava';
import { load } from 'js-yaml';
import { kubeconfigServer, kubeconfigYaml } from './kubeconfig';

test('a kubeconfig with one cluster, user and current context, credentials inline', (t) => {
  const doc = load(kubeconfigYaml({ name: 'default', server: 'https://127.0.0.1:6444', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' }));
  t.deepEqual(doc, {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'default', cluster: { server: 'https://127.0.0.1:6444', 'certificate-authority-data': 'Q0E=' } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } }],
    contexts: [{ name: 'default', context: { cluster: 'default', user: 'admin' } }],
    'current-context': 'default',
    preferences: {},
  });
});

test('a wildcard listen address is reached on loopback', (t) => {
  t.is(kubeconfigServer('0.0.0.0:6444'), 'https://127.0.0.1:6444');
  t.is(kubeconfigServer('10.0.0.1:6444'), 'https://10.0.0.1:6444');
  t.is(kubeconfigServer('[::]:6444'), 'https://[::1]:6444');
});
