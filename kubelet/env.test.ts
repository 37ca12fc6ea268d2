// The container environment as Kubernetes' makeEnvironmentVariables builds
// it: Service variables (FromServices golden list, enableServiceLinks, the
// master service), envFrom with prefixes and invalid keys, configMapKeyRef /
// secretKeyRef with optional, precedence and $(VAR) expansion.

import test from 'ava';
import type { ConfigMap, Container, Pod, Secret, Service } from '../api/gen/tsk/v1/core';
import { buildContainerConfig, buildEnv, ContainerConfigError } from './container-config';
import { envFromVars, envObjectNames, serviceEnvMap, serviceEnvVars, type EnvObjects } from './env';

const ctx = { dataDir: '/var/lib/tsk', hostIP: '192.0.2.10', podIP: '10.244.1.9', restartCount: 0 };

function svc(ns: string, name: string, clusterIP: string, ports: NonNullable<Service['spec']>['ports'] = [{ port: 80 }]): Service {
  return { metadata: { namespace: ns, name }, spec: { clusterIP, ports } };
}

function pod(c: Container, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return { metadata: { name: 'p', namespace: 'shop', uid: 'u1' }, spec: { containers: [c], ...spec } };
}

function objects(o: Partial<{ services: Service[]; configMaps: Record<string, ConfigMap>; secrets: Record<string, Secret> }>): EnvObjects {
  return {
    services: o.services ?? [],
    configMaps: new Map(Object.entries(o.configMaps ?? {})),
    secrets: new Map(Object.entries(o.secrets ?? {})),
  };
}

const env = (p: Pod, objs: EnvObjects, warn?: (r: string, m: string) => void): Map<string, string> =>
  buildEnv(p, p.spec?.containers?.[0] ?? {}, { ...ctx, objects: objs, ...(warn ? { warn } : {}) }).vars;

test('FromServices: host, ports and the Docker link variables, names upper-cased with - as _', (t) => {
  const s = svc('shop', 'redis-master', '10.96.0.11', [
    { name: 'redis', port: 6379, protocol: 'TCP' },
    { name: 'metrics-udp', port: 9121, protocol: 'UDP' },
  ]);
  t.deepEqual(serviceEnvVars([s]), [
    ['REDIS_MASTER_SERVICE_HOST', '10.96.0.11'],
    ['REDIS_MASTER_SERVICE_PORT', '6379'],
    ['REDIS_MASTER_SERVICE_PORT_REDIS', '6379'],
    ['REDIS_MASTER_SERVICE_PORT_METRICS_UDP', '9121'],
    ['REDIS_MASTER_PORT', 'tcp://10.96.0.11:6379'],
    ['REDIS_MASTER_PORT_6379_TCP', 'tcp://10.96.0.11:6379'],
    ['REDIS_MASTER_PORT_6379_TCP_PROTO', 'tcp'],
    ['REDIS_MASTER_PORT_6379_TCP_PORT', '6379'],
    ['REDIS_MASTER_PORT_6379_TCP_ADDR', '10.96.0.11'],
    ['REDIS_MASTER_PORT_9121_UDP', 'udp://10.96.0.11:9121'],
    ['REDIS_MASTER_PORT_9121_UDP_PROTO', 'udp'],
    ['REDIS_MASTER_PORT_9121_UDP_PORT', '9121'],
    ['REDIS_MASTER_PORT_9121_UDP_ADDR', '10.96.0.11'],
  ]);
});

test('only Services with a cluster IP of the pod namespace, plus the master service; enableServiceLinks false keeps only the master', (t) => {
  const services = [
    svc('shop', 'web', '10.96.0.20'),
    svc('shop', 'headless', 'None'),
    { metadata: { namespace: 'shop', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
    svc('other', 'db', '10.96.0.30'),
    svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443 }]),
  ];
  const names = (p: Pod): string[] => [...serviceEnvMap(p, services).keys()].filter((k) => k.endsWith('_SERVICE_HOST'));
  t.deepEqual(names(pod({})), ['KUBERNETES_SERVICE_HOST', 'WEB_SERVICE_HOST']);
  t.deepEqual(names(pod({}, { enableServiceLinks: false })), ['KUBERNETES_SERVICE_HOST']);
  t.deepEqual(names({ ...pod({}), metadata: { namespace: 'default' } }), ['KUBERNETES_SERVICE_HOST']);
});

