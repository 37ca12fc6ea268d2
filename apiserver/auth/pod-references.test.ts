import test from 'ava';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { podReferences, podReferencesObject } from './pod-references';

const pod: Pod = {
  metadata: { name: 'web', namespace: 'd' },
  spec: {
    imagePullSecrets: [{ name: 'regcred' }, { name: '' }],
    initContainers: [{ name: 'init', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'init-token', key: 't' } } }] }],
    containers: [
      {
        name: 'app',
        envFrom: [{ configMapRef: { name: 'app-env' } }, { secretRef: { name: 'app-secret-env' } }],
        env: [
          { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'level' } } },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'PLAIN', value: 'x' },
        ],
      },
    ],
    volumes: [
      { name: 'a', secret: { secretName: 'tls' } },
      { name: 'b', configMap: { name: 'nginx-conf' } },
      { name: 'c', projected: { sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'proj-cm' } }, { downwardAPI: {} }] } },
      { name: 'd', emptyDir: {} },
    ],
  },
};

test('every way a pod refers to Secrets and ConfigMaps is found, as Kubernetes visits them', (t) => {
  const refs = podReferences(pod);
  t.deepEqual([...refs.secrets].sort(), ['app-secret-env', 'init-token', 'proj-secret', 'regcred', 'tls']);
  t.deepEqual([...refs.configmaps].sort(), ['app-config', 'app-env', 'nginx-conf', 'proj-cm']);
});

test('a name is referenced only as the resource it is used as', (t) => {
  t.true(podReferencesObject(pod, 'secrets', 'tls'));
  t.false(podReferencesObject(pod, 'configmaps', 'tls'));
  t.false(podReferencesObject(pod, 'secrets', ''));
  t.deepEqual(podReferences({ metadata: { name: 'bare' } }), { secrets: new Set(), configmaps: new Set() });
});
