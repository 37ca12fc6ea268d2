// In-place resize (KEP-1287): resizePolicy validation and defaulting, the
// resize subresource's rules (ValidatePodResize) and what it takes from a
// request (dropNonResizeUpdates).

import test from 'ava';
import type { Container, Pod } from '../../api/gen/tsk/v1/core';
import { applyDefaults } from '../defaults';
import { prepareResize } from '../registry/pods';
import { assertCauses } from './fixtures';
import { validate, validatePodResize, validateUpdate } from './index';

function container(name: string, resources: Container['resources'], extra: Partial<Container> = {}): Container {
  return { name, image: 'registry.k8s.io/pause:3.8', resources, ...extra };
}

/** The docs' resize-demo pod, defaulted and stored. */
function resizeDemo(): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'resize-demo', namespace: 'qos-example', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '5' },
    spec: {
      containers: [
        container(
          'pause',
          { limits: { memory: '200Mi', cpu: '700m' }, requests: { memory: '200Mi', cpu: '700m' } },
          {
            resizePolicy: [
              { resourceName: 'cpu', restartPolicy: 'NotRequired' },
              { resourceName: 'memory', restartPolicy: 'RestartContainer' },
            ],
          },
        ),
      ],
    },
  };
  applyDefaults('Pod', pod);
  pod.status = { qosClass: 'Guaranteed' };
  return pod;
}

/** The stored pod with the request applied and defaulted, as the registry validates it. */
function resized(old: Pod, change: (request: Pod) => void): Pod {
  const request = structuredClone(old);
  change(request);
  return prepareResize(request, old);
}

test('resizePolicy is defaulted to NotRequired for each of cpu and memory the container asks for', (t) => {
  const pod: Pod = { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [container('a', { requests: { cpu: '100m' } }), container('b', {})] } };
  pod.spec!.containers![0]!.resizePolicy = [{ resourceName: 'memory', restartPolicy: 'RestartContainer' }];
  pod.spec!.containers![0]!.resources!.limits = { memory: '1Gi' };
  applyDefaults('Pod', pod);
  t.deepEqual(pod.spec!.containers![0]!.resizePolicy, [
    { resourceName: 'memory', restartPolicy: 'RestartContainer' },
    { resourceName: 'cpu', restartPolicy: 'NotRequired' },
  ]);
  t.is(pod.spec!.containers![1]!.resizePolicy, undefined);
});

test('resizePolicy: cpu or memory, once each, NotRequired or RestartContainer; not on init containers', (t) => {
  const pod = resizeDemo();
  pod.spec!.containers![0]!.resizePolicy = [
    { resourceName: 'cpu', restartPolicy: 'Sometimes' },
    { resourceName: 'cpu', restartPolicy: 'NotRequired' },
    { resourceName: 'ephemeral-storage', restartPolicy: 'NotRequired' },
  ];
  pod.spec!.initContainers = [
    container('init', {}, { resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }], imagePullPolicy: 'IfNotPresent' }),
  ];
  pod.spec!.initContainers[0]!.terminationMessagePath = '/dev/termination-log';
  assertCauses(t, validate('Pod', pod), [
    ['spec.containers[0].resizePolicy', 'FieldValueNotSupported', 'Unsupported value: "Sometimes": supported values: "NotRequired", "RestartContainer"'],
    ['spec.containers[0].resizePolicy[1]', 'FieldValueDuplicate', 'Duplicate value: "cpu"'],
    ['spec.containers[0].resizePolicy', 'FieldValueNotSupported', 'Unsupported value: "ephemeral-storage": supported values: "cpu", "memory"'],
    ['spec.initContainers[0].resizePolicy', 'FieldValueForbidden', 'must not be set for init containers'],
  ]);
});

test('resizePolicy RestartContainer is refused with restartPolicy Never', (t) => {
  const pod = resizeDemo();
  pod.spec!.restartPolicy = 'Never';
  assertCauses(t, validate('Pod', pod), [
    ['spec.containers[0].resizePolicy', 'FieldValueInvalid', "Invalid value: \"RestartContainer\": must be 'NotRequired' when `restartPolicy` is 'Never'"],
  ]);
});

test('a plain update may still not change resources', (t) => {
  const old = resizeDemo();
  const next = structuredClone(old);
  next.spec!.containers![0]!.resources!.requests!['cpu'] = '800m';
  next.spec!.containers![0]!.resources!.limits!['cpu'] = '800m';
  const causes = validateUpdate('Pod', next, old);
  t.is(causes.length, 1);
  t.regex(causes[0]!.message, /^Forbidden: pod updates may not change fields other than /);
  t.regex(causes[0]!.message, /changed: spec\.containers\[0\]\.resources/);
});

