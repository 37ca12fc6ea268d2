// The executor half of a pod sync, and the two ways a pod ends: terminate
// (the API set deletionTimestamp: stop with the grace period, report, delete
// with grace 0, clean up) and orphan cleanup (the API no longer has the pod).
// Decisions come from planner.ts and pod-status.ts; this file only performs
// them and records Kubernetes' events. Every step is idempotent, so a pass
// cut short (an error, a killed kubelet) is finished by the next one.

import { ConflictError, NotFoundError } from '../api/errors';
import type { Container, Pod, Secret, Service } from '../api/gen/tsk/v1/core';
import type { Clock, EventRecorder, EventType, ResourceClient } from '../client';
import { referenceTo } from '../client';
import { BackoffTable, CRASH_BACKOFF } from './backoff';
import { buildContainerConfig, buildPodResources } from './container-config';
import { ImagePullError, type ImagePuller } from './images';
import { MIN_STOP_WINDOW_SECONDS, runHook, runPreStop, type HookDeps } from './lifecycle';
import type { KubeletMetrics } from './metrics';
import { containerFieldPath, deadlineRemaining, isSidecar, planPod, podDescription, type ContainerToStart, type PodPlan, type RestartAll } from './planner';
import {
  ANNOTATION_GRACE_PERIOD,
  containerNameOf,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  readPodRuntimeState,
  type PodRuntimeState,
} from './pod-runtime';
import { ALL_CONTAINERS_RESTARTING, computePodStatus, statusChanged, type Waiting } from './pod-status';
import type { ProbeManager } from './probes';
import type { ContainerRuntime, ContainerStatus } from './runtime/runtime';
import { removePodDir, setUpVolumes, type MemoryMedium } from './volumes';
import { UserNamespaceError, type IdRange, type UserNamespaceAllocator } from './userns';
import { fetchObjects, type ObjectGetter } from './api-objects';
import type { NodeAllocatable } from './downward-api';
import { envObjectNames, type EnvObjects } from './env';
import { pullCredentials } from './pull-secrets';
import type { Credentials } from './runtime/image/registry-client';
import { hasApiVolumes, syncApiVolumes, type ApiVolumeOptions } from './volumes/api-volumes';
import { containerImageVolumes, mountImageVolume, type OverlayMounts } from './volumes/image-volumes';
import { admitSysctls, SYSCTL_FORBIDDEN, type SysctlAllowlist } from './sysctl-allowlist';
import { admitPodOS } from './pod-os';
import { errorMessage } from '../util/errors';
import { podDnsConfig, type NodeDns } from './pod-dns';
import { AllocationStore, type PodAllocation } from './allocation';
import { AllocationManager } from './allocation-manager';
import { containerResizes, podCgroupResize, withAllocation, type ResizeState } from './resize';
import { WrittenStatuses } from './status-cache';

/** Kubernetes' minimum grace period for a pod the API forgot (it was force-deleted). */
const ORPHAN_GRACE_SECONDS = 2;

export interface PodSyncDeps {
  runtime: ContainerRuntime;
  puller: ImagePuller;
  recorder: EventRecorder;
  pods: Pick<ResourceClient<Pod>, 'get' | 'updateStatus' | 'delete'>;
  probes: ProbeManager;
  clock: Clock;
  metrics: KubeletMetrics;
  dataDir: string;
  hostIP: string;
  /** Why pods cannot get a network yet (no podCIDR), or undefined when they can. */
  networkNotReady: () => string | undefined;
  /** The sysctls pods may set (the safe set and --allowed-unsafe-sysctls). */
  sysctls: SysctlAllowlist;
  /** The ConfigMaps and Secrets pods reference (env, volumes, imagePullSecrets). */
  objects: ObjectGetter;
  /** The Services of the cluster (for the Service environment variables). */
  services: () => readonly Service[];
  /** Resource limits a container leaves unset, for resourceFieldRef. */
  nodeAllocatable: NodeAllocatable;
  /** Mounts the tmpfs of a secret or projected volume (ensureTmpfs); absent: plain directories (unit tests). */
  memoryMedium?: MemoryMedium;
  /** Mounts image volumes (read-only overlays of image layers); absent: pods with image volumes cannot start (unit tests). */
  overlays?: OverlayMounts;
  /** The cluster DNS and the node's resolver config, read when a sandbox is made (pod-dns.ts). */
  dns: () => NodeDns;
  /** The ID ranges of pods with hostUsers: false, or why this node cannot give them (its subordinate IDs are wrong). */
  userNamespaces?: UserNamespaceAllocator | { error: string };
  /** The pods bound to this node (what an in-place resize must fit beside); default none. */
  activePods?: () => readonly Pod[];
  /** The allocation checkpoint; default the one under dataDir. */
  allocations?: AllocationStore;
  log: (line: string) => void;
}

