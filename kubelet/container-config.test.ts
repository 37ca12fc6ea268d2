// From pod spec to runtime ContainerConfig: env (values, $(VAR), fieldRefs),
// command/args expansion, resources, mounts and the kubelet's labels.

import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { buildContainerConfig, buildPodResources, ContainerConfigError, expandVars } from './container-config';

const ctx = { dataDir: '/var/lib/tsk', hostIP: '192.0.2.10', podIP: '10.244.1.9', restartCount: 3 };

function pod(): Pod {
  return {
    metadata: { name: 'web', namespace: 'prod', uid: 'u-1', labels: { app: 'web' } },
    spec: {
      nodeName: 'node-a',
      terminationGracePeriodSeconds: 12,
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'logs', hostPath: { path: '/var/log/web' } },
      ],
      containers: [
        {
          name: 'app',
          image: 'busybox:1.36',
          command: ['sh', '-c'],
          args: ['echo $(GREETING) $$(HOME) $(MISSING)'],
          workingDir: '/srv',
          env: [
            { name: 'GREETING', value: 'hello' },
            { name: 'FULL', value: '$(GREETING) world' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          ],
          resources: { limits: { cpu: '1500m', memory: '1Gi' } },
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'logs', mountPath: '/logs', readOnly: true, subPath: 'app' },
          ],
        },
      ],
    },
  };
}

test('the container config of a pod container', (t) => {
  const p = pod();
  const c = buildContainerConfig(p, p.spec!.containers![0]!, ctx);
  t.deepEqual(c.command, ['sh', '-c']);
  t.deepEqual(c.args, ['echo hello $(HOME) $(MISSING)']);
  t.is(c.workingDir, '/srv');
  t.deepEqual(c.env, ['GREETING=hello', 'FULL=hello world', 'POD_NAME=web', 'POD_NS=prod', 'POD_IP=10.244.1.9', 'NODE=node-a', 'APP=web']);
  t.deepEqual(c.resources, { cpuRequestMilli: 1500, cpuLimitMilli: 1500, memoryLimitBytes: 1024 ** 3 }, 'requests default to limits');
  t.deepEqual(c.mounts, [
    { containerPath: '/data', hostPath: '/var/lib/tsk/pods/u-1/volumes/kubernetes.io~empty-dir/data' },
    { containerPath: '/logs', hostPath: '/var/log/web', subPath: 'app', readOnly: true },
  ]);
  t.is(c.labels?.['io.kubernetes.pod.uid'], 'u-1');
  t.is(c.labels?.['io.kubernetes.container.name'], 'app');
  t.is(c.annotations?.['io.kubernetes.container.restartCount'], '3');
  t.is(c.annotations?.['io.kubernetes.pod.terminationGracePeriod'], '12');
  t.false('stdin' in c || 'stdinOnce' in c || 'tty' in c);
});

test('stdin, stdinOnce and tty reach the runtime; stdinOnce only with stdin', (t) => {
  const p = pod();
  const c = p.spec!.containers![0]!;
  const all = buildContainerConfig(p, { ...c, stdin: true, stdinOnce: true, tty: true }, ctx);
  t.like(all, { stdin: true, stdinOnce: true, tty: true });
  const once = buildContainerConfig(p, { ...c, stdinOnce: true }, ctx);
  t.false('stdinOnce' in once || 'stdin' in once);
});

test('bad specs are ContainerConfigErrors naming the field', (t) => {
  const p = pod();
  const c = p.spec!.containers![0]!;
  t.throws(() => buildContainerConfig(p, { ...c, env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }] }, ctx), {
    instanceOf: ContainerConfigError,
    message: /env X: fieldRef status.phase is not supported/,
  });
  t.throws(() => buildContainerConfig(p, { ...c, resources: { limits: { memory: '12xb' } } }, ctx), {
    instanceOf: ContainerConfigError,
    message: /resources.limits.memory "12xb"/,
  });
  t.throws(() => buildContainerConfig(p, { ...c, volumeMounts: [{ name: 'nope', mountPath: '/x' }] }, ctx), {
    instanceOf: ContainerConfigError,
    message: /volumeMount "nope": no volume of that name/,
  });
  t.throws(() => buildContainerConfig(p, { ...c, volumeMounts: [{ name: 'data', mountPath: '/x', subPath: '../etc' }] }, ctx), {
    instanceOf: ContainerConfigError,
    message: /failed to prepare subPath for volumeMount "data" of container "app": unable to provision SubPath `..\/etc`: must not contain '..'/,
  });
});

test('recursiveReadOnly Enabled and IfPossible reach the runtime mount; Disabled is a plain mount', (t) => {
  const p = pod();
  const c = p.spec!.containers![0]!;
  const mount = (recursiveReadOnly: string): unknown =>
    buildContainerConfig(p, { ...c, volumeMounts: [{ name: 'data', mountPath: '/x', readOnly: true, recursiveReadOnly }] }, ctx).mounts?.[0];
  t.like(mount('Enabled'), { readOnly: true, recursiveReadOnly: 'Enabled' });
  t.like(mount('IfPossible'), { readOnly: true, recursiveReadOnly: 'IfPossible' });
  t.false(Object.hasOwn(mount('Disabled') as object, 'recursiveReadOnly'));
});

