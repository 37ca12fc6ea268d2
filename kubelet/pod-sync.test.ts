// The pod sync executor against a fake runtime, fake image store and fake
// pod API: what it calls, the events it records and the status it writes,
// through a pod's life (start, crash loop, image errors, deletion, orphans).

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConflictError, NotFoundError } from '../api/errors';
import type { ConfigMap, Container, Lifecycle, Pod, ResourceRequirements, Secret, Service } from '../api/gen/tsk/v1/core';
import type { ObjectReference } from '../api/gen/tsk/v1/meta';
import { FakeClock, type DeleteOptions, type EventRecorder, type EventType } from '../client';
import type { ObjectGetter } from './api-objects';
import { ImagePuller, type ImageService } from './images';
import { KubeletMetrics } from './metrics';
import { KubeletStoppingError, PodSyncer, type PodSyncDeps } from './pod-sync';
import { UserNamespaceAllocator } from './userns';
import { newSysctlAllowlist } from './sysctl-allowlist';
import { ProbeManager } from './probes';
import type { PullOptions } from './runtime/image/store';
import type { ImageRecord } from './runtime/image/types';
import { FakeRuntime } from './testing/fake-runtime';

class FakePods {
  readonly statuses: Pod[] = [];
  readonly deletes: Array<{ name: string; opts: DeleteOptions | undefined }> = [];
  current: Pod | undefined;
  conflictOnce = false;
  async get(name: string): Promise<Pod> {
    if (!this.current || this.current.metadata?.name !== name) throw new NotFoundError('Pod', name);
    return this.current;
  }
  async updateStatus(p: Pod): Promise<Pod> {
    if (this.conflictOnce) {
      this.conflictOnce = false;
      throw new ConflictError('the object has been modified');
    }
    this.statuses.push(p);
    this.current = p;
    return p;
  }
  async delete(name: string, opts?: DeleteOptions): Promise<Pod> {
    this.deletes.push({ name, opts });
    return this.current as Pod;
  }
}

/** ConfigMaps and Secrets by "namespace/name"; a getter that reads them (and can be changed between syncs). */
class FakeObjects implements ObjectGetter {
  readonly configMaps = new Map<string, ConfigMap>();
  readonly secrets = new Map<string, Secret>();
  async configMap(ns: string, name: string): Promise<ConfigMap | undefined> {
    return this.configMaps.get(`${ns}/${name}`);
  }
  async secret(ns: string, name: string): Promise<Secret | undefined> {
    return this.secrets.get(`${ns}/${name}`);
  }
}

class Events implements EventRecorder {
  readonly seen: string[] = [];
  event(o: ObjectReference, type: EventType, reason: string, message: string): void {
    this.seen.push(`${type} ${reason} ${o.fieldPath ? `${o.fieldPath} ` : ''}${message}`);
  }
}

function image(ref: string): ImageRecord {
  return {
    id: `sha256:${'a'.repeat(64)}`,
    references: [ref],
    config: { entrypoint: [], cmd: ['sh'], env: [], workingDir: '', user: '', exposedPorts: [], labels: {} },
    layerDirs: [],
    size: 1234,
    created: '',
  };
}

class FakeImages implements ImageService {
  readonly local = new Map<string, ImageRecord>();
  pulls: string[] = [];
  /** The username each pull was made with ('' anonymous). */
  pullUsers: string[] = [];
  failPull: Error | undefined;
  async get(ref: string): Promise<ImageRecord | undefined> {
    return this.local.get(ref);
  }
  async pull(ref: string, opts?: PullOptions): Promise<ImageRecord> {
    this.pulls.push(ref);
    this.pullUsers.push(opts?.auth?.username ?? '');
    if (this.failPull) throw this.failPull;
    const rec = image(ref);
    this.local.set(ref, rec);
    return rec;
  }
}

/**
 * Removes a kubelet data directory once the current turn's deferred writes
 * are done: the allocation checkpoint is saved on the next turn
 * (setImmediate), and written after the removal it made the directory again.
 */
function removeAfterTurn(dir: string): () => Promise<void> {
  return async () => {
    await new Promise((r) => setImmediate(r));
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

function setup(t: { teardown(fn: () => void | Promise<void>): void }, extra: Partial<PodSyncDeps> = {}) {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const runtime = new FakeRuntime(() => clock.now());
  const images = new FakeImages();
  const pods = new FakePods();
  const events = new Events();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-kubelet-sync-'));
  t.teardown(removeAfterTurn(dataDir));
  const probes = new ProbeManager({ runtime, clock, onChange: () => undefined, event: () => undefined });
  const objects = new FakeObjects();
  const services: Service[] = [];
  const syncer = new PodSyncer({
    runtime,
    puller: new ImagePuller(images, { now: () => clock.now(), log: () => undefined }),
    recorder: events,
    pods,
    probes,
    clock,
    metrics: new KubeletMetrics(),
    dataDir,
    hostIP: '192.0.2.10',
    networkNotReady: () => undefined,
    sysctls: newSysctlAllowlist(['net.core.somaxconn']),
    objects,
    services: () => services,
    nodeAllocatable: { cpuMilli: 4000, memoryBytes: 8 * 2 ** 30 },
    dns: () => ({ clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host: { nameservers: ['192.0.2.53'], searches: ['corp.example'], options: [] } }),
    log: () => undefined,
    ...extra,
  });
  return { clock, runtime, images, pods, events, syncer, dataDir, objects, services };
}

function pod(o: { restartPolicy?: string; pullPolicy?: string; volumes?: boolean } = {}): Pod {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1', resourceVersion: '5' },
    spec: {
      nodeName: 'n1',
      restartPolicy: o.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'app',
          image: 'busybox:1.36',
          imagePullPolicy: o.pullPolicy ?? 'IfNotPresent',
          command: ['sh', '-c', 'echo $(GREETING)'],
          env: [
            { name: 'GREETING', value: 'hi' },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '64Mi' } },
          ...(o.volumes
            ? {
                volumeMounts: [
                  { name: 'scratch', mountPath: '/scratch' },
                  { name: 'host', mountPath: '/host', readOnly: true },
                ],
              }
            : {}),
        },
      ],
      ...(o.volumes
        ? {
            volumes: [
              { name: 'scratch', emptyDir: {} },
              { name: 'host', hostPath: { path: '/tmp', type: 'Directory' } },
            ],
          }
        : {}),
    },
    status: { phase: 'Pending' },
  };
}

