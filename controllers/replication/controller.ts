// The replication controller (Kubernetes' pkg/controller/replicaset, run for
// ReplicationControllers): keeps spec.replicas active pods per RC.
//
// Informer handlers only lower expectations and enqueue RC keys. sync(key)
// reads the RC and the namespace's pods from the caches, claims the pods
// (adopt/release), creates or deletes the difference when no earlier
// creates/deletes are still expected, and writes status. It is safe to run
// twice: the expectations and the level-triggered diff make a repeat a no-op.

import { ApiError, ConflictError, NotFoundError, outcomeUnknown } from '../../api/errors';
import type { Pod, ReplicationController, ReplicationControllerStatus } from '../../api/gen/tsk/v1/core';
import { selectorFromSet } from '../../api/labels';
import { NAMESPACE_INDEX, objectKey, referenceTo, runWorker, splitKey, type Clock, type EventRecorder, type Lister, type WorkQueue } from '../../client';
import { errorMessage } from '../../util/errors';
import type { Controller, ControllerFactory } from '../controller';
import { CONTROLLER_UID_INDEX, controllerOf, controllerUidIndexFunc, newControllerRef, orphanIndexKey, sameOwnerRef } from '../ownerrefs';
import { newControllerQueue } from '../queue';
import { RC_KIND, claimPods } from './claim';
import { Expectations } from './expectations';
import { ApiPodControl, type PodControl } from './pod-control';
import { isActive, isReady, podKey } from './pods';
import { podsToDelete } from './ranking';
import { slowStartBatch } from './slow-start';
import { calculateStatus, statusUpToDate } from './status';

/** Kubernetes' BurstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;
/** Kubernetes' SlowStartInitialBatchSize. */
export const SLOW_START_INITIAL_BATCH = 1;
export const COMPONENT = 'replication-controller';
/** How often an RC whose expectations expired looks again while the pod informer catches up with its creates. */
export const LAGGING_RECHECK_MS = 10_000;

export interface ReplicationDeps {
  readonly rcs: Lister<ReplicationController>;
  /** Pods, with the CONTROLLER_UID_INDEX index. */
  readonly pods: Lister<Pod>;
  readonly podControl: PodControl;
  readonly recorder: EventRecorder;
  readonly clock: Clock;
  readonly queue: WorkQueue<string>;
  readonly log: (line: string) => void;
  readonly burstReplicas?: number;
  /** The revision the pod informer has reached (its lastSyncResourceVersion); unset: expectations expire on time alone. */
  readonly podsRevision?: () => string;
}

/** The API server refused a create because the namespace is going away (Kubernetes ignores these). */
function namespaceTerminating(err: unknown): boolean {
  return err instanceof ApiError && err.reason === 'Forbidden' && /is being terminated/.test(err.message);
}

