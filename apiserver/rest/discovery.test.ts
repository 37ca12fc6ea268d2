import test from 'ava';
import { coreVersions, groupList, groupOf, resourceList, versionDocument } from './discovery';

type Resource = {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  group?: string;
  version?: string;
};

function resources(group: string, version: string): Map<string, Resource> {
  const list = resourceList(group, version) as { resources: Resource[] } | undefined;
  return new Map((list?.resources ?? []).map((r) => [r.name, r]));
}

test('/api/v1 lists the core kinds as Kubernetes does', (t) => {
  const core = resources('', 'v1');
  t.deepEqual(core.get('pods'), {
    name: 'pods',
    singularName: 'pod',
    namespaced: true,
    kind: 'Pod',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['po'],
    categories: ['all'],
  });
  t.deepEqual(core.get('nodes')?.namespaced, false);
  t.deepEqual(core.get('namespaces')?.verbs, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
  t.deepEqual(core.get('services')?.categories, ['all']);
  t.deepEqual(core.get('replicationcontrollers')?.categories, ['all']);
  t.is(core.get('configmaps')?.categories, undefined);
  t.false(core.has('leases'), 'Lease is in coordination.k8s.io');
});

test('subresources: status, log, binding, the streams, and the RC scale in autoscaling/v1', (t) => {
  const core = resources('', 'v1');
  t.deepEqual(core.get('pods/status')?.verbs, ['get', 'patch', 'update']);
  t.deepEqual(core.get('pods/log')?.verbs, ['get']);
  t.like(core.get('pods/binding'), { kind: 'Binding', verbs: ['create'] });
  t.like(core.get('pods/exec'), { kind: 'PodExecOptions', verbs: ['create', 'get'] });
  t.like(core.get('pods/attach'), { kind: 'PodAttachOptions', verbs: ['create', 'get'] });
  t.like(core.get('pods/portforward'), { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] });
  t.like(core.get('replicationcontrollers/scale'), { kind: 'Scale', group: 'autoscaling', version: 'v1' });
  t.false(core.has('configmaps/status'), 'no status subresource without a status');
});

test('/apis: coordination.k8s.io and authorization.k8s.io', (t) => {
  const groups = (groupList() as { groups: { name: string; preferredVersion: { groupVersion: string } }[] }).groups;
  t.deepEqual(
    groups.map((g) => [g.name, g.preferredVersion.groupVersion]),
    [
      ['coordination.k8s.io', 'coordination.k8s.io/v1'],
      ['authorization.k8s.io', 'authorization.k8s.io/v1'],
    ],
  );
  t.like(groupOf('coordination.k8s.io'), { kind: 'APIGroup', name: 'coordination.k8s.io' });
  t.is(groupOf('apps'), undefined);
  t.like(resources('coordination.k8s.io', 'v1').get('leases'), { kind: 'Lease', namespaced: true });
  t.like(resources('authorization.k8s.io', 'v1').get('selfsubjectaccessreviews'), { verbs: ['create'], namespaced: false });
  t.is(resourceList('apps', 'v1'), undefined);
  t.is(resourceList('', 'v2'), undefined);
});

test('/api and /version', (t) => {
  t.deepEqual(coreVersions('10.0.0.1:6444'), {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6444' }],
  });
  t.like(versionDocument({ tsk: '0.1.0', platform: 'linux/amd64' }), { major: '1', minor: '32', gitVersion: 'v1.32.0+tsk0.1.0', platform: 'linux/amd64' });
});