/** The pod as the API has it after the kubelet's last status write. */
function latest(env: ReturnType<typeof setup>, p: Pod): Pod {
  return env.pods.statuses.at(-1) ?? p;
}

test('a new pod: sandbox, image, container created and started, with events and a Running status', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod({ volumes: true });
  await env.syncer.syncPod(p);
  t.deepEqual(env.runtime.calls, ['createSandbox web', 'createContainer app', 'startContainer app']);
  t.deepEqual(env.events.seen, [
    'Normal Pulled spec.containers{app} Container image "busybox:1.36" already present on machine',
    'Normal Created spec.containers{app} Created container app',
    'Normal Started spec.containers{app} Started container app',
  ]);
  const c = [...env.runtime.containers.values()][0];
  t.deepEqual(c?.command, ['sh', '-c', 'echo hi']);
  t.is(c?.image, `sha256:${'a'.repeat(64)}`, 'the container runs the image ID just ensured');
  t.deepEqual(c?.resources, { cpuRequestMilli: 250, cpuLimitMilli: 500, memoryLimitBytes: 64 * 1024 * 1024 });
  const sandbox = [...env.runtime.sandboxes.values()][0];
  t.is(sandbox?.labels['io.kubernetes.pod.uid'], 'uid-1');
  t.true(fs.statSync(path.join(env.dataDir, 'pods', 'uid-1', 'volumes', 'kubernetes.io~empty-dir', 'scratch')).isDirectory());
  const st = latest(env, p).status;
  t.is(st?.phase, 'Running');
  t.is(st?.podIP, '10.244.0.5');
  t.is(st?.hostIP, '192.0.2.10');
  t.is(st?.containerStatuses?.[0]?.containerID, `tsk://${c?.id ?? ''}`);
  t.true(st?.containerStatuses?.[0]?.ready);
  const n = env.pods.statuses.length;
  await env.syncer.syncPod(latest(env, p));
  t.is(env.pods.statuses.length, n, 'no status write when nothing changed');
  t.deepEqual(env.runtime.calls.slice(3), [], 'nothing to do the second time');
});

test('Always: a crashing container restarts, then backs off (CrashLoopBackOff) 10 s, 20 s', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  await env.syncer.syncPod(p);
  const first = [...env.runtime.containers.keys()][0] as string;
  env.runtime.exit(first, 1);
  t.is(await env.syncer.syncPod(latest(env, p)), undefined, 'first crash: restarted at once');
  const ids = [...env.runtime.containers.keys()];
  t.is(ids.length, 2);
  const second = ids[1] as string;
  t.is(env.runtime.containers.get(second)?.annotations['io.kubernetes.container.restartCount'], '1');
  await env.clock.advance(1000);
  env.runtime.exit(second, 1);
  const requeue = await env.syncer.syncPod(latest(env, p));
  t.true(requeue !== undefined && requeue > 0 && requeue <= 10_000, `requeue after ${requeue}`);
  const st = latest(env, p).status?.containerStatuses?.[0];
  t.is(st?.state?.waiting?.reason, 'CrashLoopBackOff');
  t.is(st?.state?.waiting?.message, 'back-off 10s restarting failed container=app pod=web_default(uid-1)');
  t.is(st?.restartCount, 1);
  t.is(st?.lastState?.terminated?.exitCode, 1);
  t.true(env.events.seen.includes('Warning BackOff spec.containers{app} Back-off restarting failed container app in pod web_default(uid-1)'));
  await env.clock.advance(10_000);
  await env.syncer.syncPod(latest(env, p));
  t.is([...env.runtime.containers.values()].filter((c) => c.state === 'running').length, 1, 'restarted after the back-off');
  const third = [...env.runtime.containers.values()].find((c) => c.state === 'running');
  await env.clock.advance(1000);
  env.runtime.exit(third?.id ?? '', 1);
  await env.syncer.syncPod(latest(env, p));
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting?.message, 'back-off 20s restarting failed container=app pod=web_default(uid-1)');
  t.is(latest(env, p).status?.containerStatuses?.[0]?.restartCount, 2);
  t.is(env.runtime.containers.size, 2, 'old instances are garbage-collected (newest two kept)');
});

test('Never: exit 0 -> Succeeded and the sandbox is stopped', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod({ restartPolicy: 'Never' });
  await env.syncer.syncPod(p);
  env.runtime.exit([...env.runtime.containers.keys()][0] as string, 0);
  await env.syncer.syncPod(latest(env, p));
  t.is(latest(env, p).status?.phase, 'Succeeded');
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  t.is([...env.runtime.sandboxes.values()][0]?.state, 'notready');
  await env.syncer.syncPod(latest(env, p));
  t.is(env.runtime.calls.filter((c) => c.startsWith('createContainer')).length, 1, 'never started again');
});

test('image pull: Always pulls (Pulling/Pulled); a failure is ErrImagePull, then ImagePullBackOff until the back-off ends', async (t) => {
  const env = setup(t);
  env.images.failPull = new Error('registry 127.0.0.1:5000: connection refused');
  const p = pod({ pullPolicy: 'Always' });
  await env.syncer.syncPod(p);
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ErrImagePull');
  t.true(env.events.seen.includes('Warning Failed spec.containers{app} Failed to pull image "busybox:1.36": registry 127.0.0.1:5000: connection refused'));
  t.true(env.events.seen.includes('Warning Failed spec.containers{app} Error: ErrImagePull'));
  await env.syncer.syncPod(latest(env, p));
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ImagePullBackOff');
  t.is(env.images.pulls.length, 1, 'no pull during the back-off');
  env.images.failPull = undefined;
  await env.clock.advance(10_001);
  await env.syncer.syncPod(latest(env, p));
  t.is(env.images.pulls.length, 2);
  t.truthy(latest(env, p).status?.containerStatuses?.[0]?.state?.running);
  t.true(env.events.seen.includes('Normal Pulling spec.containers{app} Pulling image "busybox:1.36"'));
  t.true(
    env.events.seen.some((e) =>
      /^Normal Pulled spec.containers\{app\} Successfully pulled image "busybox:1.36" in 0s \(0s including waiting\)\. Image size: 1234 bytes\.$/.test(e),
    ),
  );
});

test('Never pull policy with the image absent: ErrImageNeverPull', async (t) => {
  const env = setup(t);
  const p = pod({ pullPolicy: 'Never' });
  await env.syncer.syncPod(p);
  t.deepEqual(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting, {
    reason: 'ErrImageNeverPull',
    message: 'Container image "busybox:1.36" is not present with pull policy of Never',
  });
  t.is(env.images.pulls.length, 0);
});

