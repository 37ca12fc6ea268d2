// securityContext as the kubelet applies it: merge, runAsNonRoot, user string, seccomp choice and OOM score by QoS.

import test from 'ava';
import type { Container, Pod } from '../api/gen/tsk/v1/core';
import { containerSecurity, effectiveSecurity, imageUserOf, oomScoreAdj, runtimeUser, seccompChoice, verifyRunAsNonRoot } from './security-context';

const GI = 1024 ** 3;

function pod(c: Container, podSc: NonNullable<Pod['spec']>['securityContext'] = {}): Pod {
  return { metadata: { name: 'web', namespace: 'prod', uid: 'u-1' }, spec: { securityContext: podSc, containers: [c] } };
}

test("the container's fields win over the pod's", (t) => {
  const c: Container = { name: 'app', securityContext: { runAsUser: 1000, seccompProfile: { type: 'Unconfined' } } };
  t.deepEqual(effectiveSecurity(pod(c, { runAsUser: 2000, runAsGroup: 3000, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }), c), {
    runAsUser: 1000,
    runAsGroup: 3000,
    runAsNonRoot: true,
    seccompProfile: { type: 'Unconfined' },
  });
});

test("runAsNonRoot: Kubernetes' messages for a root or non-numeric image user, and for runAsUser 0", (t) => {
  const c: Container = { name: 'app' };
  const p = pod(c, { runAsNonRoot: true });
  t.is(verifyRunAsNonRoot(p, c, ''), 'container has runAsNonRoot and image will run as root (pod: "web_prod(u-1)", container: app)');
  t.is(verifyRunAsNonRoot(p, c, '0:0'), 'container has runAsNonRoot and image will run as root (pod: "web_prod(u-1)", container: app)');
  t.is(
    verifyRunAsNonRoot(p, c, 'nobody'),
    'container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root (pod: "web_prod(u-1)", container: app)',
  );
  t.is(verifyRunAsNonRoot(p, c, '1000:1000'), undefined);
  t.is(verifyRunAsNonRoot(pod(c, { runAsNonRoot: true, runAsUser: 1000 }), c, ''), undefined, 'runAsUser overrides the image');
  t.is(
    verifyRunAsNonRoot(pod(c, { runAsNonRoot: true, runAsUser: 0 }), c, '1000'),
    `container's runAsUser breaks non-root policy (pod: "web_prod(u-1)", container: app)`,
  );
  t.is(verifyRunAsNonRoot(pod(c), c, ''), undefined, 'not asked');
  const allowed: Container = { name: 'app', securityContext: { runAsNonRoot: false } };
  t.is(verifyRunAsNonRoot(pod(allowed, { runAsNonRoot: true }), allowed, ''), undefined, "the container's false wins");
});

test('the user string: runAsUser[:runAsGroup]; runAsGroup alone keeps the image user', (t) => {
  t.is(runtimeUser({ runAsUser: 1000 }, 'nobody'), '1000');
  t.is(runtimeUser({ runAsUser: 1000, runAsGroup: 3000 }, ''), '1000:3000');
  t.is(runtimeUser({ runAsGroup: 3000 }, 'nobody:nogroup'), 'nobody:3000');
  t.is(runtimeUser({}, 'nobody'), undefined);
  t.deepEqual(imageUserOf(''), { uid: 0 });
  t.deepEqual(imageUserOf('65534:65534'), { uid: 65534 });
  t.deepEqual(imageUserOf('www'), { name: 'www' });
});

test('seccompProfile types; a Localhost profile must stay under the profile root', (t) => {
  t.is(seccompChoice('c', undefined), undefined);
  t.deepEqual(seccompChoice('c', { type: 'Unconfined' }), { type: 'Unconfined' });
  t.deepEqual(seccompChoice('c', { type: 'RuntimeDefault' }), { type: 'RuntimeDefault' });
  t.deepEqual(seccompChoice('c', { type: 'Localhost', localhostProfile: 'audit.json' }), { type: 'Localhost', profile: 'audit.json' });
  t.throws(() => seccompChoice('c', { type: 'Localhost', localhostProfile: '../../etc/x' }), {
    message: /localhostProfile "..\/..\/etc\/x" must be a relative path/,
  });
  t.throws(() => seccompChoice('c', { type: 'Localhost' }), { message: /localhostProfile ""/ });
  t.throws(() => seccompChoice('c', { type: 'Magic' }), {
    message: 'container "c": seccompProfile.type "Magic" is not RuntimeDefault, Unconfined or Localhost',
  });
});

