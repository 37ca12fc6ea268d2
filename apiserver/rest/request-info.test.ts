import test from 'ava';
import { kindOfResource, parseResourcePath } from './request-info';

test('core paths: collection, object, subresource, across namespaces', (t) => {
  t.deepEqual(parseResourcePath('/api/v1/namespaces/demo/pods'), { group: '', version: 'v1', namespace: 'demo', resource: 'pods', name: '', subresource: '' });
  t.deepEqual(parseResourcePath('/api/v1/namespaces/demo/pods/web-1/log'), {
    group: '',
    version: 'v1',
    namespace: 'demo',
    resource: 'pods',
    name: 'web-1',
    subresource: 'log',
  });
  t.deepEqual(parseResourcePath('/api/v1/pods'), { group: '', version: 'v1', namespace: '', resource: 'pods', name: '', subresource: '' });
  t.deepEqual(parseResourcePath('/api/v1/nodes/n1/status'), { group: '', version: 'v1', namespace: '', resource: 'nodes', name: 'n1', subresource: 'status' });
});

test('namespaces: the object, its status, and resources inside it', (t) => {
  t.like(parseResourcePath('/api/v1/namespaces/demo'), { resource: 'namespaces', name: 'demo', namespace: '' });
  t.like(parseResourcePath('/api/v1/namespaces/demo/status'), { resource: 'namespaces', name: 'demo', subresource: 'status', namespace: '' });
  t.like(parseResourcePath('/api/v1/namespaces/demo/configmaps/c'), { resource: 'configmaps', name: 'c', namespace: 'demo' });
});

test('named groups, escaped names, and paths that are not resources', (t) => {
  t.deepEqual(parseResourcePath('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler'), {
    group: 'coordination.k8s.io',
    version: 'v1',
    namespace: 'kube-system',
    resource: 'leases',
    name: 'kube-scheduler',
    subresource: '',
  });
  t.like(parseResourcePath('/api/v1/namespaces/default/configmaps/a%3Ab'), { name: 'a:b' });
  t.is(parseResourcePath('/api/v1'), undefined);
  t.is(parseResourcePath('/apis/coordination.k8s.io/v1'), undefined);
  t.is(parseResourcePath('/version'), undefined);
  t.is(parseResourcePath('/api/v1/namespaces/d/pods/p/log/extra'), undefined);
});

test('kinds by group, version and plural', (t) => {
  t.is(kindOfResource('', 'v1', 'pods'), 'Pod');
  t.is(kindOfResource('coordination.k8s.io', 'v1', 'leases'), 'Lease');
  t.is(kindOfResource('', 'v1', 'leases'), undefined);
  t.is(kindOfResource('', 'v1', 'widgets'), undefined);
});