test('a create failure is CreateContainerError; a bad env fieldRef is CreateContainerConfigError', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  env.runtime.failNext('createContainer', new Error('rootfs: no space left on device'));
  const p = pod();
  await env.syncer.syncPod(p);
  t.deepEqual(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting, { reason: 'CreateContainerError', message: 'rootfs: no space left on device' });
  const bad = pod();
  bad.spec!.containers![0]!.env = [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nope' } } }];
  await env.syncer.syncPod(bad);
  t.is(latest(env, bad).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'CreateContainerConfigError');
});

test('a status conflict is retried once on a fresh read', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  env.pods.current = p;
  env.pods.conflictOnce = true;
  await env.syncer.syncPod(p);
  t.is(latest(env, p).status?.phase, 'Running');
});

test('terminate: containers stopped with the grace period, final status, delete with grace 0 and the UID, then everything removed', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod({ volumes: true });
  await env.syncer.syncPod(p);
  const deleting = { ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 7 } };
  await env.syncer.terminatePod(deleting);
  t.true(env.runtime.calls.includes('stopContainer app 7'));
  t.true(env.events.seen.includes('Normal Killing spec.containers{app} Stopping container app'));
  t.deepEqual(env.pods.deletes, [{ name: 'web', opts: { namespace: 'default', gracePeriodSeconds: 0, preconditions: { uid: 'uid-1' } } }]);
  t.is(latest(env, p).status?.phase, 'Failed', 'a deleted pod whose container was killed ends Failed');
  t.is(env.runtime.containers.size, 0);
  t.is(env.runtime.sandboxes.size, 0);
  t.false(fs.existsSync(path.join(env.dataDir, 'pods', 'uid-1')));
  await env.syncer.terminatePod(deleting);
  t.pass('terminating again is harmless');
});

test('an orphan (pod gone from the API) is stopped and removed', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  await env.syncer.syncPod(pod());
  await env.syncer.cleanupOrphan('uid-1', undefined);
  t.true(env.runtime.calls.includes('stopContainer app 2'), 'a short grace period for a pod the API forgot');
  t.is(env.runtime.containers.size, 0);
  t.is(env.runtime.sandboxes.size, 0);
});

test('activeDeadlineSeconds: the sync asks to come back at the deadline, then fails the pod (DeadlineExceeded)', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.activeDeadlineSeconds = 30;
  const again = await env.syncer.syncPod(p);
  t.is(again, 30_000, 'back at the deadline');
  await env.clock.advance(30_000);
  await env.syncer.syncPod(latest(env, p));
  const st = latest(env, p).status;
  t.is(st?.phase, 'Failed');
  t.is(st?.reason, 'DeadlineExceeded');
  t.is(st?.message, 'Pod was active on the node longer than the specified deadline');
  t.true(env.runtime.calls.includes('stopContainer app 30'));
  t.true(env.events.seen.includes('Warning DeadlineExceeded Pod was active on the node longer than the specified deadline'));
  const creates = env.runtime.calls.filter((c) => c.startsWith('createContainer')).length;
  await env.syncer.syncPod(latest(env, p));
  t.is(env.runtime.calls.filter((c) => c.startsWith('createContainer')).length, creates, 'a failed pod is not restarted');
  t.is(latest(env, p).status?.reason, 'DeadlineExceeded', 'the reason stays');
});

test('hostNetwork pods are refused with an event, not run in a namespace of their own', async (t) => {
  const env = setup(t);
  const p = pod();
  p.spec!.hostNetwork = true;
  await env.syncer.syncPod(p);
  t.deepEqual(env.runtime.calls, []);
  t.true(env.events.seen.includes('Warning FailedCreatePodSandBox Failed to create pod sandbox: hostNetwork pods are not supported by the tsk runtime'));
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');
});

test("hostUsers: false: the sandbox gets the pod's range, its emptyDir is the pod root's, its other volumes are idmapped", async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-kubelet-userns-'));
  t.teardown(removeAfterTurn(dataDir));
  const env = setup(t, { dataDir, userNamespaces: new UserNamespaceAllocator(path.join(dataDir, 'pods'), { hostId: 131072, length: 65536 }) });
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.hostUsers = false;
  p.spec!.volumes = [
    { name: 'scratch', emptyDir: {} },
    { name: 'host', hostPath: { path: dataDir } },
  ];
  p.spec!.containers![0]!.volumeMounts = [
    { name: 'scratch', mountPath: '/scratch' },
    { name: 'host', mountPath: '/host' },
  ];
  await env.syncer.syncPod(p);
  t.deepEqual(env.runtime.sandboxConfigs[0]?.userNamespace, { hostId: 131072, length: 65536 });
  t.deepEqual(
    (env.runtime.containerConfigs[0]?.mounts ?? []).map((m) => [m.containerPath, m.idmapped === true]),
    [
      ['/scratch', false],
      ['/host', true],
    ],
  );
  const podDir = path.join(dataDir, 'pods', p.metadata!.uid!);
  const scratch = fs.statSync(path.join(podDir, 'volumes', 'kubernetes.io~empty-dir', 'scratch'));
  t.deepEqual([scratch.uid, scratch.gid], [131072, 131072]);
  t.true(fs.readFileSync(path.join(podDir, 'userns'), 'utf8').includes('"hostId":131072'));
});

test('hostUsers: false on a node that cannot give user namespaces: no sandbox, an event that says why', async (t) => {
  const env = setup(t, { userNamespaces: { error: 'this node does not support them: user namespaces are switched off (user.max_user_namespaces is 0)' } });
  const p = pod();
  p.spec!.hostUsers = false;
  await env.syncer.syncPod(p);
  t.deepEqual(env.runtime.sandboxConfigs, []);
  t.true(
    env.events.seen.includes(
      'Warning FailedCreatePodSandBox Failed to create pod sandbox: user namespaces: this node does not support them: user namespaces are switched off (user.max_user_namespaces is 0)',
    ),
    env.events.seen.join('\n'),
  );
});