test('the resize subresource changes cpu and memory in place', (t) => {
  const old = resizeDemo();
  const next = resized(old, (p) => {
    p.spec!.containers![0]!.resources = { requests: { cpu: '800m', memory: '300Mi' }, limits: { cpu: '800m', memory: '300Mi' } };
  });
  assertCauses(t, validatePodResize(next, old), []);
  t.is(next.spec!.containers![0]!.resources!.limits!['cpu'], '800m');
});

test('the resize subresource ignores everything but resources (dropNonResizeUpdates)', (t) => {
  const old = resizeDemo();
  const next = resized(old, (p) => {
    p.metadata!.labels = { new: 'label' };
    p.spec!.containers![0]!.image = 'nginx';
    p.spec!.activeDeadlineSeconds = 5;
  });
  t.is(next.spec!.containers![0]!.image, 'registry.k8s.io/pause:3.8');
  t.is(next.spec!.activeDeadlineSeconds, undefined);
  t.is(next.metadata!.labels, undefined);
  assertCauses(t, validatePodResize(next, old), []);
});

test('the QoS class may not change on resize', (t) => {
  const old = resizeDemo();
  const next = resized(old, (p) => {
    p.spec!.containers![0]!.resources!.requests!['cpu'] = '500m';
  });
  assertCauses(t, validatePodResize(next, old), [
    ['spec', 'FieldValueInvalid', 'Invalid value: "Burstable": Pod QOS Class may not change as a result of resizing'],
  ]);
});

test('requests and limits cannot be removed on resize', (t) => {
  const old = resizeDemo();
  old.spec!.containers![0]!.resources = { requests: { cpu: '100m', memory: '100Mi' }, limits: { memory: '200Mi' } };
  old.status = { qosClass: 'Burstable' };
  const next = resized(old, (p) => {
    p.spec!.containers![0]!.resources = { requests: { memory: '100Mi' } };
  });
  assertCauses(t, validatePodResize(next, old), [
    ['spec.containers[0].resources.requests[cpu]', 'FieldValueForbidden', 'resource requests cannot be removed'],
    ['spec.containers[0].resources.limits[memory]', 'FieldValueForbidden', 'resource limits cannot be removed'],
  ]);
});

test('only cpu and memory may be resized', (t) => {
  const old = resizeDemo();
  const next = resized(old, (p) => {
    p.spec!.containers![0]!.resources!.requests!['ephemeral-storage'] = '1Gi';
  });
  assertCauses(t, validatePodResize(next, old), [['spec', 'FieldValueForbidden', 'only cpu and memory resources are mutable']]);
});

test('plain init containers cannot be resized; sidecars can', (t) => {
  const old = resizeDemo();
  const init = (name: string, sidecar: boolean): Container => {
    const c = container(
      name,
      { requests: { cpu: '100m', memory: '10Mi' }, limits: { cpu: '100m', memory: '10Mi' } },
      sidecar ? { restartPolicy: 'Always' } : {},
    );
    return c;
  };
  old.spec!.initContainers = [init('setup', false), init('proxy', true)];
  applyDefaults('Pod', old);
  const bigger = { requests: { cpu: '200m', memory: '10Mi' }, limits: { cpu: '200m', memory: '10Mi' } };
  const sidecar = resized(old, (p) => {
    p.spec!.initContainers![1]!.resources = structuredClone(bigger);
  });
  assertCauses(t, validatePodResize(sidecar, old), []);
  const plain = resized(old, (p) => {
    p.spec!.initContainers![0]!.resources = structuredClone(bigger);
  });
  assertCauses(t, validatePodResize(plain, old), [['spec', 'FieldValueForbidden', 'only cpu and memory resources are mutable']]);
});

test('pod-level resources can be resized', (t) => {
  const old = resizeDemo();
  old.spec!.containers![0]!.resources = { requests: { cpu: '100m', memory: '100Mi' } };
  old.spec!.resources = { requests: { cpu: '200m', memory: '200Mi' }, limits: { cpu: '200m', memory: '200Mi' } };
  applyDefaults('Pod', old);
  const next = resized(old, (p) => {
    p.spec!.resources = { requests: { cpu: '300m', memory: '200Mi' }, limits: { cpu: '300m', memory: '200Mi' } };
  });
  assertCauses(t, validatePodResize(next, old), []);
  t.is(next.spec!.resources!.limits!['cpu'], '300m');
});

test('a resize may add a request the container did not have (defaulting does not count as a change)', (t) => {
  const old = resizeDemo();
  old.spec!.containers![0]!.resources = { requests: { cpu: '100m' } };
  old.spec!.containers![0]!.resizePolicy = [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }];
  old.status = { qosClass: 'Burstable' };
  const next = resized(old, (p) => {
    p.spec!.containers![0]!.resources = { requests: { cpu: '100m' }, limits: { memory: '128Mi' } };
  });
  assertCauses(t, validatePodResize(next, old), []);
  t.deepEqual(
    next.spec!.containers![0]!.resources,
    { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
    'the request defaulted from the limit',
  );
});