/** How soon a resize that waits (Deferred) or failed to actuate is tried again. */
const RESIZE_RETRY_MS = 5_000;

const uidOf = (pod: Pod): string => pod.metadata?.uid ?? '';

/** The pod's IP as its ready sandbox reports it, "" when it has none. */
const podIPOf = (state: PodRuntimeState): string => state.sandboxes.find((s) => s.state === 'ready')?.ips[0] ?? '';

/** A pass given up because the kubelet is stopping; the next start finishes it (every step is idempotent). */
export class KubeletStoppingError extends Error {
  constructor() {
    super('the kubelet is stopping: the rest of this step is left to its next start');
    this.name = 'KubeletStoppingError';
  }
}

export class PodSyncer {
  private readonly crashBackoff = new BackoffTable(CRASH_BACKOFF);
  private stopRequested: () => void = () => undefined;
  private readonly stopping = new Promise<never>((_, reject) => {
    this.stopRequested = () => reject(new KubeletStoppingError());
  });
  /** When the kubelet first saw each pod (kubelet_pod_start_duration_seconds). */
  private readonly firstSeen = new Map<string, number>();
  private readonly startReported = new Set<string>();
  private readonly allocations: AllocationManager;
  private readonly written = new WrittenStatuses();

  constructor(private readonly deps: PodSyncDeps) {
    this.stopping.catch(() => undefined);
    this.allocations = new AllocationManager({
      store: deps.allocations ?? new AllocationStore(deps.dataDir, deps.log),
      activePods: deps.activePods ?? (() => []),
      nodeAllocatable: deps.nodeAllocatable,
      event: (pod, type, reason, message) => this.event(pod, undefined, type, reason, message),
    });
  }

  /**
   * Stops waiting for containers to stop (grace periods can be long): the
   * runtime still signals them, and a pass cut short is finished by the next
   * kubelet, as when a kubelet is killed.
   */
  abortWaits(): void {
    this.stopRequested();
  }

  /** Whether an informer update is only the echo of this kubelet's own status write (nothing to sync for). */
  isOwnStatusWrite(pod: Pod): boolean {
    return this.written.isOwnWrite(pod);
  }

  async podState(uid: string): Promise<PodRuntimeState> {
    return readPodRuntimeState(this.deps.runtime, uid);
  }

  private event(pod: Pod, container: string | undefined, type: EventType, reason: string, message: string): void {
    const ref = referenceTo('Pod', pod);
    if (container !== undefined) ref.fieldPath = containerFieldPath(pod, container);
    this.deps.recorder.event(ref, type, reason, message);
  }

  /** An event about one of the pod's volumes: the pod, with the volume as the field path (spec.volumes{name}). */
  private volumeEvent(pod: Pod, volume: string, type: EventType, reason: string, message: string): void {
    const ref = referenceTo('Pod', pod);
    ref.fieldPath = `spec.volumes{${volume}}`;
    this.deps.recorder.event(ref, type, reason, message);
  }

