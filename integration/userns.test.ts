// Pods with hostUsers: false (user namespaces, KEP-127) end to end: a real
// etcd and API server in this process, `tsk kubelet` as a child process in a
// network namespace of its own (only lo; the API server through a unix
// socket, the test registry through a unix-socket forwarder).
//
// Checked, as Kubernetes' "Use a User Namespace With a Pod" shows them:
// inside the pod `readlink /proc/self/ns/user` is not the node's and
// /proc/self/uid_map is "0 HOST 65536"; the container runs as root inside
// while its process has the high ID on the node; its capabilities are the
// namespace's only (no clock change with CAP_SYS_TIME, no device nodes with
// CAP_MKNOD); the image's files, configMap and secret volumes are root's
// inside (idmapped); a file written to an
// emptyDir is the pod's high ID on the node and root's inside; exec and
// logs through the API work; a second pod gets a disjoint range; a
// restarted kubelet keeps each pod's range; procMount: Unmasked unmasks /proc
// only there; the cgroup's memory limit still holds; hostUsers: false with
// hostNetwork is refused with Kubernetes' message.
//
// Everything (processes, namespace, containers, mounts, temp dirs, the
// registry) is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pod } from '../api/gen/tsk/v1/core';
import { eventually } from './support/client-harness';
import { killProcess } from './support/netns';
import { writeTestKubeconfig } from './support/pki';
import { runTsctl, type Run } from './support/run';
import { newNodeEnv, startNodeEnv, startNodeKubelet, type NodeEnv } from './support/node-env';

const NS = 'default';

interface Env extends NodeEnv {
  /** For tsctl (TCP). */
  tsctlConfig: string;
}

const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv<Env>('un');
  await startNodeEnv(t.context, {
    beforeKubelet: async () => {
      const env = t.context;
      env.tsctlConfig = await writeTestKubeconfig(path.join(env.dir, 'tsctl-config'), env.api.grpcAddress);
      await env.clientset.configMaps.create({ metadata: { name: 'conf', namespace: NS }, data: { greeting: 'hello from a configMap' } });
      await env.clientset.secrets.create({ metadata: { name: 'token', namespace: NS }, stringData: { token: 's3cret' } });
    },
  });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

function tsctl(env: Env, args: string[]): Promise<Run> {
  const [command = '', ...rest] = args;
  return runTsctl([command, '--server', env.api.grpcAddress, '--kubeconfig', env.tsctlConfig, ...rest], { timeoutMs: 30_000 });
}

