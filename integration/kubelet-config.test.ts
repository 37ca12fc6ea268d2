// The kubelet's environment and API-data volumes end to end: a real etcd and
// API server in this process, `tsk kubelet` as a child process in a network
// namespace of its own (only lo; the API server through a unix socket, the
// test registries through unix-socket forwarders), loopback pod network.
//
// Checked: Service variables, envFrom and configMapKeyRef/secretKeyRef in a
// container's environment; a missing key is CreateContainerConfigError;
// configMap, secret (optional missing), downwardAPI and projected volumes in
// Kubernetes' ..data layout, an update of the ConfigMap and a label change
// seen inside the running container; a missing ConfigMap keeps the pod
// waiting with FailedMount until it exists; an image pulled from a registry
// with htpasswd auth through imagePullSecrets, and refused without them.
//
// Everything (processes, namespace, containers, mounts, temp dirs, the
// registries) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Pod } from '../api/gen/tsk/v1/core';
import { busyboxImage, pushImage } from '../kubelet/runtime/image/builder';
import { eventually } from './support/client-harness';
import { CleanupStack } from './support/cleanups';
import { pipeTo } from './support/netns';
import { startRegistry } from './support/registry';
import { mountPointsUnder } from '../util/mounts';
import { newNodeEnv, outFile, startNodeEnv, waitPod, type NodeEnv } from './support/node-env';

const NS = 'default';

interface Env extends NodeEnv {
  /** busybox in the registry that needs alice's password. */
  privateImage: string;
  privateHost: string;
}

const test = anyTest as TestFn<Env>;

const USER = 'alice';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

/** The auth registry with busybox pushed under alice's account, forwarded like the anonymous one. */
async function startPrivateRegistry(cleanups: CleanupStack, dir: string): Promise<{ image: string; host: string; port: number; socket: string }> {
  const registry = await startRegistry({ users: { [USER]: PASSWORD } });
  cleanups.push(() => registry.stop());
  await pushImage(registry.host, 'team/busybox', 'v1', await busyboxImage(), { username: USER, password: PASSWORD });
  const port = Number(registry.host.split(':')[1]);
  const socket = path.join(dir, 'private-registry.sock');
  const hostSide = pipeTo(() => net.connect(port, '127.0.0.1'));
  await new Promise<void>((r) => hostSide.listen(socket, r));
  cleanups.push(() => new Promise<void>((r) => hostSide.close(() => r())));
  return { image: `${registry.host}/team/busybox:v1`, host: registry.host, port, socket };
}