/** A pod for the RC from its template, named "<rc>-<random>" by the API server. */
export function podFromTemplate(rc: ReplicationController): Pod {
  const t = rc.spec?.template;
  const tm = t?.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rc.metadata?.name ?? ''}-`,
      namespace: rc.metadata?.namespace ?? '',
      labels: { ...tm?.labels },
      annotations: { ...tm?.annotations },
      finalizers: [...(tm?.finalizers ?? [])],
      ownerReferences: [newControllerRef(RC_KIND, rc)],
    },
    spec: structuredClone(t?.spec ?? {}),
  };
}

export class ReplicationManager implements Controller {
  readonly name = 'replicationcontroller';
  readonly expectations: Expectations;
  private readonly burst: number;
  private workers: Promise<void>[] | undefined;

  constructor(private readonly deps: ReplicationDeps) {
    this.expectations = new Expectations(deps.clock);
    this.burst = deps.burstReplicas ?? BURST_REPLICAS;
  }

  // ---------------------------------------------------------------- handlers

  onRcAdd(rc: ReplicationController): void {
    this.deps.queue.add(objectKey(rc));
  }

  onRcUpdate(old: ReplicationController, cur: ReplicationController): void {
    // Deleted and re-created under the same name between two events: the old one's expectations are void.
    if (old.metadata?.uid !== cur.metadata?.uid) this.onRcDelete(old);
    this.deps.queue.add(objectKey(cur));
  }

  onRcDelete(rc: ReplicationController): void {
    const key = objectKey(rc);
    this.expectations.delete(key);
    this.deps.queue.add(key);
  }

  onPodAdd(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // Seen first with a deletionTimestamp (a restart of the informer): a deletion, not a creation.
      this.onPodDelete(pod);
      return;
    }
    const ref = controllerOf(pod);
    if (ref) {
      const rc = this.resolve(pod.metadata?.namespace ?? '', ref);
      if (!rc) return;
      const key = objectKey(rc);
      this.expectations.creationObserved(key);
      this.deps.queue.add(key);
      return;
    }
    for (const rc of this.matchingRcs(pod)) this.deps.queue.add(objectKey(rc));
  }

  onPodUpdate(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return; // a resync
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (cur.metadata?.deletionTimestamp) {
      // Being deleted counts as deleted: the RC replaces it without waiting for the kubelet.
      this.onPodDelete(cur);
      if (labelsChanged) this.onPodDelete(old);
      return;
    }
    const ns = cur.metadata?.namespace ?? '';
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = !sameOwnerRef(curRef, oldRef);
    if (refChanged && oldRef) {
      const rc = this.resolve(ns, oldRef);
      if (rc) this.deps.queue.add(objectKey(rc));
    }
    if (curRef) {
      const rc = this.resolve(ns, curRef);
      if (!rc) return;
      const key = objectKey(rc);
      this.deps.queue.add(key);
      const minReady = rc.spec?.minReadySeconds ?? 0;
      // Available only minReadySeconds after ready: look again then.
      if (minReady > 0 && !isReady(old) && isReady(cur)) this.deps.queue.addAfter(key, minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rc of this.matchingRcs(cur)) this.deps.queue.add(objectKey(rc));
  }

  onPodDelete(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref) return;
    const rc = this.resolve(pod.metadata?.namespace ?? '', ref);
    if (!rc) return;
    const key = objectKey(rc);
    this.expectations.deletionObserved(key, podKey(pod));
    this.deps.queue.add(key);
  }

  /** The cached RC a controller reference names (same name and uid), if any. */
  private resolve(
    namespace: string,
    ref: { kind?: string | undefined; name?: string | undefined; uid?: string | undefined },
  ): ReplicationController | undefined {
    if (ref.kind !== RC_KIND) return undefined;
    const rc = this.deps.rcs.get(`${namespace}/${ref.name ?? ''}`);
    return rc && rc.metadata?.uid === ref.uid ? rc : undefined;
  }

  /** The RCs of the pod's namespace whose selector matches it (candidates to adopt an orphan). */
  private matchingRcs(pod: Pod): ReplicationController[] {
    const labels = pod.metadata?.labels;
    return this.deps.rcs.byIndex(NAMESPACE_INDEX, pod.metadata?.namespace ?? '').filter((rc) => {
      const sel = selectorFromSet(rc.spec?.selector);
      return !sel.empty() && sel.matches(labels);
    });
  }

  // ---------------------------------------------------------------- sync

  /** Reconciles one RC from the caches. Throws to be retried with back-off. */
  async sync(key: string): Promise<void> {
    const rc = this.deps.rcs.get(key);
    if (!rc) {
      this.expectations.delete(key);
      return;
    }
    const selector = selectorFromSet(rc.spec?.selector);
    if (selector.empty()) {
      // Validation forbids it; an empty selector would claim every pod of the namespace.
      this.deps.log(`replicationcontroller ${key}: empty selector, skipped`);
      return;
    }
    const informerRevision = this.deps.podsRevision?.();
    const needsSync = this.expectations.satisfied(key, informerRevision);
    // Events normally meet the expectations first; if they never come, look again when they expire,
    // or, while the informer is still short of our creates, every LAGGING_RECHECK_MS.
    if (!needsSync) {
      const lagging = this.expectations.lagging(key, informerRevision);
      this.deps.queue.addAfter(key, lagging ? Math.max(LAGGING_RECHECK_MS, this.expectations.expiresInMs(key)) : this.expectations.expiresInMs(key));
    }
    const { namespace } = splitKey(key);
    // Its own pods and the namespace's orphans: those claimPods can take or release.
    const candidates = [
      ...this.deps.pods.byIndex(CONTROLLER_UID_INDEX, rc.metadata?.uid ?? ''),
      ...this.deps.pods.byIndex(CONTROLLER_UID_INDEX, orphanIndexKey(namespace)),
    ];
    const active = candidates.filter(isActive);
    const claim = await claimPods(rc, selector, active, this.deps.podControl);
    if (claim.errors.length > 0) throw new Error(`replicationcontroller ${key}: ${claim.errors.map(errorMessage).join('; ')}`);
    let manageError: unknown;
    if (needsSync && !rc.metadata?.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rc, claim.owned);
      } catch (err) {
        manageError = err;
      }
    }
    const status = calculateStatus(rc, claim.owned, manageError, this.deps.clock.now());
    const written = await this.updateStatus(rc, status);
    const replicas = rc.spec?.replicas ?? 1;
    const minReady = rc.spec?.minReadySeconds ?? 0;
    if (manageError === undefined && written && minReady > 0 && written.readyReplicas === replicas && written.availableReplicas !== replicas) {
      this.deps.queue.addAfter(key, minReady * 1000);
    }
    if (manageError !== undefined) throw manageError;
  }

  /** Creates or deletes pods to reach spec.replicas, at most `burst` per sync. */
  private async manageReplicas(key: string, rc: ReplicationController, owned: readonly Pod[]): Promise<void> {
    const diff = owned.length - (rc.spec?.replicas ?? 1);
    if (diff < 0) await this.createPods(key, rc, Math.min(-diff, this.burst));
    else if (diff > 0) await this.deletePods(key, rc, owned, Math.min(diff, this.burst));
  }

  private async createPods(key: string, rc: ReplicationController, count: number): Promise<void> {
    const ref = referenceTo(RC_KIND, rc);
    // Expect before creating: the informer may see a pod before create() returns.
    this.expectations.expectCreations(key, count);
    /** Creates that timed out or lost their connection: the pod may exist all the same. */
    let unknown = 0;
    const result = await slowStartBatch(count, SLOW_START_INITIAL_BATCH, async () => {
      try {
        const pod = await this.deps.podControl.createPod(podFromTemplate(rc));
        this.expectations.created(key, pod.metadata?.resourceVersion);
        this.deps.recorder.event(ref, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata?.name ?? ''}`);
      } catch (err) {
        if (namespaceTerminating(err)) return;
        if (outcomeUnknown(err)) unknown++;
        this.deps.recorder.event(ref, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    // Creates that failed or were never tried will not be seen by the informer.
    // A timed-out one (or one whose connection broke) keeps its expectation, as Kubernetes' DaemonSet and Job
    // controllers do: lowering it let the next sync, its pod not yet in the
    // cache, create a second pod for one wanted (the over-creation of a
    // loaded server). The expectation's timeout covers a create that did fail.
    for (let i = result.successes + unknown; i < count; i++) this.expectations.creationObserved(key);
    if (result.error !== undefined) throw result.error;
  }

  private async deletePods(key: string, rc: ReplicationController, owned: readonly Pod[], count: number): Promise<void> {
    const ref = referenceTo(RC_KIND, rc);
    const victims = podsToDelete(owned, owned, count);
    this.expectations.expectDeletions(key, victims.map(podKey));
    const errors: unknown[] = [];
    await Promise.all(
      victims.map(async (pod) => {
        const name = pod.metadata?.name ?? '';
        try {
          await this.deps.podControl.deletePod(pod.metadata?.namespace ?? '', name, pod.metadata?.uid ?? '');
          this.deps.recorder.event(ref, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
        } catch (err) {
          // The informer will not report a deletion that did not happen.
          this.expectations.deletionObserved(key, podKey(pod));
          // Gone already (or replaced under the same name): nothing left to delete.
          if (err instanceof NotFoundError || err instanceof ConflictError) return;
          this.deps.recorder.event(ref, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
          errors.push(err);
        }
      }),
    );
    if (errors.length > 0) throw errors[0];
  }

  /** Writes status when it changed (one retry on a conflict, from a fresh read); returns what is stored. */
  private async updateStatus(rc: ReplicationController, status: ReplicationControllerStatus): Promise<ReplicationControllerStatus | undefined> {
    if (statusUpToDate(rc, status)) return rc.status;
    let cur = rc;
    for (let attempt = 0; ; attempt++) {
      const next = { ...status, observedGeneration: cur.metadata?.generation ?? 0 };
      try {
        return (await this.deps.podControl.updateControllerStatus({ ...cur, status: next })).status;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        if (!(err instanceof ConflictError) || attempt >= 1) throw err;
        cur = await this.deps.podControl.getController(cur.metadata?.namespace ?? '', cur.metadata?.name ?? '');
        if (cur.metadata?.uid !== rc.metadata?.uid) return undefined;
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle

  run(workers: number): void {
    if (this.workers) throw new Error('invariant: replicationcontroller run twice');
    this.workers = Array.from({ length: workers }, () =>
      runWorker(
        this.deps.queue,
        (key) => this.sync(key),
        (key, err) => this.deps.log(`replicationcontroller ${key}: sync failed: ${errorMessage(err)}`),
      ),
    );
  }

  async stop(): Promise<void> {
    this.deps.queue.shutDown();
    await Promise.all(this.workers ?? []);
  }
}

/** The manager's factory: the RC and pod informers, the API pod control, events as "replication-controller". */
export const newReplicationController: ControllerFactory = (ctx) => {
  const rcInformer = ctx.informers.informerFor('ReplicationController');
  const podInformer = ctx.informers.informerFor('Pod', { [CONTROLLER_UID_INDEX]: controllerUidIndexFunc });
  const manager = new ReplicationManager({
    rcs: rcInformer.store,
    pods: podInformer.store,
    podControl: new ApiPodControl(ctx.clientset),
    recorder: ctx.recorder(COMPONENT),
    clock: ctx.clock,
    queue: newControllerQueue(ctx, 'replicationmanager'),
    log: ctx.log,
    podsRevision: () => podInformer.lastSyncResourceVersion,
  });
  rcInformer.addEventHandler({
    onAdd: (rc) => manager.onRcAdd(rc),
    onUpdate: (old, cur) => manager.onRcUpdate(old, cur),
    onDelete: (rc) => manager.onRcDelete(rc),
  });
  podInformer.addEventHandler({
    onAdd: (pod) => manager.onPodAdd(pod),
    onUpdate: (old, cur) => manager.onPodUpdate(old, cur),
    onDelete: (pod) => manager.onPodDelete(pod),
  });
  return manager;
};