/** `tsctl exec POD -- sh -c SCRIPT`; fails the test on a non-zero exit unless `mayFail`. */
async function sh(env: Env, pod: string, script: string, mayFail = false): Promise<Run> {
  const r = await tsctl(env, ['exec', '-n', NS, pod, '--', 'sh', '-c', script]);
  if (!mayFail && r.code !== 0) throw new Error(`exec in ${pod}: ${script}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Creates a hostUsers: false pod with an emptyDir at /data and waits until it runs. */
async function runningUsernsPod(env: Env, name: string): Promise<Pod> {
  await env.clientset.pods.create({
    metadata: { name, namespace: NS },
    spec: {
      nodeName: env.nodeName,
      hostUsers: false,
      terminationGracePeriodSeconds: 1,
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'conf', configMap: { name: 'conf' } },
        { name: 'token', secret: { secretName: 'token' } },
      ],
      containers: [
        {
          name: 'shell',
          image: env.image,
          command: ['sh', '-c', 'echo started as $(id -u); exec sleep 3600'],
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'conf', mountPath: '/conf' },
            { name: 'token', mountPath: '/token' },
          ],
          // Granted, yet useless against the node: the capabilities are the pod's user namespace's.
          securityContext: { capabilities: { add: ['SYS_TIME'] } },
        },
      ],
    },
  });
  let last: Pod | undefined;
  await eventually(
    async () => {
      last = await env.clientset.pods.get(name, NS);
      return last.status?.containerStatuses?.[0]?.state?.running !== undefined;
    },
    90_000,
    `pod ${name} to run`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last as Pod;
}

/** The pod's range as the kubelet recorded it in the pod's directory. */
function recordedHostId(env: Env, pod: Pod): number {
  const rec = JSON.parse(fs.readFileSync(path.join(env.dataDir, 'pods', pod.metadata?.uid ?? '', 'userns'), 'utf8')) as {
    uidMappings: { hostId: number; containerId: number; length: number }[];
  };
  const m = rec.uidMappings[0];
  if (!m || m.containerId !== 0 || m.length !== 65536) throw new Error(`unexpected userns record ${JSON.stringify(rec)}`);
  return m.hostId;
}

/** Host PIDs of the processes whose cwd-independent cmdline is `sleep 3600` inside the pod's containers (the ones in its cgroup). */
function containerPids(env: Env, pod: Pod): number[] {
  const uid = pod.metadata?.uid ?? '';
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cg = fs.readFileSync(`/proc/${p}/cgroup`, 'utf8');
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cg.includes(uid) && cmd.startsWith('sleep\0')) pids.push(Number(p));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

let first: { pod: Pod; hostId: number } | undefined;

test.serial('a hostUsers: false pod runs in a user namespace of its own, as root inside and an unprivileged ID on the node', async (t) => {
  const env = t.context;
  const pod = await runningUsernsPod(env, 'userns');
  const hostId = recordedHostId(env, pod);
  first = { pod, hostId };
  t.true(hostId >= 65536 && hostId % 65536 === 0, `host ID ${hostId}`);

  const ns = await sh(env, 'userns', 'readlink /proc/self/ns/user');
  t.regex(ns.stdout.trim(), /^user:\[\d+\]$/);
  t.not(ns.stdout.trim(), fs.readlinkSync('/proc/self/ns/user'), "not the node's user namespace");
  const map = await sh(env, 'userns', 'cat /proc/self/uid_map; cat /proc/self/gid_map');
  t.deepEqual(
    map.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/)),
    [
      ['0', String(hostId), '65536'],
      ['0', String(hostId), '65536'],
    ],
  );
  t.is((await sh(env, 'userns', 'id -u; id -g')).stdout, '0\n0\n');

  // From the node: the container's process is the pod's root, the host ID.
  const pids = containerPids(env, pod);
  t.true(pids.length > 0, 'the container process is found on the node');
  for (const pid of pids)
    t.is(
      execFileSync('ps', ['-o', 'uid=', '-p', String(pid)])
        .toString()
        .trim(),
      String(hostId),
    );

  // The image's files are root's inside (idmapped layers); what root makes in the rootfs too.
  t.is((await sh(env, 'userns', 'stat -c %u:%g /bin/busybox; touch /made; stat -c %u:%g /made')).stdout, '0:0\n0:0\n');

  // Namespaced capabilities only: CAP_SYS_TIME cannot set the node's clock, CAP_MKNOD makes no devices.
  const clock = await sh(env, 'userns', 'date -s 2001-01-01 2>&1', true);
  t.regex(clock.stdout, /Operation not permitted/);
  t.true(new Date().getFullYear() > 2001);
  const dev = await sh(env, 'userns', 'mknod /tmp/sda b 8 0 2>&1', true);
  t.not(dev.code, 0);
  t.regex(dev.stdout, /Operation not permitted/);

  // An emptyDir: the pod's root inside, the high ID on the node.
  t.is((await sh(env, 'userns', 'echo hello > /data/f; stat -c %u:%g /data/f /data')).stdout, '0:0\n0:0\n');
  const onNode = fs.statSync(path.join(env.dataDir, 'pods', pod.metadata?.uid ?? '', 'volumes', 'kubernetes.io~empty-dir', 'data', 'f'));
  t.is(onNode.uid, hostId);
  t.is(onNode.gid, hostId);

  // configMap and secret volumes (the secret's on a tmpfs): idmapped, the kubelet's files are root's inside.
  const vols = await sh(env, 'userns', 'cat /conf/greeting /token/token; echo; stat -L -c %u:%g /conf/greeting /token/token');
  t.is(vols.stdout, 'hello from a configMap' + 's3cret\n0:0\n0:0\n');

  const logs = await tsctl(env, ['logs', '-n', NS, 'userns']);
  t.is(logs.code, 0, logs.stderr);
  t.is(logs.stdout, 'started as 0\n');
});

test.serial('a second pod gets a disjoint range', async (t) => {
  const env = t.context;
  if (!first) return t.fail('the first test did not run');
  const pod = await runningUsernsPod(env, 'userns-2');
  const hostId = recordedHostId(env, pod);
  t.true(hostId >= first.hostId + 65536 || hostId + 65536 <= first.hostId, `ranges ${first.hostId} and ${hostId} overlap`);
  t.regex((await sh(env, 'userns-2', 'cat /proc/self/uid_map')).stdout, new RegExp(`^\\s*0\\s+${hostId}\\s+65536\\s*$`));
});

test.serial('a restarted kubelet keeps each running pod and its range', async (t) => {
  const env = t.context;
  if (!first) return t.fail('the first test did not run');
  const k = env.kubelet.proc;
  env.kubelet.proc = undefined;
  if (k) await killProcess(k);
  await startNodeKubelet(env);
  // A pod created after the restart must not be given a range in use.
  const third = await runningUsernsPod(env, 'userns-3');
  const thirdId = recordedHostId(env, third);
  const second = recordedHostId(env, await env.clientset.pods.get('userns-2', NS));
  t.deepEqual(new Set([first.hostId, second, thirdId]).size, 3, `ranges ${first.hostId}, ${second}, ${thirdId}`);
  t.is(recordedHostId(env, first.pod), first.hostId);
  const map = await sh(env, 'userns', 'cat /proc/self/uid_map; cat /data/f');
  t.regex(map.stdout, new RegExp(`^\\s*0\\s+${first.hostId}\\s+65536\\s*\\nhello\\n$`));
});

test.serial('procMount: Unmasked in a user namespace gets /proc without masked paths; a Default container of the same pod keeps them', async (t) => {
  const env = t.context;
  await env.clientset.pods.create({
    metadata: { name: 'userns-proc', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      hostUsers: false,
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'unmasked', image: env.image, command: ['sleep', '3600'], securityContext: { procMount: 'Unmasked' } },
        { name: 'default', image: env.image, command: ['sleep', '3600'] },
      ],
    },
  });
  await eventually(
    async () => (await env.clientset.pods.get('userns-proc', NS)).status?.containerStatuses?.every((c) => c.state?.running !== undefined) === true,
    90_000,
    'pod userns-proc to run',
  );
  const count = async (c: string): Promise<number> => {
    const r = await tsctl(env, ['exec', '-n', NS, 'userns-proc', '-c', c, '--', 'sh', '-c', "grep -c ' /proc/[a-z]' /proc/mounts || true"]);
    if (r.code !== 0) throw new Error(`exec in ${c}: ${r.stderr}`);
    return Number(r.stdout.trim());
  };
  t.is(await count('unmasked'), 0);
  t.true((await count('default')) > 0);
});

test.serial('a container in a user namespace is still held by its cgroup: over its memory limit it is OOMKilled', async (t) => {
  const env = t.context;
  await env.clientset.pods.create({
    metadata: { name: 'userns-oom', namespace: NS },
    spec: {
      nodeName: env.nodeName,
      hostUsers: false,
      restartPolicy: 'Never',
      containers: [
        {
          name: 'hog',
          image: env.image,
          command: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'],
          resources: { limits: { memory: '32Mi' } },
        },
      ],
    },
  });
  let last: Pod | undefined;
  await eventually(
    async () => {
      last = await env.clientset.pods.get('userns-oom', NS);
      return last.status?.containerStatuses?.[0]?.state?.terminated !== undefined;
    },
    90_000,
    'the hog to end',
  );
  t.is(last?.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'OOMKilled', JSON.stringify(last?.status));
});

test.serial("hostUsers: false with hostNetwork is refused with Kubernetes' message", async (t) => {
  const env = t.context;
  const err = await t.throwsAsync(
    env.clientset.pods.create({
      metadata: { name: 'userns-hostnet', namespace: NS },
      spec: { hostUsers: false, hostNetwork: true, containers: [{ name: 'c', image: env.image }] },
    }),
  );
  t.regex(err?.message ?? '', /spec\.hostNetwork: Forbidden: when `pod\.Spec\.HostUsers` is false/);
});