test('hostPID, hostIPC and sysctls go to the sandbox config', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.hostPID = true;
  p.spec!.hostIPC = true;
  p.spec!.securityContext = {
    sysctls: [
      { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
      { name: 'net.core.somaxconn', value: '1024' },
    ],
  };
  await env.syncer.syncPod(p);
  const cfg = env.runtime.sandboxConfigs[0];
  t.true(cfg?.hostPID);
  t.true(cfg?.hostIPC);
  t.deepEqual(cfg?.sysctls, { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.core.somaxconn': '1024' });
  t.falsy(cfg?.sharePID, 'no shared PID namespace unless asked');
  t.is(latest(env, p).status?.phase, 'Running');
});

test('shareProcessNamespace goes to the sandbox config as sharePID', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.shareProcessNamespace = true;
  await env.syncer.syncPod(p);
  t.true(env.runtime.sandboxConfigs[0]?.sharePID);
  t.false(env.runtime.sandboxConfigs[0]?.hostPID);
});

test('a sysctl not allowlisted fails the pod with SysctlForbidden before anything runs', async (t) => {
  const env = setup(t);
  const p = pod();
  p.spec!.securityContext = { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] };
  await env.syncer.syncPod(p);
  t.deepEqual(env.runtime.calls, []);
  const st = latest(env, p).status;
  t.is(st?.phase, 'Failed');
  t.is(st?.reason, 'SysctlForbidden');
  t.is(st?.message, 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted');
  t.true(env.events.seen.includes('Warning SysctlForbidden Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted'));
});

test('a windows pod bound to this Linux node fails with PodOSNotSupported before anything runs', async (t) => {
  const env = setup(t);
  const p = pod();
  p.spec!.os = { name: 'windows' };
  await env.syncer.syncPod(p);
  t.deepEqual(env.runtime.calls, []);
  const st = latest(env, p).status;
  t.is(st?.phase, 'Failed');
  t.is(st?.reason, 'PodOSNotSupported');
  t.is(st?.message, "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS");
  t.true(env.events.seen.includes("Warning PodOSNotSupported Pod was rejected: Failed to admit pod as the OS field doesn't match node OS"));
});

test('lifecycle.stopSignal replaces SIGTERM when the kubelet stops the container', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.os = { name: 'linux' };
  p.spec!.containers![0]!.lifecycle = { stopSignal: 'SIGUSR1' };
  await env.syncer.syncPod(p);
  t.is(latest(env, p).status?.phase, 'Running');
  const deleting = { ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 7 } };
  await env.syncer.terminatePod(deleting);
  t.true(env.runtime.calls.includes('stopContainer app 7 SIGUSR1'), env.runtime.calls.join(', '));
});

test('two pods pulling the same image at once share one pull', async (t) => {
  const env = setup(t);
  let release = (): void => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const slow: ImageService = {
    get: (ref) => env.images.get(ref),
    pull: async (ref) => {
      await gate;
      return env.images.pull(ref);
    },
  };
  const puller = new ImagePuller(slow, { now: () => env.clock.now(), log: () => undefined });
  const events: string[] = [];
  const a = puller.ensure('busybox:1.36', 'Always', 'pod-a', (_t, reason) => events.push(`a ${reason}`));
  const b = puller.ensure('busybox:1.36', 'Always', 'pod-b', (_t, reason) => events.push(`b ${reason}`));
  await new Promise((r) => setImmediate(r));
  release();
  const [ra, rb] = await Promise.all([a, b]);
  t.is(ra.id, rb.id);
  t.is(env.images.pulls.length, 1);
  t.deepEqual(events.sort(), ['a Pulled', 'a Pulling', 'b Pulled', 'b Pulling']);
});

test('abortWaits: a termination waiting out a grace period gives up at once (the next kubelet finishes it)', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  await env.syncer.syncPod(p);
  env.runtime.stopContainer = () => new Promise<void>(() => undefined); // a container that takes its whole grace period
  const deleting = { ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 30 } };
  const terminating = env.syncer.terminatePod(deleting);
  await new Promise((r) => setImmediate(r));
  env.syncer.abortWaits();
  await t.throwsAsync(terminating, { instanceOf: KubeletStoppingError });
  t.deepEqual(env.pods.deletes, [], 'the pod stays in the API (with its deletionTimestamp) for the next kubelet');
});

// ------------------------------------------------------------ lifecycle hooks

function hooked(lifecycle: Lifecycle): Pod {
  const p = pod();
  p.spec!.containers![0]!.lifecycle = lifecycle;
  return p;
}

test('postStart runs right after the start, and the status says Running only once it returned', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  let finish: () => void = () => undefined;
  const exec = env.runtime.exec.bind(env.runtime);
  env.runtime.exec = async (id, opts) => {
    await new Promise<void>((resolve) => (finish = resolve));
    return exec(id, opts);
  };
  const p = hooked({ postStart: { exec: { command: ['touch', '/started'] } } });
  const sync = env.syncer.syncPod(p);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.deepEqual(env.runtime.calls, ['createSandbox web', 'createContainer app', 'startContainer app']);
  t.is(env.pods.statuses.length, 0, 'no status while postStart runs');
  finish();
  await sync;
  const id = [...env.runtime.containers.keys()][0] ?? '';
  t.deepEqual(env.runtime.calls, ['createSandbox web', 'createContainer app', 'startContainer app', `exec ${id} touch /started`]);
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.running !== undefined, true);
});

test('a failed postStart: FailedPostStartHook with the message, the container killed, then restarted', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  env.runtime.execResults.set('false', { exitCode: 1, stdout: 'out', stderr: 'bad' });
  const p = hooked({ postStart: { exec: { command: ['false'] } } });
  t.is(await env.syncer.syncPod(p), undefined);
  t.true(env.runtime.calls.includes('stopContainer app 30'), env.runtime.calls.join(', '));
  t.true(
    env.events.seen.includes(
      'Warning FailedPostStartHook spec.containers{app} Exec lifecycle hook ([false]) for Container "app" in Pod "web_default(uid-1)" failed - error: command \'false\' exited with 1: bad, message: "outbad"',
    ),
    env.events.seen.join('\n'),
  );
  t.true(env.events.seen.includes('Normal Killing spec.containers{app} FailedPostStartHook'));
  t.truthy(latest(env, p).status?.containerStatuses?.[0]?.state?.terminated, 'reported as terminated, never Running');
  await env.syncer.syncPod(latest(env, p));
  t.is(env.runtime.containers.size, 2, 'restarted under restartPolicy Always');
});

test('preStop runs before the stop signal, and its time counts against the grace period', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = hooked({ preStop: { sleep: { seconds: 3 } } });
  await env.syncer.syncPod(p);
  const deleting = { ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 10 } };
  const done = env.syncer.terminatePod(deleting);
  await env.clock.advance(2000);
  t.false(
    env.runtime.calls.some((c) => c.startsWith('stopContainer')),
    'no signal while the hook sleeps',
  );
  await env.clock.advance(1000);
  await done;
  t.true(env.runtime.calls.includes('stopContainer app 7'), env.runtime.calls.join(', '));
  const killing = env.events.seen.indexOf('Normal Killing spec.containers{app} Stopping container app');
  t.true(killing >= 0);
});