  /** Brings the runtime in line with a pod that should run, then reports its status. Returns when to sync again. */
  async syncPod(pod: Pod): Promise<number | undefined> {
    const uid = uidOf(pod);
    if (!this.firstSeen.has(uid)) this.firstSeen.set(uid, this.deps.clock.now());
    const state = await this.podState(uid);
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    const left = finished ? undefined : deadlineRemaining(pod, this.firstSeen.get(uid) ?? this.deps.clock.now(), this.deps.clock.now());
    // Kubernetes' admission: a pod the node must not run fails at once, with the reason, rather than have a field ignored.
    const rejected = finished ? undefined : admitSysctls(this.deps.sysctls, pod);
    if (rejected !== undefined) {
      await this.failPod(pod, state, SYSCTL_FORBIDDEN, `Pod was rejected: ${rejected}`);
      return undefined;
    }
    const wrongOS = finished ? undefined : admitPodOS(pod);
    if (wrongOS !== undefined) {
      await this.failPod(pod, state, wrongOS.reason, `Pod was rejected: ${wrongOS.message}`);
      return undefined;
    }
    if (left !== undefined && left <= 0) {
      await this.failPod(pod, state, 'DeadlineExceeded', 'Pod was active on the node longer than the specified deadline');
      return undefined;
    }
    // The kubelet runs what it allocated: a resize the node has no room for waits (PodResizePending).
    const { alloc, pending } = this.allocations.allocate(pod);
    const running = withAllocation(pod, alloc);
    const plan = planPod({
      pod: running,
      state,
      crashBackoffRemaining: (name, finishedAt) => this.crashBackoff.remaining(`${uid}/${name}`, finishedAt, this.deps.clock.now()),
      crashBackoffDuration: (name) => this.crashBackoff.duration(`${uid}/${name}`),
      livenessFailed: (id) => this.deps.probes.livenessFailed(id),
      startupFailed: (id) => this.deps.probes.startupFailed(id),
      started: (id) => this.deps.probes.started(id),
    });
    const waiting = new Map<string, Waiting>();
    for (const [name, message] of plan.backOff) {
      waiting.set(name, { reason: 'CrashLoopBackOff', message });
      this.event(pod, name, 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${podDescription(pod)}`);
    }
    if (plan.restartAll) {
      await this.restartAllContainers(pod, plan, plan.restartAll, state);
      return 0;
    }
    if (!plan.createSandbox && plan.sandboxId !== undefined) await this.refreshApiVolumes(pod);
    await this.execute(running, plan, state, waiting);
    let after = await this.podState(uid);
    const resize: ResizeState = { ...(pending ? { pending } : {}), inProgress: false };
    if (!plan.killPod) {
      const actuated = await this.actuateResize(running, after, waiting);
      if (actuated.changed) after = await this.podState(uid);
      resize.inProgress = this.resizeInProgress(running, after);
      if (actuated.error !== undefined) resize.error = actuated.error;
    }
    this.allocations.recordEvents(pod, resize);
    this.deps.probes.update(pod, after);
    await this.reportStatus(pod, after, waiting, false, undefined, { resize: { alloc, resize } });
    // Killed containers (liveness) restart in the next pass, under their restart policy and back-off.
    if (plan.kill.length > 0) return 0;
    // A sidecar without a startup probe has started once it runs (its postStart returned): the next init container may start now.
    if (this.sidecarJustStarted(pod, plan, after)) return 0;
    const retry = pending?.reason === 'Deferred' || resize.error !== undefined ? RESIZE_RETRY_MS : Infinity;
    const next = Math.min(left ?? Infinity, plan.requeueAfterMs ?? Infinity, retry);
    return next === Infinity ? undefined : next;
  }

  /** Whether what runs (cgroups) still differs from the allocation. */
  private resizeInProgress(running: Pod, state: PodRuntimeState): boolean {
    const sandbox = state.sandboxes.find((s) => s.state === 'ready');
    if (!sandbox) return false;
    return containerResizes(running, state).length > 0 || podCgroupResize(running, sandbox.resources) !== undefined;
  }

  /**
   * Actuates an allocated resize (kuberuntime's doPodResizeAction): the pod
   * cgroup first when it grows, last when it shrinks; each container with a
   * NotRequired policy has its cgroup rewritten in place, one whose policy
   * for a changed resource is RestartContainer is stopped and started again
   * with the new limits (restartCount + 1). A memory limit is lowered only
   * when the usage is below it, as Kubernetes checks; otherwise the resize
   * stays in progress with the error.
   */
  private async actuateResize(running: Pod, state: PodRuntimeState, waiting: Map<string, Waiting>): Promise<{ changed: boolean; error?: string }> {
    const sandbox = state.sandboxes.find((s) => s.state === 'ready');
    if (!sandbox) return { changed: false };
    const { runtime } = this.deps;
    const podLimits = podCgroupResize(running, sandbox.resources);
    const resizes = containerResizes(running, state);
    if (!podLimits && resizes.length === 0) return { changed: false };
    const errors: string[] = [];
    const shrinking = podLimits?.memoryLimitBytes !== undefined && podLimits.memoryLimitBytes < (sandbox.resources?.memoryLimitBytes ?? Infinity);
    let podReady = true;
    if (podLimits && shrinking) {
      const usage = (await Promise.all(state.containers.filter((c) => c.state === 'running').map((c) => runtime.containerStats(c.id)))).reduce(
        (n, st) => n + st.memoryUsageBytes,
        0,
      );
      if (usage > podLimits.memoryLimitBytes!) {
        errors.push(`attempting to set pod memory limit (${podLimits.memoryLimitBytes}) below current usage (${usage})`);
        podReady = false;
      }
    }
    if (podLimits && !shrinking) await runtime.updateSandboxResources(sandbox.id, podLimits);
    const podIP = sandbox.ips[0] ?? '';
    for (const r of resizes) {
      if (r.restart) {
        await this.killContainer(running, r.id, r.name, `Container ${r.name} resize requires restart`, this.gracePeriod(running), podIP);
        await this.startContainer(
          running,
          sandbox.id,
          { index: r.index, init: r.init, name: r.name, restartCount: r.restartCount + 1, restart: false },
          podIP,
          waiting,
        );
        continue;
      }
      if (r.memoryLimitDecrease) {
        const usage = (await runtime.containerStats(r.id)).memoryUsageBytes;
        if (usage > r.resources.memoryLimitBytes!) {
          errors.push(`attempting to set memory limit (${r.resources.memoryLimitBytes}) of container "${r.name}" below current usage (${usage})`);
          continue;
        }
      }
      await runtime.updateContainerResources(r.id, r.resources);
    }
    if (podLimits && shrinking && podReady) await runtime.updateSandboxResources(sandbox.id, podLimits);
    if (errors.length > 0) this.deps.log(`pod ${podDescription(running)}: resize: ${errors.join('; ')}`);
    return { changed: true, ...(errors.length > 0 ? { error: errors.join('; ') } : {}) };
  }

  /**
   * KEP-5532's termination phase of an in-place pod restart: the
   * AllContainersRestarting condition goes True, every running container is
   * killed at once (no preStop hook, no grace period), every instance is
   * removed (the trigger's last, so a pass cut short is finished by the
   * next), and the condition goes False. The sandbox, its IP and the volumes
   * stay; the next pass starts the pod from its first init container. The
   * trigger's crash back-off grows, so a pod restarting in a loop slows down.
   */
  private async restartAllContainers(pod: Pod, plan: PodPlan, restart: RestartAll, state: PodRuntimeState): Promise<void> {
    const uid = uidOf(pod);
    this.event(pod, restart.name, 'Normal', ALL_CONTAINERS_RESTARTING, restart.message);
    this.crashBackoff.next(`${uid}/${restart.name}`, this.deps.clock.now());
    const ip = podIPOf(state);
    await Promise.all(plan.kill.map((k) => this.killContainer(pod, k.id, k.name, k.message, 0, ip)));
    await this.reportStatus(pod, await this.podState(uid), new Map(), false, undefined, { restartingAll: { status: true, message: restart.message } });
    for (const id of plan.removeContainers) await this.deps.runtime.removeContainer(id);
    const after = await this.podState(uid);
    this.deps.probes.update(pod, after);
    const fresh = await this.deps.pods.get(pod.metadata?.name ?? '', pod.metadata?.namespace).catch(() => pod);
    if (uidOf(fresh) !== uid) return;
    await this.reportStatus(fresh, after, new Map(), false, undefined, { restartingAll: { status: false, message: restart.message } });
  }

  /** True when this pass started a sidecar without a startup probe that is now running. */
  private sidecarJustStarted(pod: Pod, plan: PodPlan, after: PodRuntimeState): boolean {
    const init = pod.spec?.initContainers ?? [];
    return plan.start.some((s) => {
      const spec = s.init ? init[s.index] : undefined;
      if (!spec || !isSidecar(spec) || spec.startupProbe) return false;
      return after.containers.find((c) => containerNameOf(c) === s.name)?.state === 'running';
    });
  }

  /** The kubelet ends the pod (active deadline): containers stopped, sandbox stopped, phase Failed with the reason. */
  private async failPod(pod: Pod, state: PodRuntimeState, reason: string, message: string): Promise<void> {
    this.event(pod, undefined, 'Warning', reason, message);
    this.deps.probes.removePod(uidOf(pod));
    await this.killAll(pod, state, this.gracePeriod(pod));
    for (const s of state.sandboxes) if (s.state === 'ready') await this.deps.runtime.stopSandbox(s.id);
    await this.reportStatus(pod, await this.podState(uidOf(pod)), new Map(), false, { reason, message });
  }

  private gracePeriod(pod: Pod): number {
    return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private async execute(pod: Pod, plan: PodPlan, state: PodRuntimeState, waiting: Map<string, Waiting>): Promise<void> {
    const { runtime } = this.deps;
    const grace = this.gracePeriod(pod);
    const ip = podIPOf(state);
    // Kubernetes' words when a pod that had a sandbox gets a new one (the old one stopped, or lost its network).
    if (plan.createSandbox && state.sandboxes.length > 0)
      this.event(pod, undefined, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    await Promise.all(plan.kill.map((k) => this.killContainer(pod, k.id, k.name, k.message, k.graceSeconds ?? grace, ip)));
    if (plan.killPod) await this.killAll(pod, state, grace);
    for (const id of plan.stopSandboxes) await runtime.stopSandbox(id);
    for (const id of plan.removeContainers) await runtime.removeContainer(id);
    for (const id of plan.removeSandboxes) await runtime.removeSandbox(id);
    const sandboxId = plan.createSandbox ? await this.createSandbox(pod) : plan.sandboxId;
    if (sandboxId === undefined) return;
    const podIP = (await runtime.sandboxStatus(sandboxId)).ips[0] ?? '';
    // In spec order, one after another, as Kubernetes starts them.
    for (const s of plan.start) await this.startContainer(pod, sandboxId, s, podIP, waiting);
  }

  /** Volumes, then the sandbox; undefined (with an event) when either cannot be made yet. */
  private async createSandbox(pod: Pod): Promise<string | undefined> {
    if (pod.spec?.hostNetwork) {
      // tsk's runtime gives every sandbox its own network namespace; running the pod anyway would not be what was asked.
      this.event(pod, undefined, 'Warning', 'FailedCreatePodSandBox', 'Failed to create pod sandbox: hostNetwork pods are not supported by the tsk runtime');
      return undefined;
    }
    const notReady = this.deps.networkNotReady();
    if (notReady !== undefined) {
      this.event(pod, undefined, 'Warning', 'NetworkNotReady', `network is not ready: ${notReady}`);
      return undefined;
    }
    let userNamespace: IdRange | undefined;
    try {
      userNamespace = this.userNamespace(pod);
    } catch (err) {
      this.event(pod, undefined, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errorMessage(err)}`);
      return undefined;
    }
    try {
      setUpVolumes(pod, this.deps.dataDir, this.deps.memoryMedium, userNamespace);
    } catch (err) {
      this.event(pod, undefined, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${errorMessage(err)}`);
      return undefined;
    }
    if (hasApiVolumes(pod)) {
      const { failed } = await syncApiVolumes(pod, this.deps.dataDir, this.deps.objects, this.deps.nodeAllocatable, this.volumeOptions());
      // As Kubernetes: the pod waits for its volumes; the next sync tries again.
      for (const f of failed) this.event(pod, undefined, 'Warning', 'FailedMount', f.message);
      if (failed.length > 0) return undefined;
    }
    const m = pod.metadata;
    const dns = podDnsConfig(pod, this.deps.dns());
    for (const w of dns.warnings) this.event(pod, undefined, 'Warning', w.reason, w.message);
    try {
      return await this.deps.runtime.createSandbox({
        name: m?.name ?? '',
        namespace: m?.namespace ?? '',
        uid: m?.uid ?? '',
        hostname:
          pod.spec?.hostname ||
          (m?.name ?? '')
            .slice(0, 63)
            .replace(/[^a-z0-9-]/g, '-')
            .replace(/^-+|-+$/g, '') ||
          'pod',
        labels: { [LABEL_POD_NAME]: m?.name ?? '', [LABEL_POD_NAMESPACE]: m?.namespace ?? '', [LABEL_POD_UID]: m?.uid ?? '' },
        annotations: { [ANNOTATION_GRACE_PERIOD]: String(pod.spec?.terminationGracePeriodSeconds ?? 30) },
        hostIPC: pod.spec?.hostIPC === true,
        hostPID: pod.spec?.hostPID === true,
        sharePID: pod.spec?.shareProcessNamespace === true,
        sysctls: Object.fromEntries((pod.spec?.securityContext?.sysctls ?? []).map((s) => [s.name ?? '', s.value ?? ''])),
        dns: { servers: dns.config.nameservers, searches: dns.config.searches, options: dns.config.options },
        hostAliases: (pod.spec?.hostAliases ?? []).map((a) => ({ ip: a.ip ?? '', hostnames: a.hostnames ?? [] })),
        resources: buildPodResources(pod),
        ...(userNamespace ? { userNamespace } : {}),
      });
    } catch (err) {
      this.event(pod, undefined, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errorMessage(err)}`);
      return undefined;
    }
  }

