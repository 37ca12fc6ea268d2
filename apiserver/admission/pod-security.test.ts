import test from 'ava';
import { ForbiddenError } from '../../api/errors';
import type { Container, Pod, PodSpec } from '../../api/gen/tsk/v1/core';
import type { UserInfo } from '../auth/user';
import type { AdmissionRequest } from './admission';
import { evaluatePod, type Level } from './pod-security-checks';
import { podSecurityAdmission, policyFromLabels, violationText } from './pod-security';

const c = (name: string, extra: Partial<Container> = {}): Container => ({ name, image: 'busybox', ...extra });
const spec = (extra: Partial<PodSpec> = {}): PodSpec => ({ containers: [c('main')], ...extra });

/** A pod restricted accepts: the baseline of every row below. */
const restrictedOk: PodSpec = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [c('main', { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } })],
};

const rows: [string, Level, PodSpec, string][] = [
  ['a plain pod passes baseline', 'baseline', spec(), ''],
  ['nothing is refused at privileged', 'privileged', spec({ hostNetwork: true, volumes: [{ name: 'root', hostPath: { path: '/' } }] }), ''],
  [
    'hostPath',
    'baseline',
    spec({
      volumes: [
        { name: 'root', hostPath: { path: '/' } },
        { name: 'tmp', emptyDir: {} },
      ],
    }),
    'hostPath volumes (volume "root")',
  ],
  [
    'two hostPaths',
    'baseline',
    spec({
      volumes: [
        { name: 'a', hostPath: { path: '/a' } },
        { name: 'b', hostPath: { path: '/b' } },
      ],
    }),
    'hostPath volumes (volumes "a", "b")',
  ],
  ['host namespaces', 'baseline', spec({ hostNetwork: true, hostPID: true, hostIPC: true }), 'host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)'],
  [
    'privileged',
    'baseline',
    spec({ containers: [c('c', { securityContext: { privileged: true } })] }),
    'privileged (container "c" must not set securityContext.privileged=true)',
  ],
  [
    'capabilities beyond the default set',
    'baseline',
    spec({
      containers: [
        c('a', { securityContext: { capabilities: { add: ['NET_ADMIN', 'CHOWN', 'SYS_ADMIN'] } } }),
        c('b', { securityContext: { capabilities: { add: ['KILL'] } } }),
      ],
    }),
    'non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)',
  ],
  [
    'host ports',
    'baseline',
    spec({ containers: [c('a', { ports: [{ containerPort: 80, hostPort: 8080 }] }), c('b', { ports: [{ containerPort: 81, hostPort: 8081 }] })] }),
    'hostPort (containers "a", "b" use hostPorts 8080, 8081)',
  ],
  [
    'unconfined seccomp',
    'baseline',
    spec({ securityContext: { seccompProfile: { type: 'Unconfined' } } }),
    'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
  ],
  [
    'unsafe sysctls',
    'baseline',
    spec({
      securityContext: {
        sysctls: [
          { name: 'kernel.msgmax', value: '1' },
          { name: 'net.ipv4.tcp_syncookies', value: '1' },
        ],
      },
    }),
    'forbidden sysctls (kernel.msgmax)',
  ],
  [
    'procMount',
    'baseline',
    spec({ containers: [c('c', { securityContext: { procMount: 'Unmasked' } })] }),
    'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
  ],
  [
    'SELinux',
    'baseline',
    spec({ securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } } }),
    'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
  ],
  [
    'AppArmor field',
    'baseline',
    spec({ securityContext: { appArmorProfile: { type: 'Unconfined' } } }),
    'forbidden AppArmor profile (spec.securityContext.appArmorProfile.type="Unconfined")',
  ],
  [
    'several, in Kubernetes order',
    'baseline',
    spec({ hostNetwork: true, volumes: [{ name: 'root', hostPath: { path: '/' } }], containers: [c('c', { securityContext: { privileged: true } })] }),
    'host namespaces (hostNetwork=true), hostPath volumes (volume "root"), privileged (container "c" must not set securityContext.privileged=true)',
  ],
  ['restricted accepts a hardened pod', 'restricted', restrictedOk, ''],
  [
    'restricted on a plain pod',
    'restricted',
    spec(),
    'allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  ],
  [
    'restricted: hostPath is also a restricted volume type; runAsUser=0',
    'restricted',
    { ...restrictedOk, securityContext: { ...restrictedOk.securityContext, runAsUser: 0 }, volumes: [{ name: 'h', hostPath: { path: '/' } }] },
    'hostPath volumes (volume "h"), restricted volume types (volume "h" uses restricted volume type "hostPath"), runAsUser=0 (pod must not set runAsUser=0)',
  ],
  [
    'restricted: only NET_BIND_SERVICE may be added',
    'restricted',
    {
      ...restrictedOk,
      containers: [c('main', { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE', 'CHOWN'] } } })],
    },
    'unrestricted capabilities (container "main" must not include "CHOWN" in securityContext.capabilities.add)',
  ],
  [
    'restricted: explicit runAsNonRoot=false and Unconfined replace the baseline seccomp message',
    'restricted',
    {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'Unconfined' } },
      containers: [c('main', { securityContext: { runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } })],
    },
    'runAsNonRoot != true (container "main" must not set securityContext.runAsNonRoot=false), seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
  ],
];

for (const [name, level, podSpec, want] of rows) {
  test(`${level}: ${name}`, (t) => {
    t.is(violationText(evaluatePod(level, {}, podSpec)), want);
  });
}

test('AppArmor annotations other than runtime/default and localhost/* are refused at baseline', (t) => {
  const meta = {
    annotations: { 'container.apparmor.security.beta.kubernetes.io/main': 'unconfined', 'container.apparmor.security.beta.kubernetes.io/b': 'localhost/x' },
  };
  t.is(violationText(evaluatePod('baseline', meta, spec())), 'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/main="unconfined")');
});

test('namespace labels: levels, versions, the default, and invalid values failing closed', (t) => {
  t.deepEqual(policyFromLabels(undefined, 'privileged').enforce, { level: 'privileged', version: 'latest' });
  t.deepEqual(policyFromLabels({}, 'baseline').enforce, { level: 'baseline', version: 'latest' });
  const p = policyFromLabels({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.30' }, 'privileged');
  t.deepEqual(p.enforce, { level: 'baseline', version: 'v1.30' });
  t.is(p.warn.level, 'privileged');
  t.is(policyFromLabels({ 'pod-security.kubernetes.io/enforce': 'bogus' }, 'privileged').enforce.level, 'restricted');
  t.is(
    policyFromLabels({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'soon' }, 'privileged').enforce.version,
    'latest',
  );
});

const user: UserInfo = { name: 'alice', groups: ['system:authenticated'] };
const hostPathPod: Pod = { metadata: { name: 'x', namespace: 'demo' }, spec: spec({ volumes: [{ name: 'root', hostPath: { path: '/' } }] }) };
const req = (extra: Partial<AdmissionRequest>): AdmissionRequest => ({
  user,
  operation: 'CREATE',
  kind: 'Pod',
  subresource: '',
  namespace: 'demo',
  name: 'x',
  object: hostPathPod,
  ...extra,
});

test('admission refuses a pod with the message Kubernetes gives', (t) => {
  const plugin = podSecurityAdmission({ 'pod-security.kubernetes.io/enforce': 'baseline' }, 'privileged');
  const err = t.throws(() => plugin.admit(req({})), { instanceOf: ForbiddenError });
  t.is(err?.message, 'pods "x" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")');
});

test('admission only warns for replication controllers, and for the warn level', (t) => {
  const plugin = podSecurityAdmission({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'restricted' }, 'privileged');
  const rc = { metadata: { name: 'r' }, spec: { template: { metadata: {}, spec: hostPathPod.spec } } };
  const warnings = plugin.admit(req({ kind: 'ReplicationController', name: 'r', object: rc }));
  t.is(warnings.length, 2);
  t.is(warnings[0], 'would violate PodSecurity "baseline:latest": hostPath volumes (volume "root")');
  t.regex(warnings[1] ?? '', /^would violate PodSecurity "restricted:latest": hostPath volumes/);
  t.deepEqual(podSecurityAdmission({ 'pod-security.kubernetes.io/warn': 'baseline' }, 'privileged').admit(req({})), [
    'would violate PodSecurity "baseline:latest": hostPath volumes (volume "root")',
  ]);
});

test('the cluster default applies to unlabelled namespaces; status updates and deletes pass', (t) => {
  t.throws(() => podSecurityAdmission({}, 'baseline').admit(req({})), { instanceOf: ForbiddenError });
  t.deepEqual(podSecurityAdmission({}, 'privileged').admit(req({})), []);
  t.deepEqual(podSecurityAdmission({}, 'baseline').admit(req({ operation: 'UPDATE', subresource: 'status', oldObject: hostPathPod })), []);
  t.deepEqual(podSecurityAdmission({}, 'baseline').admit(req({ operation: 'DELETE', object: undefined, oldObject: hostPathPod })), []);
});