test("a preStop that outlasts the grace period is cut short: the signal gets Kubernetes' 2 s minimum", async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = hooked({ preStop: { sleep: { seconds: 20 } } });
  await env.syncer.syncPod(p);
  const deleting = { ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 5 } };
  const done = env.syncer.terminatePod(deleting);
  await env.clock.advance(5000);
  await done;
  t.true(env.runtime.calls.includes('stopContainer app 2'), env.runtime.calls.join(', '));
  t.false(
    env.events.seen.some((e) => e.includes('FailedPreStopHook')),
    'cut short by the grace period is not a hook failure',
  );
});

test('a failed preStop is FailedPreStopHook without the output (it may hold secrets); grace 0 runs no hook', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  env.runtime.execResults.set('false', { exitCode: 1, stdout: 'secret', stderr: '' });
  const p = hooked({ preStop: { exec: { command: ['false'] } } });
  await env.syncer.syncPod(p);
  await env.syncer.terminatePod({ ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 4 } });
  t.true(env.events.seen.includes('Warning FailedPreStopHook spec.containers{app} PreStopHook failed'), env.events.seen.join('\n'));
  t.true(env.runtime.calls.indexOf('stopContainer app 4') > env.runtime.calls.findIndex((c) => c.endsWith(' false')));

  const env2 = setup(t);
  env2.images.local.set('busybox:1.36', image('busybox:1.36'));
  await env2.syncer.syncPod(p);
  await env2.syncer.terminatePod({ ...latest(env2, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 0 } });
  t.false(
    env2.runtime.calls.some((c) => c.startsWith('exec')),
    'force deletion: no preStop',
  );
  t.true(env2.runtime.calls.includes('stopContainer app 0'));
});

test('a liveness failure runs preStop before the stop signal too, with the probe-level grace period', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  env.runtime.execResults.set('false', { exitCode: 1, stdout: '', stderr: '' });
  const p = hooked({ preStop: { exec: { command: ['echo', 'bye'] } } });
  p.spec!.containers![0]!.livenessProbe = { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1, terminationGracePeriodSeconds: 5 };
  await env.syncer.syncPod(p);
  await env.clock.advance(1000);
  await env.syncer.syncPod(latest(env, p));
  const id = [...env.runtime.containers.keys()][0] ?? '';
  const hook = env.runtime.calls.indexOf(`exec ${id} echo bye`);
  t.true(hook > 0, env.runtime.calls.join(', '));
  t.true(env.runtime.calls.indexOf('stopContainer app 5') > hook, env.runtime.calls.join(', '));
});

test('a configMap volume whose ConfigMap is missing: FailedMount and no sandbox; once it exists the pod starts, and later syncs follow its updates', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.volumes = [
    { name: 'cfg', configMap: { name: 'app-config' } },
    { name: 'opt', secret: { secretName: 'absent', optional: true } },
  ];
  p.spec!.containers![0]!.volumeMounts = [{ name: 'cfg', mountPath: '/etc/app' }];
  await env.syncer.syncPod(p);
  t.false(env.runtime.calls.some((c) => c.startsWith('createSandbox')));
  t.true(env.events.seen.includes('Warning FailedMount MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found'));
  env.objects.configMaps.set('default/app-config', { data: { mode: 'one' } });
  await env.syncer.syncPod(p);
  t.true(env.runtime.calls.some((c) => c.startsWith('createSandbox')));
  const dir = path.join(env.dataDir, 'pods', 'uid-1', 'volumes', 'kubernetes.io~configmap', 'cfg');
  t.is(fs.readFileSync(path.join(dir, 'mode'), 'utf8'), 'one');
  t.deepEqual(
    fs.readdirSync(path.join(env.dataDir, 'pods', 'uid-1', 'volumes', 'kubernetes.io~secret', 'opt')).filter((e) => !e.startsWith('..')),
    [],
    'an optional Secret that is missing is an empty volume',
  );
  const mount = env.runtime.containerConfigs.at(-1)?.mounts?.find((m) => m.containerPath === '/etc/app');
  t.deepEqual(mount, { containerPath: '/etc/app', hostPath: dir, readOnly: true }, 'API data volumes are mounted read-only');
  env.objects.configMaps.set('default/app-config', { data: { mode: 'two' } });
  await env.syncer.syncPod(p);
  t.is(fs.readFileSync(path.join(dir, 'mode'), 'utf8'), 'two');
});

test('env from a ConfigMap and a Secret; a missing key is CreateContainerConfigError without the values', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  env.objects.configMaps.set('default/cfg', { data: { LEVEL: 'debug' } });
  env.objects.secrets.set('default/db', { data: { password: Buffer.from('hunter2') } });
  env.services.push({ metadata: { namespace: 'default', name: 'redis-master' }, spec: { clusterIP: '10.96.0.9', ports: [{ port: 6379 }] } });
  const p = pod();
  p.spec!.containers![0]!.envFrom = [{ configMapRef: { name: 'cfg' } }];
  p.spec!.containers![0]!.env!.push({ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } });
  await env.syncer.syncPod(p);
  const envList = env.runtime.containerConfigs.at(-1)?.env ?? [];
  t.true(envList.includes('LEVEL=debug'));
  t.true(envList.includes('PW=hunter2'));
  t.true(envList.includes('REDIS_MASTER_SERVICE_HOST=10.96.0.9'));

  const bad = pod();
  bad.metadata!.uid = 'uid-2';
  bad.spec!.containers![0]!.env!.push({ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pass' } } });
  await env.syncer.syncPod(bad);
  t.deepEqual(latest(env, bad).status?.containerStatuses?.[0]?.state?.waiting, {
    reason: 'CreateContainerConfigError',
    message: "couldn't find key pass in Secret default/db",
  });
  t.false(
    env.events.seen.some((e) => e.includes('hunter2')),
    'no event carries a Secret value',
  );
});

test('imagePullSecrets: the pull uses the credentials for the registry; a missing Secret gets a warning and the pull goes on', async (t) => {
  const env = setup(t);
  const auths = { auths: { 'registry.example:5000': { auth: Buffer.from('alice:wonder').toString('base64') } } };
  env.objects.secrets.set('default/regcred', { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(auths)) } });
  const p = pod();
  p.spec!.containers![0]!.image = 'registry.example:5000/team/app:1';
  p.spec!.imagePullSecrets = [{ name: 'regcred' }, { name: 'gone' }];
  await env.syncer.syncPod(p);
  t.deepEqual(env.images.pullUsers, ['alice']);
  t.true(
    env.events.seen.includes(
      'Warning FailedToRetrieveImagePullSecret Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed.',
    ),
  );
  t.false(env.events.seen.some((e) => e.includes('wonder')));
});