test("OOM score by QoS class, as the kubelet's policy", (t) => {
  const be: Container = { name: 'a' };
  t.is(oomScoreAdj(pod(be), be, 8 * GI), 1000);
  const g: Container = { name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } };
  t.is(oomScoreAdj(pod(g), g, 8 * GI), -997);
  const b = (mem: string): Container => ({ name: 'a', resources: { requests: { memory: mem } } });
  t.is(oomScoreAdj(pod(b('1Gi')), b('1Gi'), 8 * GI), 875);
  t.is(oomScoreAdj(pod(b('8Gi')), b('8Gi'), 8 * GI), 3, 'never below Guaranteed');
  t.is(oomScoreAdj(pod(b('1')), b('1'), 8 * GI), 999, 'never as high as BestEffort');
  const cpuOnly: Container = { name: 'a', resources: { requests: { cpu: '100m' } } };
  t.is(oomScoreAdj(pod(cpuOnly), cpuOnly, 8 * GI), 999);
});

test('containerSecurity: the runtime fields of a container and its pod', (t) => {
  const c: Container = {
    name: 'app',
    securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
  };
  t.deepEqual(containerSecurity(pod(c, { supplementalGroups: [4000], fsGroup: 2000, seccompProfile: { type: 'Unconfined' } }), c, 8 * GI), {
    oomScoreAdj: 1000,
    capAdd: ['NET_ADMIN'],
    capDrop: ['ALL'],
    readOnlyRootfs: true,
    noNewPrivileges: true,
    seccomp: { type: 'Unconfined' },
    supplementalGroups: [4000, 2000],
  });
  const esc: Container = { name: 'app', securityContext: { allowPrivilegeEscalation: true } };
  t.is(containerSecurity(pod(esc), esc, GI).noNewPrivileges, false);
  t.is(containerSecurity(pod({ name: 'x' }), { name: 'x' }, GI).noNewPrivileges, undefined, "unset: the runtime's default");
});

test('supplementalGroupsPolicy: Strict goes to the runtime; Merge is its default and is not said', (t) => {
  const c: Container = { name: 'app' };
  t.is(containerSecurity(pod(c, { supplementalGroupsPolicy: 'Strict', supplementalGroups: [4000] }), c, GI).supplementalGroupsPolicy, 'Strict');
  t.is(containerSecurity(pod(c, { supplementalGroupsPolicy: 'Merge' }), c, GI).supplementalGroupsPolicy, undefined);
  t.is(containerSecurity(pod(c), c, GI).supplementalGroupsPolicy, undefined);
});

test('procMount: Default runs, Unmasked only in a user namespace, anything else names the field', (t) => {
  const mk = (procMount: string): Container => ({ name: 'app', securityContext: { procMount } });
  t.is(containerSecurity(pod(mk('Default')), mk('Default'), GI).unmaskedProc, undefined);
  t.notThrows(() => containerSecurity(pod(mk('')), mk(''), GI));
  t.throws(() => containerSecurity(pod(mk('Unmasked')), mk('Unmasked'), GI), {
    message: 'container "app": securityContext.procMount "Unmasked" needs a user namespace (hostUsers: false)',
  });
  const userns = pod(mk('Unmasked'));
  userns.spec!.hostUsers = false;
  t.is(containerSecurity(userns, mk('Unmasked'), GI).unmaskedProc, true);
  t.throws(() => containerSecurity(pod(mk('Open')), mk('Open'), GI), {
    message: 'container "app": securityContext.procMount "Open" is not Default or Unmasked',
  });
});

test('OOM score with a pod-level memory request: the part no container requests is shared equally (KEP-2837)', (t) => {
  const a: Container = { name: 'a', resources: { requests: { memory: '1Gi' } } };
  const b: Container = { name: 'b' };
  const p: Pod = { metadata: { name: 'p' }, spec: { containers: [a, b], resources: { requests: { memory: '3Gi' } } } };
  // 2Gi unrequested by containers: 1Gi more for each.
  t.is(oomScoreAdj(p, a, 8 * GI), 750);
  t.is(oomScoreAdj(p, b, 8 * GI), 875);
  const guaranteed: Pod = {
    metadata: { name: 'p' },
    spec: { containers: [b], resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } },
  };
  t.is(oomScoreAdj(guaranteed, b, 8 * GI), -997, 'Guaranteed from pod-level resources alone');
});

test('cgroupOptions.mountMode ReadWrite goes to the runtime; ReadOnly is its default and is not said', (t) => {
  const rw: Container = { name: 'app', securityContext: { allowPrivilegeEscalation: false, cgroupOptions: { mountMode: 'ReadWrite' } } };
  t.is(containerSecurity(pod(rw), rw, GI).cgroupMountMode, 'ReadWrite');
  const ro: Container = { name: 'app', securityContext: { cgroupOptions: { mountMode: 'ReadOnly' } } };
  t.is(containerSecurity(pod(ro), ro, GI).cgroupMountMode, undefined);
});