  /** The pod's user-namespace range when it asks for one (hostUsers: false), kept in its directory across restarts. */
  private userNamespace(pod: Pod): IdRange | undefined {
    if (pod.spec?.hostUsers !== false) return undefined;
    const a = this.deps.userNamespaces;
    if (a === undefined) throw new UserNamespaceError('user namespaces are not supported by this kubelet');
    if ('error' in a) throw new UserNamespaceError(`user namespaces: ${a.error}`);
    return a.allocate(uidOf(pod));
  }

  private volumeOptions(): ApiVolumeOptions {
    return this.deps.memoryMedium ? { memoryMedium: this.deps.memoryMedium } : {};
  }

  /** Rewrites the configMap, secret, downwardAPI and projected volumes of a running pod whose sources changed. */
  private async refreshApiVolumes(pod: Pod): Promise<void> {
    if (!hasApiVolumes(pod)) return;
    const { updated, failed } = await syncApiVolumes(pod, this.deps.dataDir, this.deps.objects, this.deps.nodeAllocatable, this.volumeOptions());
    if (updated.length > 0) this.deps.log(`pod ${podDescription(pod)}: updated volume(s) ${updated.join(', ')}`);
    for (const f of failed) this.deps.log(`pod ${podDescription(pod)}: ${f.message}`);
  }