test("the sandbox gets the pod's resolv.conf by dnsPolicy and its hostAliases; a dnsConfig over the limits is an event", async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec = {
    ...p.spec,
    hostAliases: [{ ip: '192.0.2.7', hostnames: ['foo.local', 'bar.local'] }],
    dnsConfig: { nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], options: [{ name: 'ndots', value: '2' }] },
  };
  await env.syncer.syncPod(p);
  const config = env.runtime.sandboxConfigs[0];
  t.deepEqual(config?.dns, {
    servers: ['10.96.0.10', '192.0.2.1', '192.0.2.2'],
    searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'],
    options: ['ndots:2'],
  });
  t.deepEqual(config?.hostAliases, [{ ip: '192.0.2.7', hostnames: ['foo.local', 'bar.local'] }]);
  t.true(
    env.events.seen.includes(
      'Warning DNSConfigForming Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 192.0.2.1 192.0.2.2',
    ),
    env.events.seen.join('\n'),
  );
});

/** The pod of pod() with two sidecars (log, proxy) and a plain init container (setup) between them. */
function sidecarPod(restartPolicy: string): Pod {
  const p = pod({ restartPolicy });
  p.spec!.containers![0]!.command = ['sh', '-c', 'true'];
  p.spec!.initContainers = [
    { name: 'log', image: 'busybox:1.36', restartPolicy: 'Always' },
    { name: 'setup', image: 'busybox:1.36' },
    { name: 'proxy', image: 'busybox:1.36', restartPolicy: 'Always' },
  ];
  return p;
}

const running = (env: ReturnType<typeof setup>, name: string): string | undefined =>
  [...env.runtime.containers.values()].find((c) => c.name === name && c.state === 'running')?.id;

test('sidecars: started in order with the init containers, restarted under Never, stopped after the main container in reverse order', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = sidecarPod('Never');
  t.is(await env.syncer.syncPod(p), 0, 'a sidecar without a startup probe has started: sync again at once');
  t.deepEqual(env.runtime.calls, ['createSandbox web', 'createContainer log', 'startContainer log']);
  t.true(env.events.seen.includes('Normal Started spec.initContainers{log} Started container log'), env.events.seen.join('\n'));
  await env.syncer.syncPod(latest(env, p));
  t.deepEqual(env.runtime.calls.slice(3), ['createContainer setup', 'startContainer setup'], 'the plain init container waits for the sidecar');
  t.is(latest(env, p).status?.phase, 'Pending');
  env.runtime.exit([...env.runtime.containers.values()].find((c) => c.name === 'setup')?.id ?? '', 0);
  await env.syncer.syncPod(latest(env, p));
  await env.syncer.syncPod(latest(env, p));
  t.deepEqual(env.runtime.calls.slice(5), ['createContainer proxy', 'startContainer proxy', 'createContainer app', 'startContainer app']);
  const st = latest(env, p).status;
  t.is(st?.phase, 'Running');
  t.deepEqual(
    st?.initContainerStatuses?.map((s) => `${s.name} started=${String(s.started)} ready=${String(s.ready)} ${Object.keys(s.state ?? {}).join('')}`),
    ['log started=true ready=true running', 'setup started=false ready=true terminated', 'proxy started=true ready=true running'],
  );
  t.is(st?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  // A sidecar that exits is restarted although the pod's policy is Never.
  env.runtime.exit(running(env, 'log') ?? '', 0);
  await env.syncer.syncPod(latest(env, p));
  t.deepEqual(env.runtime.calls.slice(9), ['createContainer log', 'startContainer log']);
  t.is(latest(env, p).status?.initContainerStatuses?.[0]?.restartCount, 1);

  // The main container finishes: the pod is done, its sidecars stopped after it, the last one first.
  env.runtime.exit(running(env, 'app') ?? '', 0);
  await env.syncer.syncPod(latest(env, p));
  t.deepEqual(env.runtime.calls.slice(11, 13), ['stopContainer proxy 30', 'stopContainer log 30']);
  t.is(latest(env, p).status?.phase, 'Succeeded');
  t.is(running(env, 'log'), undefined);
  t.is(running(env, 'proxy'), undefined);
});

test('terminate: the main containers stop first, then the sidecars in reverse order with what is left of the grace period', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = sidecarPod('Always');
  p.spec!.containers![0]!.lifecycle = { preStop: { sleep: { seconds: 4 } } };
  for (let i = 0; i < 4; i++) await env.syncer.syncPod(latest(env, p));
  env.runtime.exit([...env.runtime.containers.values()].find((c) => c.name === 'setup')?.id ?? '', 0);
  for (let i = 0; i < 2; i++) await env.syncer.syncPod(latest(env, p));
  t.truthy(running(env, 'app'));
  const deleting = { ...latest(env, p), metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 7 } };
  const done = env.syncer.terminatePod(deleting);
  await env.clock.advance(4000);
  await done;
  t.deepEqual(
    env.runtime.calls.filter((c) => c.startsWith('stopContainer')),
    ['stopContainer app 3', 'stopContainer proxy 3', 'stopContainer log 3'],
  );
});