test.before(async (t) => {
  t.context = newNodeEnv<Env>('kc');
  const priv = await startPrivateRegistry(t.context.cleanups, t.context.dir);
  t.context.privateImage = priv.image;
  t.context.privateHost = priv.host;
  await startNodeEnv(t.context, { forward: [priv] });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

async function events(env: Env, name: string): Promise<string[]> {
  const evs = await env.clientset.events.list({ namespace: NS, fieldSelector: `involvedObject.name=${name}` });
  return (evs.items ?? []).map((e) => `${e.type ?? ''} ${e.reason ?? ''} ${e.message ?? ''}`);
}

const running = (p: Pod): boolean => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running !== undefined;

function pod(env: Env, name: string, spec: Partial<NonNullable<Pod['spec']>>, container: NonNullable<NonNullable<Pod['spec']>['containers']>[number]): Pod {
  return {
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 2,
      ...spec,
      volumes: [{ name: 'out', hostPath: { path: env.out, type: 'Directory' } }, ...(spec.volumes ?? [])],
      containers: [{ image: env.image, ...container, volumeMounts: [{ name: 'out', mountPath: '/out' }, ...(container.volumeMounts ?? [])] }],
    },
  };
}

test.serial('env: Service variables, envFrom with a prefix, configMapKeyRef and secretKeyRef; a missing key is CreateContainerConfigError', async (t) => {
  const env = t.context;
  const svc = await env.clientset.services.create({
    metadata: { name: 'redis-master', namespace: NS },
    spec: { selector: { app: 'redis' }, ports: [{ name: 'redis', port: 6379, targetPort: { type: 0, intVal: 6379 } }] },
  });
  const ip = svc.spec?.clusterIP ?? '';
  t.regex(ip, /^\d+\.\d+\.\d+\.\d+$/);
  await env.clientset.configMaps.create({ metadata: { name: 'app-env', namespace: NS }, data: { LOG_LEVEL: 'debug', '1st': 'x' } });
  await env.clientset.secrets.create({ metadata: { name: 'db', namespace: NS }, stringData: { password: 'hunter2' } });
  await env.clientset.pods.create(
    pod(
      env,
      'envpod',
      {},
      {
        name: 'main',
        command: ['sh', '-c', 'env | sort > /out/env.tmp && mv /out/env.tmp /out/env; exec sleep 3600'],
        envFrom: [{ configMapRef: { name: 'app-env' } }, { prefix: 'DB_', secretRef: { name: 'db' } }],
        env: [
          { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'app-env', key: 'LOG_LEVEL' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'OPTIONAL', valueFrom: { configMapKeyRef: { name: 'nowhere', key: 'x', optional: true } } },
          { name: 'REDIS_URL', value: 'redis://$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT_REDIS)' },
        ],
      },
    ),
  );
  await waitPod(env, 'envpod', running, 'envpod Running');
  await eventually(() => outFile(env, 'env') !== '', 30_000, 'the container to write its environment');
  const vars = new Map(
    outFile(env, 'env')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  t.is(vars.get('LOG_LEVEL'), 'debug');
  t.is(vars.get('DB_password'), 'hunter2');
  t.is(vars.get('LEVEL'), 'debug');
  t.is(vars.get('PASSWORD'), 'hunter2');
  t.false(vars.has('OPTIONAL'));
  t.is(vars.get('REDIS_MASTER_SERVICE_HOST'), ip);
  t.is(vars.get('REDIS_MASTER_SERVICE_PORT'), '6379');
  t.is(vars.get('REDIS_MASTER_PORT'), `tcp://${ip}:6379`);
  t.is(vars.get('REDIS_MASTER_PORT_6379_TCP_ADDR'), ip);
  t.is(vars.get('REDIS_URL'), `redis://${ip}:6379`);
  await eventually(
    async () => (await events(env, 'envpod')).some((e) => e.includes('InvalidEnvironmentVariableNames Keys [1st] from the EnvFrom configMap default/app-env')),
    15_000,
    'the InvalidEnvironmentVariableNames event',
  );

  await env.clientset.pods.create(
    pod(env, 'badkey', {}, { name: 'main', command: ['sleep', '3600'], env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }] }),
  );
  const bad = await waitPod(env, 'badkey', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError', 'badkey waiting');
  t.is(bad.status?.containerStatuses?.[0]?.state?.waiting?.message, "couldn't find key user in Secret default/db");
  t.false(
    (await events(env, 'badkey')).some((e) => e.includes('hunter2')),
    'no event shows the Secret value',
  );
  t.false(
    env.log.some((l) => l.includes('hunter2')),
    'the kubelet log does not either',
  );
  await env.clientset.pods.delete('envpod', { namespace: NS });
  await env.clientset.pods.delete('badkey', { namespace: NS });
});

test.serial('volumes: configMap, secret, optional missing, downwardAPI and projected; updates and label changes reach the running container', async (t) => {
  const env = t.context;
  await env.clientset.configMaps.create({ metadata: { name: 'game', namespace: NS }, data: { 'game.properties': 'lives=3', 'ui.properties': 'color=red' } });
  await env.clientset.secrets.create({ metadata: { name: 'creds', namespace: NS }, stringData: { username: 'admin', password: 's3cret' } });
  const script = [
    'while true; do',
    'cat /cfg/game.properties > /out/vol-game.tmp && mv /out/vol-game.tmp /out/vol-game;',
    'cat /info/labels > /out/vol-labels.tmp && mv /out/vol-labels.tmp /out/vol-labels;',
    'ls -la /cfg /sec /opt /all > /out/vol-ls.tmp; cat /sec/pw /all/user /all/name >> /out/vol-ls.tmp 2>&1;',
    'stat -c "%a %n" /sec/..data/pw /all/..data/user >> /out/vol-ls.tmp; grep -E " /(sec|all|cfg) " /proc/mounts >> /out/vol-ls.tmp;',
    'mv /out/vol-ls.tmp /out/vol-ls;',
    'touch /cfg/x 2>/out/vol-ro.tmp; mv /out/vol-ro.tmp /out/vol-ro;',
    'sleep 0.5; done',
  ].join(' ');
  await env.clientset.pods.create(
    pod(
      env,
      'volpod',
      {
        volumes: [
          { name: 'cfg', configMap: { name: 'game' } },
          { name: 'sec', secret: { secretName: 'creds', defaultMode: 0o400, items: [{ key: 'password', path: 'pw' }] } },
          { name: 'opt', secret: { secretName: 'not-there', optional: true } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          {
            name: 'all',
            projected: {
              sources: [
                { secret: { name: 'creds', items: [{ key: 'username', path: 'user', mode: 0o440 }] } },
                { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
              ],
            },
          },
        ],
      },
      {
        name: 'main',
        command: ['sh', '-c', script],
        volumeMounts: [
          { name: 'cfg', mountPath: '/cfg' },
          { name: 'sec', mountPath: '/sec' },
          { name: 'opt', mountPath: '/opt' },
          { name: 'info', mountPath: '/info' },
          { name: 'all', mountPath: '/all' },
        ],
      },
    ),
  );
  const p = await waitPod(env, 'volpod', running, 'volpod Running');
  await eventually(
    () => outFile(env, 'vol-game') === 'lives=3' && outFile(env, 'vol-ls') !== '' && outFile(env, 'vol-ro') !== '',
    30_000,
    'the container to read its volumes',
  );
  const ls = outFile(env, 'vol-ls');
  t.regex(ls, /game\.properties -> \.\.data\/game\.properties/, 'keys are symlinks into ..data');
  t.regex(ls, /\.\.data -> \.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+/, '..data points at a timestamped dir');
  t.regex(ls, /pw -> \.\.data\/pw/);
  t.regex(ls, /s3cret/);
  t.regex(ls, /admin/);
  t.regex(ls, /volpod/);
  t.regex(ls, /400 \/sec\/\.\.data\/pw/);
  t.regex(ls, /440 \/all\/\.\.data\/user/);
  t.regex(outFile(env, 'vol-ro'), /Read-only file system/, 'configMap volumes are mounted read-only');
  t.is(outFile(env, 'vol-labels'), 'app="volpod"\n');
  t.regex(ls, /^tmpfs \/sec tmpfs ro/m, 'a secret volume is a tmpfs (Secret data never on disk), read-only');
  t.regex(ls, /^tmpfs \/all tmpfs ro/m, 'so is a projected volume');
  t.notRegex(ls, /^tmpfs \/cfg /m, 'a configMap volume is a plain directory');

  // On the node, the same layout under the pod's volume dir.
  const uid = p.metadata?.uid ?? '';
  const hostCfg = path.join(env.dataDir, 'pods', uid, 'volumes', 'kubernetes.io~configmap', 'cfg');
  const firstVersion = fs.readlinkSync(path.join(hostCfg, '..data'));

  const cm = await env.clientset.configMaps.get('game', NS);
  await env.clientset.configMaps.update({ ...cm, data: { 'game.properties': 'lives=5' } });
  await eventually(() => outFile(env, 'vol-game') === 'lives=5', 30_000, 'the ConfigMap update inside the container');
  const secondVersion = fs.readlinkSync(path.join(hostCfg, '..data'));
  t.not(secondVersion, firstVersion);
  t.deepEqual(fs.readdirSync(hostCfg).sort(), ['..data', secondVersion, 'game.properties'].sort(), 'the old version and the removed key are gone');

  const fresh = await env.clientset.pods.get('volpod', NS);
  await env.clientset.pods.update({ ...fresh, metadata: { ...fresh.metadata, labels: { app: 'volpod', tier: 'gold' } } });
  await eventually(() => outFile(env, 'vol-labels') === 'app="volpod"\ntier="gold"\n', 30_000, 'the label change inside the container');
  t.pass();
  await env.clientset.pods.delete('volpod', { namespace: NS });
  const podDir = path.join(env.dataDir, 'pods', uid);
  await eventually(() => !fs.existsSync(podDir), 60_000, 'the pod directory to be removed');
  t.deepEqual(mountPointsUnder(podDir), [], 'the tmpfs mounts went with the pod');
});

test.serial('a configMap volume whose ConfigMap is missing: the pod waits with FailedMount, and starts once it exists', async (t) => {
  const env = t.context;
  await env.clientset.pods.create(
    pod(
      env,
      'waiter',
      { volumes: [{ name: 'cfg', configMap: { name: 'late' } }] },
      { name: 'main', command: ['sh', '-c', 'cat /cfg/k > /out/late; exec sleep 3600'], volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] },
    ),
  );
  await eventually(
    async () => (await events(env, 'waiter')).some((e) => e === 'Warning FailedMount MountVolume.SetUp failed for volume "cfg" : configmap "late" not found'),
    30_000,
    'the FailedMount event',
  );
  const p = await env.clientset.pods.get('waiter', NS);
  t.is(p.status?.containerStatuses?.[0]?.state?.running, undefined);
  await env.clientset.configMaps.create({ metadata: { name: 'late', namespace: NS }, data: { k: 'here' } });
  await waitPod(env, 'waiter', running, 'waiter Running once the ConfigMap exists');
  await eventually(() => outFile(env, 'late') === 'here', 15_000, 'the container to read the ConfigMap');
  t.pass();
  await env.clientset.pods.delete('waiter', { namespace: NS });
});

test.serial(
  'imagePullSecrets: an image of a registry with htpasswd auth is pulled with the dockerconfigjson credentials, and refused without them',
  async (t) => {
    const env = t.context;
    const auths = { auths: { [env.privateHost]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } };
    await env.clientset.secrets.create({
      metadata: { name: 'regcred', namespace: NS },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': JSON.stringify(auths) },
    });
    await env.clientset.pods.create(pod(env, 'anon', {}, { name: 'main', image: env.privateImage, command: ['sleep', '3600'] }));
    const anon = await waitPod(
      env,
      'anon',
      (p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? ''),
      'anon refused by the registry',
    );
    t.regex(anon.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /authentication with registry|Back-off pulling image/);
    await env.clientset.pods.create(
      pod(env, 'private', { imagePullSecrets: [{ name: 'regcred' }] }, { name: 'main', image: env.privateImage, command: ['sleep', '3600'] }),
    );
    await waitPod(env, 'private', running, 'private Running with the pulled image');
    const evs = await events(env, 'private');
    t.true(evs.some((e) => e.startsWith(`Normal Pulled Successfully pulled image "${env.privateImage}"`)));
    t.false(evs.some((e) => e.includes(PASSWORD)));
    t.false(
      env.log.some((l) => l.includes(PASSWORD)),
      'the password is in no log line',
    );
    await env.clientset.pods.delete('anon', { namespace: NS });
    await env.clientset.pods.delete('private', { namespace: NS });
  },
);