  /** The credentials of the pod's imagePullSecrets for `image`; a Secret that cannot be read gets Kubernetes' warning. */
  private async pullCredentials(pod: Pod, image: string): Promise<Credentials[]> {
    const names = (pod.spec?.imagePullSecrets ?? []).map((r) => r.name ?? '').filter((n) => n !== '');
    if (names.length === 0) return [];
    const ns = pod.metadata?.namespace ?? '';
    const found = await Promise.all(names.map((n) => this.deps.objects.secret(ns, n).catch(() => undefined)));
    const missing = names.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      this.event(
        pod,
        undefined,
        'Warning',
        'FailedToRetrieveImagePullSecret',
        `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`,
      );
    }
    return pullCredentials(
      found.filter((s): s is Secret => s !== undefined),
      image,
    );
  }

  /** The Services, ConfigMaps and Secrets container `c` reads in its environment. */
  private async envObjects(pod: Pod, c: Container): Promise<EnvObjects> {
    const fetched = await fetchObjects(this.deps.objects, pod.metadata?.namespace ?? '', envObjectNames(c));
    return { services: this.deps.services(), ...fetched };
  }

  private async startContainer(pod: Pod, sandboxId: string, s: ContainerToStart, podIP: string, waiting: Map<string, Waiting>): Promise<void> {
    const c = (s.init ? pod.spec?.initContainers : pod.spec?.containers)?.[s.index];
    if (!c) return;
    const fail = (reason: string, message: string, event = `Error: ${reason}`): void => {
      waiting.set(s.name, { reason, message });
      this.event(pod, s.name, 'Warning', 'Failed', event);
    };
    const uid = uidOf(pod);
    try {
      await this.ensureImageVolumes(pod, c);
    } catch (err) {
      if (err instanceof ImagePullError) return fail(err.reason, err.message);
      return fail('CreateContainerError', errorMessage(err), `Error: ${errorMessage(err)}`);
    }
    let imageId: string;
    let imageUser: string;
    try {
      const ev = (type: EventType, reason: string, message: string): void => this.event(pod, s.name, type, reason, message);
      const credentials = await this.pullCredentials(pod, c.image ?? '');
      const image = await this.deps.puller.ensure(c.image ?? '', c.imagePullPolicy || 'IfNotPresent', uid, ev, credentials);
      imageId = image.id;
      imageUser = image.config.user;
    } catch (err) {
      if (err instanceof ImagePullError) return fail(err.reason, err.message);
      throw err;
    }
    let config;
    try {
      config = buildContainerConfig(pod, c, {
        dataDir: this.deps.dataDir,
        hostIP: this.deps.hostIP,
        podIP,
        restartCount: s.restartCount,
        imageUser,
        nodeAllocatable: this.deps.nodeAllocatable,
        objects: await this.envObjects(pod, c),
        warn: (reason, message) => this.event(pod, undefined, 'Warning', reason, message),
      });
    } catch (err) {
      return fail('CreateContainerConfigError', errorMessage(err), `Error: ${errorMessage(err)}`);
    }
    // By ID: the container runs exactly the image just ensured, even if its tag moves meanwhile.
    config.image = imageId;
    if (s.restart) this.crashBackoff.next(`${uid}/${s.name}`, this.deps.clock.now());
    let id: string;
    try {
      id = await this.deps.runtime.createContainer(sandboxId, config);
    } catch (err) {
      return fail('CreateContainerError', errorMessage(err), `Error: ${errorMessage(err)}`);
    }
    this.event(pod, s.name, 'Normal', 'Created', `Created container ${s.name}`);
    try {
      await this.deps.runtime.startContainer(id);
    } catch (err) {
      // The container is now exited (reason StartError): the next pass restarts it under back-off.
      this.event(pod, s.name, 'Warning', 'Failed', `Error: failed to start container "${s.name}": ${errorMessage(err)}`);
      return;
    }
    this.event(pod, s.name, 'Normal', 'Started', `Started container ${s.name}`);
    await this.postStart(pod, c, s.name, id, podIP);
  }

  /**
   * Pulls and mounts the image volumes container c mounts that are not
   * mounted yet, as Kubernetes' getImageVolumes: the same puller as
   * container images (policy, imagePullSecrets, back-off), its events on the
   * pod (Kubernetes' messages; the field path names the volume). Throws
   * ImagePullError, or Error when the overlay cannot be mounted.
   */
  private async ensureImageVolumes(pod: Pod, c: Container): Promise<void> {
    for (const iv of containerImageVolumes(pod, c, this.deps.dataDir)) {
      const overlays = this.deps.overlays;
      if (!overlays) throw new Error(`image volume "${iv.volume.name ?? ''}": this kubelet cannot mount image volumes`);
      // Resolved once per pod (a restarted container keeps what the volume got), as Kubernetes.
      if (overlays.isMounted(iv.hostPath)) continue;
      const ev = (type: EventType, reason: string, message: string): void => this.volumeEvent(pod, iv.volume.name ?? '', type, reason, message);
      const credentials = await this.pullCredentials(pod, iv.reference);
      const image = await this.deps.puller.ensure(iv.reference, iv.pullPolicy, uidOf(pod), ev, credentials);
      mountImageVolume(iv, image.layerDirs, overlays);
      this.deps.log(`pod ${podDescription(pod)}: image volume "${iv.volume.name ?? ''}" mounted from image ${iv.reference} (${image.id})`);
    }
  }

  private get hookDeps(): HookDeps {
    return { runtime: this.deps.runtime, clock: this.deps.clock };
  }

  /**
   * Kubernetes' order: the postStart hook runs right after the start, and
   * this pass (so the status saying Running, and the probes) waits for it. A
   * failure kills the container, which then restarts under its restart
   * policy and back-off.
   */
  private async postStart(pod: Pod, c: Container, name: string, id: string, podIP: string): Promise<void> {
    const hook = c.lifecycle?.postStart;
    if (!hook) return;
    const failure = await Promise.race([runHook(this.hookDeps, hook, { pod, container: c, containerId: id, podIP }), this.stopping]);
    if (failure === undefined) return;
    this.event(pod, name, 'Warning', 'FailedPostStartHook', failure);
    await this.killContainer(pod, id, name, 'FailedPostStartHook', this.gracePeriod(pod), podIP);
  }

  /**
   * Stops a container as Kubernetes' killContainer: the Killing event, the
   * preStop hook of a running container (its time counts against the grace
   * period), then the stop signal and SIGKILL when the rest of it runs out.
   */
  private async killContainer(pod: Pod | undefined, id: string, name: string, message: string, grace: number, podIP: string): Promise<void> {
    if (pod) this.event(pod, name, 'Normal', 'Killing', message);
    const stop = (async (): Promise<void> => {
      const left = pod ? await this.preStop(pod, id, name, grace, podIP) : grace;
      // lifecycle.stopSignal replaces SIGTERM ('' is unset, as read back from protobuf).
      const stopSignal = (pod && specOf(pod, name)?.lifecycle?.stopSignal) || undefined;
      await this.deps.runtime.stopContainer(id, left, stopSignal);
    })();
    stop.catch(() => undefined);
    await Promise.race([stop, this.stopping]);
  }

  /** Runs the container's preStop hook when it has one, is running and has a grace period; returns the grace left for the signal. */
  private async preStop(pod: Pod, id: string, name: string, grace: number, podIP: string): Promise<number> {
    const c = specOf(pod, name);
    const hook = c?.lifecycle?.preStop;
    if (!c || !hook || grace <= 0) return grace;
    const status = await this.deps.runtime.containerStatus(id).catch(() => undefined);
    if (status?.state !== 'running') return grace;
    return runPreStop(this.hookDeps, hook, { pod, container: c, containerId: id, podIP }, grace, () =>
      this.event(pod, name, 'Warning', 'FailedPreStopHook', 'PreStopHook failed'),
    );
  }

  /**
   * Stops every running container of the pod within the grace period: the
   * app (and init) containers in parallel, then, as Kubernetes does since
   * sidecars (KEP-753), the sidecars one by one in reverse spec order, each
   * with what is left of the grace period (Kubernetes' 2 s minimum at
   * least), so they serve the app containers until those are gone.
   */
  private async killAll(pod: Pod | undefined, state: PodRuntimeState, grace: number): Promise<void> {
    const deadline = this.deps.clock.now() + grace * 1000;
    const running = state.containers.filter((c) => c.state === 'running' || c.state === 'created');
    const sidecars = (pod?.spec?.initContainers ?? []).filter(isSidecar).map((c) => c.name ?? '');
    const ip = podIPOf(state);
    const kill = (c: ContainerStatus, seconds: number): Promise<void> =>
      this.killContainer(pod, c.id, containerNameOf(c), `Stopping container ${containerNameOf(c)}`, seconds, ip);
    await Promise.all(running.filter((c) => !sidecars.includes(containerNameOf(c))).map((c) => kill(c, grace)));
    for (const name of [...sidecars].reverse()) {
      const left = Math.ceil((deadline - this.deps.clock.now()) / 1000);
      await Promise.all(running.filter((c) => containerNameOf(c) === name).map((c) => kill(c, Math.min(grace, Math.max(left, MIN_STOP_WINDOW_SECONDS)))));
    }
  }

  /**
   * Writes the status when it differs from what the API has (the informer's
   * copy, or this kubelet's last write when newer); a conflict is retried
   * once on a fresh read.
   */
  private async reportStatus(
    pod: Pod,
    state: PodRuntimeState,
    waiting: ReadonlyMap<string, Waiting>,
    terminating: boolean,
    failure?: { reason: string; message: string },
    extra: { restartingAll?: { status: boolean; message: string }; resize?: { alloc: PodAllocation; resize: ResizeState } } = {},
  ): Promise<void> {
    const compute = (p: Pod): ReturnType<typeof computePodStatus> =>
      computePodStatus({
        pod: p,
        state,
        now: this.deps.clock.now(),
        hostIP: this.deps.hostIP,
        waiting,
        readiness: (id) => this.deps.probes.readiness(id),
        started: (id) => this.deps.probes.started(id),
        terminating,
        ...(failure ? { failure } : {}),
        ...(extra.restartingAll ? { restartingAll: extra.restartingAll } : {}),
        ...(extra.resize ? { allocation: extra.resize.alloc, resize: extra.resize.resize } : {}),
      });
    const base = this.written.latest(pod);
    let status = compute(base);
    this.observeStart(pod, status.phase ?? '', status.containerStatuses?.every((s) => s.state?.running) ?? false);
    if (!statusChanged(base.status, status)) return;
    try {
      this.written.record(await this.deps.pods.updateStatus({ ...base, status }));
    } catch (err) {
      if (err instanceof NotFoundError) return;
      if (!(err instanceof ConflictError)) throw err;
      const fresh = await this.deps.pods.get(pod.metadata?.name ?? '', pod.metadata?.namespace);
      if (uidOf(fresh) !== uidOf(pod)) return;
      status = compute(fresh);
      if (statusChanged(fresh.status, status)) this.written.record(await this.deps.pods.updateStatus({ ...fresh, status }));
    }
  }

  private observeStart(pod: Pod, phase: string, allRunning: boolean): void {
    const uid = uidOf(pod);
    if (phase !== 'Running' || !allRunning || this.startReported.has(uid)) return;
    this.startReported.add(uid);
    const seen = this.firstSeen.get(uid);
    if (seen !== undefined) this.deps.metrics.podStartDuration.observe((this.deps.clock.now() - seen) / 1000);
  }

  /**
   * A pod being deleted: stop its containers with the grace period, stop the
   * sandbox, report the final status, delete the pod from the API (grace 0),
   * then remove containers, sandboxes and volumes.
   */
  async terminatePod(pod: Pod): Promise<void> {
    const uid = uidOf(pod);
    this.deps.probes.removePod(uid);
    const state = await this.podState(uid);
    await this.killAll(pod, state, this.gracePeriod(pod));
    for (const s of state.sandboxes) if (s.state === 'ready') await this.deps.runtime.stopSandbox(s.id);
    await this.reportStatus(pod, await this.podState(uid), new Map(), true).catch((err: unknown) =>
      this.deps.log(`pod ${podDescription(pod)}: final status: ${errorMessage(err)}`),
    );
    try {
      await this.deps.pods.delete(pod.metadata?.name ?? '', { namespace: pod.metadata?.namespace ?? '', gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!(err instanceof NotFoundError) && !(err instanceof ConflictError)) throw err;
    }
    await this.removeAll(uid, await this.podState(uid));
    this.deps.log(`pod ${podDescription(pod)} terminated and deleted`);
  }

  /** The API no longer has the pod: stop and remove whatever the runtime holds for it. */
  async cleanupOrphan(uid: string, lastKnown: Pod | undefined): Promise<void> {
    this.deps.probes.removePod(uid);
    const state = await this.podState(uid);
    const annotated = Number(state.sandboxes[0]?.annotations[ANNOTATION_GRACE_PERIOD] ?? NaN);
    const grace =
      lastKnown?.metadata?.deletionGracePeriodSeconds ?? (Number.isFinite(annotated) ? Math.min(annotated, ORPHAN_GRACE_SECONDS) : ORPHAN_GRACE_SECONDS);
    await this.killAll(undefined, state, grace);
    for (const s of state.sandboxes) if (s.state === 'ready') await this.deps.runtime.stopSandbox(s.id);
    if (state.sandboxes.length > 0) this.deps.log(`pod ${uid} is no longer in the API: stopped and removed ${state.containers.length} container(s)`);
    await this.removeAll(uid, state);
  }

  private async removeAll(uid: string, state: PodRuntimeState): Promise<void> {
    for (const c of state.containers) await this.deps.runtime.removeContainer(c.id);
    for (const s of state.sandboxes) await this.deps.runtime.removeSandbox(s.id);
    removePodDir(this.deps.dataDir, uid);
    this.forget(uid);
  }

  /** Drops in-memory state of a pod that is gone. */
  forget(uid: string): void {
    this.allocations.remove(uid);
    this.written.forget(uid);
    this.firstSeen.delete(uid);
    this.startReported.delete(uid);
    this.crashBackoff.prune((k) => !k.startsWith(`${uid}/`));
    this.deps.puller.prune((k) => k !== uid);
  }
}

/** The spec of a container that has a lifecycle: a regular container or a sidecar. */
function specOf(pod: Pod, name: string): Container | undefined {
  return pod.spec?.containers?.find((x) => x.name === name) ?? pod.spec?.initContainers?.find((x) => x.name === name && isSidecar(x));
}