test('RestartAllContainers: killed at once without preStop, removed, AllContainersRestarting True then False, then the pod starts again in the same sandbox', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const c = (name: string, extra: Partial<Container> = {}): Container => ({ name, image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', ...extra });
  const p: Pod = {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1', resourceVersion: '5' },
    spec: {
      nodeName: 'n1',
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 30,
      initContainers: [c('setup')],
      containers: [
        c('main', { restartPolicy: 'Never', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [88] } }] }),
        c('helper', { lifecycle: { preStop: { exec: { command: ['echo', 'bye'] } } } }),
      ],
    },
    status: { phase: 'Pending' },
  };
  env.pods.current = p;
  await env.syncer.syncPod(p);
  env.runtime.exit(running(env, 'setup') ?? '', 0);
  await env.syncer.syncPod(latest(env, p));
  t.truthy(running(env, 'helper'));
  const before = env.runtime.calls.length;

  env.runtime.exit(running(env, 'main') ?? '', 88);
  t.is(await env.syncer.syncPod(latest(env, p)), 0, 'synced again at once to start the pod over');
  const calls = env.runtime.calls.slice(before);
  t.deepEqual(calls.slice(0, 1), ['stopContainer helper 0'], 'killed without grace period');
  t.false(
    calls.some((x) => x.startsWith('exec')),
    'no preStop hook',
  );
  t.is(calls.filter((x) => x.startsWith('removeContainer')).length, 3, 'every instance removed');
  t.is(env.runtime.containers.size, 0);
  t.true(env.events.seen.includes('Normal AllContainersRestarting spec.containers{main} Container main exited with code 88, triggering pod restart'));
  const [killing, removed] = env.pods.statuses.slice(-2).map((x) => x.status);
  const cond = (s: typeof killing) => s?.conditions?.find((x) => x.type === 'AllContainersRestarting');
  t.is(cond(killing)?.status, 'True');
  t.is(killing?.phase, 'Pending');
  t.is(cond(removed)?.status, 'False');
  t.is(cond(removed)?.message, 'Container main exited with code 88, triggering pod restart');
  t.is(removed?.phase, 'Pending');

  // The same sandbox runs the init container again, then every app container, each counted as a restart.
  await env.syncer.syncPod(latest(env, p));
  t.truthy(running(env, 'setup'));
  env.runtime.exit(running(env, 'setup') ?? '', 0);
  await env.syncer.syncPod(latest(env, p));
  t.is(env.runtime.calls.filter((x) => x.startsWith('createSandbox')).length, 1, 'the sandbox was kept');
  for (const name of ['setup', 'main', 'helper']) {
    const inst = [...env.runtime.containers.values()].find((x) => x.name === name);
    t.is(inst?.annotations['io.kubernetes.container.restartCount'], '1', name);
  }
  const st = latest(env, p).status;
  t.is(st?.phase, 'Running');
  t.is(st?.containerStatuses?.[0]?.restartCount, 1);
  t.is(st?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 88);
  t.is(st?.initContainerStatuses?.[0]?.restartCount, 1);
});

test('a pod whose sandbox is not ready (its network lost) gets a new one, with a SandboxChanged event, and its containers run again', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  await env.syncer.syncPod(p);
  const [first] = [...env.runtime.sandboxes.values()];
  t.is(first?.state, 'ready');
  // What the runtime reports for a sandbox without its network (never wired, netns gone): not ready.
  if (first) first.state = 'notready';
  env.events.seen.length = 0;
  await env.syncer.syncPod(latest(env, p));
  t.is(env.events.seen[0], 'Normal SandboxChanged Pod sandbox changed, it will be killed and re-created.');
  t.is([...env.runtime.sandboxes.values()].filter((s) => s.state === 'ready').length, 1, 'a new ready sandbox');
  const st = latest(env, p).status;
  t.is(st?.containerStatuses?.[0]?.restartCount, 1);
  t.truthy(st?.containerStatuses?.[0]?.state?.running);
});

test('an image volume: pulled under its policy with events naming the volume, mounted before the container, bound read-only; a failed pull keeps the container in ErrImagePull', async (t) => {
  const mounted = new Map<string, readonly string[]>();
  const env = setup(t, { overlays: { isMounted: (d) => mounted.has(d), mount: (d, layers) => void mounted.set(d, layers) } });
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  env.images.failPull = new Error('registry 127.0.0.1:5000: connection refused');
  const p = pod();
  p.spec!.volumes = [{ name: 'tools', image: { reference: 'registry:5000/tools:v1', pullPolicy: 'IfNotPresent' } }];
  p.spec!.containers![0]!.volumeMounts = [{ name: 'tools', mountPath: '/tools', subPath: 'bin' }];
  await env.syncer.syncPod(p);
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ErrImagePull');
  t.true(env.events.seen.includes('Normal Pulling spec.volumes{tools} Pulling image "registry:5000/tools:v1"'), env.events.seen.join('\n'));
  t.true(
    env.events.seen.includes('Warning Failed spec.volumes{tools} Failed to pull image "registry:5000/tools:v1": registry 127.0.0.1:5000: connection refused'),
  );
  t.is(mounted.size, 0);
  t.false(env.runtime.calls.includes('createContainer app'));
  await env.syncer.syncPod(latest(env, p));
  t.is(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ImagePullBackOff');
  env.images.failPull = undefined;
  await env.clock.advance(10_001);
  await env.syncer.syncPod(latest(env, p));
  const dir = path.join(env.dataDir, 'pods', 'uid-1', 'volumes', 'kubernetes.io~image', 'tools');
  t.deepEqual([...mounted.keys()], [dir]);
  t.like(env.runtime.containerConfigs[0]?.mounts?.[0], { containerPath: '/tools', hostPath: dir, subPath: 'bin', readOnly: true });
  t.deepEqual(env.images.pulls, ['registry:5000/tools:v1', 'registry:5000/tools:v1']);
});

test('an image volume without a way to mount it is CreateContainerError naming the volume', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.volumes = [{ name: 'tools', image: { reference: 'busybox:1.36', pullPolicy: 'Never' } }];
  p.spec!.containers![0]!.volumeMounts = [{ name: 'tools', mountPath: '/tools' }];
  await env.syncer.syncPod(p);
  t.deepEqual(latest(env, p).status?.containerStatuses?.[0]?.state?.waiting, {
    reason: 'CreateContainerError',
    message: 'image volume "tools": this kubelet cannot mount image volumes',
  });
});

// ---------------------------------------------------------------- in-place resize (KEP-1287)

function resizedPod(p: Pod, resources: ResourceRequirements): Pod {
  const next = structuredClone(p);
  next.spec!.containers![0]!.resources = resources;
  return next;
}

async function runningPod(env: ReturnType<typeof setup>, memoryPolicy = 'NotRequired'): Promise<Pod> {
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.containers![0]!.resizePolicy = [
    { resourceName: 'cpu', restartPolicy: 'NotRequired' },
    { resourceName: 'memory', restartPolicy: memoryPolicy },
  ];
  await env.syncer.syncPod(p);
  env.runtime.calls.length = 0;
  env.events.seen.length = 0;
  return latest(env, p);
}