test('subPathExpr expands from the container environment; a missing variable or an escaping result is refused', (t) => {
  const p = pod();
  const c = p.spec!.containers![0]!;
  const mounts = (subPathExpr: string): unknown =>
    buildContainerConfig(p, { ...c, volumeMounts: [{ name: 'data', mountPath: '/x', subPathExpr }] }, ctx).mounts?.[0]?.subPath;
  t.is(mounts('$(POD_NS)/$(POD_NAME)'), 'prod/web');
  t.is(mounts('$$(POD_NAME)'), '$(POD_NAME)');
  t.throws(() => mounts('$(NOPE)/$(ALSO)'), { instanceOf: ContainerConfigError, message: /missing value for ALSO, NOPE$/ });
  t.throws(() => mounts('/$(POD_NAME)'), { message: /error SubPath `\/web` must not be an absolute path/ });
  const dots = { ...c, env: [...(c.env ?? []), { name: 'UP', value: '..' }] };
  t.throws(() => buildContainerConfig(p, { ...dots, volumeMounts: [{ name: 'data', mountPath: '/x', subPathExpr: 'a/$(UP)/b' }] }, ctx), {
    message: /unable to provision SubPath `a\/..\/b`: must not contain '..'/,
  });
});

test('$(VAR) expansion as Kubernetes: defined names, $$ escapes, the rest untouched', (t) => {
  const vars = new Map([['A', '1']]);
  t.is(expandVars('$(A)-$(B)-$$(A)-$A-$', vars), '1-$(B)-$(A)-$A-$');
});

test('securityContext: runAsNonRoot with a root image is a ContainerConfigError; runAsUser and security reach the runtime', (t) => {
  const p = pod();
  const c = p.spec!.containers![0]!;
  p.spec!.securityContext = { runAsNonRoot: true };
  t.throws(() => buildContainerConfig(p, c, { ...ctx, imageUser: '' }), {
    instanceOf: ContainerConfigError,
    message: 'container has runAsNonRoot and image will run as root (pod: "web_prod(u-1)", container: app)',
  });
  p.spec!.securityContext = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000] };
  const cfg = buildContainerConfig(
    p,
    { ...c, securityContext: { capabilities: { drop: ['NET_RAW'] } } },
    { ...ctx, imageUser: '', nodeMemoryBytes: 8 * 1024 ** 3 },
  );
  t.is(cfg.user, '1000:3000');
  t.deepEqual(cfg.security, { oomScoreAdj: -997, capDrop: ['NET_RAW'], supplementalGroups: [4000] }, 'Guaranteed: cpu and memory limits');
  t.throws(() => buildContainerConfig(p, { ...c, securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '/etc/x' } } }, ctx), {
    instanceOf: ContainerConfigError,
    message: /localhostProfile/,
  });
});

test('buildPodResources: the pod cgroup gets pod-level cpu shares, quota and memory limit; nothing without spec.resources', (t) => {
  const p = pod();
  t.deepEqual(buildPodResources(p), {});
  p.spec!.resources = { requests: { cpu: '500m', memory: '100Mi' }, limits: { cpu: '1', memory: '200Mi' } };
  t.deepEqual(buildPodResources(p), { cpuRequestMilli: 500, cpuLimitMilli: 1000, memoryLimitBytes: 200 * 1024 ** 2 });
  p.spec!.resources = { limits: { memory: '64Mi' } };
  t.deepEqual(buildPodResources(p), { memoryLimitBytes: 64 * 1024 ** 2 });
  p.spec!.resources = { limits: { cpu: 'lots' } };
  t.throws(() => buildPodResources(p), { instanceOf: ContainerConfigError, message: /^spec\.resources\.requests\.cpu "lots": / });
});

test('buildPodResources: spec.resources.limits.pids becomes the pod cgroup pids.max, alone or beside cpu and memory', (t) => {
  const p = pod();
  p.spec!.resources = { limits: { pids: '2048' } };
  t.deepEqual(buildPodResources(p), { pidsLimit: 2048 });
  p.spec!.resources = { limits: { memory: '64Mi', pids: '10' } };
  t.deepEqual(buildPodResources(p), { memoryLimitBytes: 64 * 1024 ** 2, pidsLimit: 10 });
  p.spec!.resources = { limits: { pids: '1G' } };
  t.deepEqual(buildPodResources(p), { pidsLimit: 4 * 1024 * 1024 }, 'capped at the kernel PID_MAX_LIMIT');
});

test('resourceFieldRef: a container without its own limit sees the pod-level limit, else the node allocatable', (t) => {
  const p = pod();
  const c = p.spec!.containers![0]!;
  c.resources = {};
  c.env = [
    { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
    { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
  ];
  const node = { ...ctx, nodeAllocatable: { cpuMilli: 4000, memoryBytes: 8 * 1024 ** 3 } };
  t.deepEqual(buildContainerConfig(p, c, node).env, ['CPU=4000', 'MEM=8192']);
  p.spec!.resources = { limits: { memory: '200Mi' } };
  t.deepEqual(buildContainerConfig(p, c, node).env, ['CPU=4000', 'MEM=200']);
});