test('precedence: envFrom in order, then env; Service variables only where nothing else set them; $(VAR) sees earlier ones and Services', (t) => {
  const c: Container = {
    name: 'app',
    envFrom: [{ configMapRef: { name: 'base' } }, { prefix: 'S_', secretRef: { name: 'creds' } }, { configMapRef: { name: 'over' } }],
    env: [
      { name: 'MODE', value: 'env-wins' },
      { name: 'URL', value: 'http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/$(MODE)' },
      { name: 'LATER', value: '$(NOT_YET)' },
      { name: 'NOT_YET', value: 'x' },
      { name: 'ESC', value: '$$(MODE)' },
      { name: 'WEB_SERVICE_PORT', value: '8080' },
    ],
  };
  const objs = objects({
    services: [svc('shop', 'web', '10.96.0.20')],
    configMaps: { base: { data: { MODE: 'base', LEVEL: '1' } }, over: { data: { LEVEL: '2' } } },
    secrets: { creds: { data: { user: Buffer.from('admin') } } },
  });
  const vars = env(pod(c), objs);
  t.is(vars.get('MODE'), 'env-wins');
  t.is(vars.get('LEVEL'), '2', 'a later envFrom source wins');
  t.is(vars.get('S_user'), 'admin');
  t.is(vars.get('URL'), 'http://10.96.0.20:80/env-wins', 'expansion sees the Service variables and earlier env');
  t.is(vars.get('LATER'), '$(NOT_YET)', 'a variable defined later is not expanded');
  t.is(vars.get('ESC'), '$(MODE)');
  t.is(vars.get('WEB_SERVICE_PORT'), '8080', 'env overrides a Service variable');
  t.is(vars.get('WEB_SERVICE_HOST'), '10.96.0.20');
  const keys = [...vars.keys()];
  t.true(keys.indexOf('MODE') < keys.indexOf('WEB_SERVICE_HOST'), 'Service variables come last, as Kubernetes appends them');
  const withCommand: Container = { ...c, command: ['echo', '$(WEB_PORT)', '$(S_user)'] };
  const config = buildContainerConfig(pod(withCommand), withCommand, { ...ctx, objects: objs });
  t.deepEqual(config.command, ['echo', 'tcp://10.96.0.20:80', 'admin'], 'command expansion sees every variable');
});

test('envFrom keys that are not variable names are skipped with an InvalidEnvironmentVariableNames warning', (t) => {
  const warnings: string[] = [];
  const c: Container = { name: 'app', envFrom: [{ prefix: 'P_', configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'cfg' } }] };
  const vars = env(pod(c), objects({ configMaps: { cfg: { data: { ok: '1', '1bad': '2', 'a=b': '3' } } } }), (r, m) => warnings.push(`${r}: ${m}`));
  t.is(vars.get('P_ok'), '1');
  t.is(vars.get('P_1bad'), '2', 'with a prefix the key becomes valid');
  t.is(vars.get('ok'), '1');
  t.false(vars.has('1bad'));
  t.deepEqual(warnings, [
    'InvalidEnvironmentVariableNames: Keys [P_a=b] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names.',
    'InvalidEnvironmentVariableNames: Keys [1bad, a=b] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names.',
  ]);
});

test("missing objects and keys: Kubernetes' messages, unless optional", (t) => {
  const fails = (c: Container, objs: EnvObjects, message: string): void => {
    t.throws(() => env(pod(c), objs), { instanceOf: ContainerConfigError, message });
  };
  const none = objects({});
  const cfg = objects({ configMaps: { cfg: { data: { a: '1' } } }, secrets: { s: { data: { pw: Buffer.from('hunter2') } } } });
  fails({ name: 'c', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }] }, none, 'configmap "cfg" not found');
  fails({ name: 'c', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'b' } } }] }, cfg, "couldn't find key b in ConfigMap shop/cfg");
  fails({ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'user' } } }] }, cfg, "couldn't find key user in Secret shop/s");
  fails({ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'nope', key: 'x' } } }] }, cfg, 'secret "nope" not found');
  fails({ name: 'c', envFrom: [{ configMapRef: { name: 'nope' } }] }, cfg, 'configmap "nope" not found');
  const optional: Container = {
    name: 'c',
    envFrom: [{ secretRef: { name: 'nope', optional: true } }],
    env: [
      { name: 'A', value: 'kept' },
      { name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'missing', optional: true } } },
      { name: 'B', valueFrom: { configMapKeyRef: { name: 'absent', key: 'x', optional: true } } },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
    ],
  };
  const vars = env(pod(optional), cfg);
  t.is(vars.get('A'), 'kept', 'an optional reference that is missing leaves the variable as it was');
  t.false(vars.has('B'));
  t.is(vars.get('PW'), 'hunter2');
});

test('resourceFieldRef: limits and requests with a divisor, unset limits from the node allocatable', (t) => {
  const c: Container = {
    name: 'app',
    resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    env: [
      { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'CPU_REQ_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
      { name: 'CPU_REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
      { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'MEM_REQ', valueFrom: { resourceFieldRef: { resource: 'requests.memory' } } },
    ],
  };
  const p = pod(c);
  const vars = buildEnv(p, c, { ...ctx, nodeAllocatable: { cpuMilli: 3500, memoryBytes: 1 << 30 } }).vars;
  t.is(vars.get('CPU_LIMIT'), '4', 'the node allocatable 3500m, rounded up');
  t.is(vars.get('CPU_REQ_M'), '250');
  t.is(vars.get('CPU_REQ'), '1');
  t.is(vars.get('MEM_MI'), '128');
  t.is(vars.get('MEM_REQ'), String(64 << 20));
  const bad: Container = { name: 'app', env: [{ name: 'X', valueFrom: { resourceFieldRef: { resource: 'limits.gpu' } } }] };
  t.throws(() => buildEnv(pod(bad), bad, ctx), { message: /unsupported container resource : limits.gpu/ });
});

test('envObjectNames: the ConfigMaps and Secrets a container reads', (t) => {
  const names = envObjectNames({
    envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's1' } }],
    env: [
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'b', key: 'k' } } },
      { name: 'Y', valueFrom: { secretKeyRef: { name: 's1', key: 'k' } } },
    ],
  });
  t.deepEqual([...names.configMaps], ['a', 'b']);
  t.deepEqual([...names.secrets], ['s1']);
  t.deepEqual(envFromVars(pod({}), {}, objects({})), { vars: new Map(), warnings: [] });
});