test('resize: a cpu change with NotRequired rewrites the cgroup in place, no restart', async (t) => {
  const env = setup(t);
  const p = await runningPod(env);
  const before = [...env.runtime.containers.values()][0]!;
  await env.syncer.syncPod(resizedPod(p, { requests: { cpu: '400m' }, limits: { cpu: '800m', memory: '64Mi' } }));
  t.deepEqual(env.runtime.calls, [`updateContainerResources ${before.id} {"cpuRequestMilli":400,"cpuLimitMilli":800,"memoryLimitBytes":67108864}`]);
  t.is(env.runtime.containers.size, 1);
  const st = latest(env, p).status!;
  const cs = st.containerStatuses![0]!;
  t.is(cs.restartCount, 0);
  t.deepEqual(cs.resources, { requests: { cpu: '400m' }, limits: { cpu: '800m', memory: '64Mi' } });
  t.deepEqual(cs.allocatedResources, { cpu: '400m' });
  t.false((st.conditions ?? []).some((c) => (c.type ?? '').startsWith('PodResize')));
  const payload = '{"containers":[{"name":"app","resources":{"limits":{"cpu":"800m","memory":"64Mi"},"requests":{"cpu":"400m"}}}],"generation":0}';
  t.deepEqual(
    env.events.seen.filter((e) => e.includes('Resize')),
    [`Normal ResizeStarted Pod resize started: ${payload}`, `Normal ResizeCompleted Pod resize completed: ${payload}`],
  );
});

test('resize: a memory change with RestartContainer restarts the container with the new limit (restartCount 1)', async (t) => {
  const env = setup(t);
  const p = await runningPod(env, 'RestartContainer');
  const before = [...env.runtime.containers.values()][0]!;
  await env.syncer.syncPod(resizedPod(p, { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '128Mi' } }));
  t.deepEqual(env.runtime.calls, ['stopContainer app 30', 'createContainer app', 'startContainer app']);
  t.not(before.id, [...env.runtime.containers.values()].find((c) => c.state === 'running')?.id);
  t.true(env.events.seen.includes('Normal Killing spec.containers{app} Container app resize requires restart'));
  const fresh = [...env.runtime.containers.values()].find((c) => c.state === 'running')!;
  t.is(fresh.resources.memoryLimitBytes, 128 * 1024 * 1024);
  const cs = latest(env, p).status!.containerStatuses![0]!;
  t.is(cs.restartCount, 1);
  t.is(cs.resources?.limits?.['memory'], '128Mi');
});

test('resize: an infeasible resize is PodResizePending/Infeasible and nothing changes; the allocation is checkpointed', async (t) => {
  const env = setup(t);
  const p = await runningPod(env);
  await env.syncer.syncPod(resizedPod(p, { requests: { cpu: '500' }, limits: { cpu: '500', memory: '64Mi' } }));
  t.deepEqual(env.runtime.calls, []);
  const st = latest(env, p).status!;
  const pending = st.conditions?.find((c) => c.type === 'PodResizePending');
  t.is(pending?.status, 'True');
  t.is(pending?.reason, 'Infeasible');
  t.is(pending?.message, "Node didn't have enough capacity: cpu, requested: 500000, capacity: 4000");
  t.deepEqual(
    env.events.seen.filter((e) => e.includes('Resize')),
    [
      'Warning ResizeInfeasible Pod resize Infeasible: {"containers":[{"name":"app","resources":{"limits":{"cpu":"500","memory":"64Mi"},"requests":{"cpu":"500"}}}],"generation":0,"error":"Node didn\'t have enough capacity: cpu, requested: 500000, capacity: 4000"}',
    ],
  );
  t.is(st.containerStatuses![0]!.resources?.limits?.['cpu'], '500m');
  await afterTurn(); // the checkpoint is written once per turn of the event loop
  const file = JSON.parse(fs.readFileSync(path.join(env.dataDir, 'allocated_pods_state'), 'utf8')) as {
    pods: Record<string, { containers: Record<string, unknown> }>;
  };
  t.deepEqual(file.pods['uid-1']?.containers['app'], { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '64Mi' } });
});

test('resize: a memory limit below the usage is not set; PodResizeInProgress reports the error', async (t) => {
  const env = setup(t);
  const p = await runningPod(env);
  const c = [...env.runtime.containers.values()][0]!;
  env.runtime.memoryUsage.set(c.id, 50 * 1024 * 1024);
  const next = await env.syncer.syncPod(resizedPod(p, { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '32Mi' } }));
  t.deepEqual(env.runtime.calls, []);
  const cond = latest(env, p).status!.conditions?.find((x) => x.type === 'PodResizeInProgress');
  t.is(cond?.reason, 'Error');
  t.regex(cond?.message ?? '', /attempting to set memory limit \(33554432\) of container "app" below current usage \(52428800\)/);
  t.is(next, 5000, 'retried');
});

test('resize: a restarted kubelet keeps the allocation it checkpointed (a refused resize is not admitted as a new pod)', async (t) => {
  const env = setup(t);
  const p = await runningPod(env);
  const huge = resizedPod(p, { requests: { cpu: '500' }, limits: { cpu: '500', memory: '64Mi' } });
  await env.syncer.syncPod(huge);
  await afterTurn(); // the checkpoint is written once per turn of the event loop
  // A new syncer over the same data dir and runtime: the kubelet after a restart.
  const again = new PodSyncer({
    ...(env.syncer as unknown as { deps: ConstructorParameters<typeof PodSyncer>[0] }).deps,
    allocations: undefined,
  });
  await again.syncPod(latest(env, huge));
  t.deepEqual(env.runtime.calls, []);
  t.is(latest(env, p).status?.conditions?.find((c) => c.type === 'PodResizePending')?.reason, 'Infeasible');
});

test('resize: pod-level resources rewrite the pod cgroup in place', async (t) => {
  const env = setup(t);
  env.images.local.set('busybox:1.36', image('busybox:1.36'));
  const p = pod();
  p.spec!.containers![0]!.resources = { requests: { cpu: '100m' } };
  p.spec!.resources = { requests: { cpu: '200m', memory: '64Mi' }, limits: { cpu: '200m', memory: '64Mi' } };
  await env.syncer.syncPod(p);
  const sandbox = [...env.runtime.sandboxes.values()][0]!;
  env.runtime.calls.length = 0;
  const next = structuredClone(latest(env, p));
  next.spec!.resources = { requests: { cpu: '300m', memory: '64Mi' }, limits: { cpu: '300m', memory: '64Mi' } };
  await env.syncer.syncPod(next);
  t.deepEqual(env.runtime.calls, [`updateSandboxResources ${sandbox.id} {"cpuRequestMilli":300,"cpuLimitMilli":300,"memoryLimitBytes":67108864}`]);
  t.deepEqual(latest(env, p).status?.resources, { requests: { cpu: '300m', memory: '64Mi' }, limits: { cpu: '300m', memory: '64Mi' } });
});

/** Resolves after the current turn of the event loop (its setImmediate callbacks). */
function afterTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
