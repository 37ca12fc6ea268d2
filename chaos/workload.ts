// The workload step of a round: one change a user would make, through tsk's
// own client library: scale an RC, create or delete a namespace (with its RC
// and Service), or create or delete a Service. Every acknowledged write goes
// into the ledger; a failed one makes its object "unknown" there, and the
// workload reads the object back before it acts on it again.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Clientset } from '../client';
import { ConflictError, NotFoundError } from '../api/errors';
import { CallLog } from './calls';
import { Ledger, ledgerKey } from './ledger';
import { APP, CHURN_NAMESPACE, churnObject, NAMESPACE_PREFIX, namespaceObject, rcObject, serviceObject } from './objects';
import { pick, randomInt, type Rng } from './rng';

export type WorkloadChange = 'scale' | 'create-namespace' | 'delete-namespace' | 'create-service' | 'delete-service';

export interface WorkloadLimits {
  readonly maxNamespaces: number;
  readonly maxReplicas: number;
}

export const DEFAULT_WORKLOAD_LIMITS: WorkloadLimits = { maxNamespaces: 3, maxReplicas: 3 };

interface AppState {
  readonly namespace: string;
  /** Whether its Service should exist, as far as the workload knows. */
  service: boolean;
}

/** The change to make, from what exists: pure, so the choice is tested. */
export function chooseChange(rng: Rng, namespaces: number, limits: WorkloadLimits): WorkloadChange {
  if (namespaces === 0) return 'create-namespace';
  const r = rng.next();
  if (r < 0.45) return 'scale';
  if (r < 0.65) return namespaces < limits.maxNamespaces ? 'create-namespace' : 'scale';
  if (r < 0.8) return namespaces > 1 ? 'delete-namespace' : 'scale';
  return r < 0.9 ? 'create-service' : 'delete-service';
}

export class Workload {
  private readonly apps: AppState[] = [];
  private nextNamespace = 1;
  private nextChurn = 1;
  /** The churn writer's ConfigMaps that exist (as far as acknowledged), oldest first. */
  private readonly churned: string[] = [];

  constructor(
    private readonly cs: Clientset,
    private readonly rng: Rng,
    readonly ledger: Ledger,
    readonly calls: CallLog,
    private readonly limits: WorkloadLimits = DEFAULT_WORKLOAD_LIMITS,
  ) {}

  get namespaces(): readonly string[] {
    return this.apps.map((a) => a.namespace);
  }

  /** Makes one change; returns what it did, in a few words. Never throws: failures are in the call log and the ledger. */
  async step(): Promise<string> {
    const change = chooseChange(this.rng, this.apps.length, this.limits);
    switch (change) {
      case 'create-namespace':
        return this.createApp();
      case 'delete-namespace':
        return this.deleteApp(pick(this.rng, this.apps));
      case 'scale':
        return this.scale(pick(this.rng, this.apps), randomInt(this.rng, 1, this.limits.maxReplicas));
      case 'create-service':
      case 'delete-service': {
        const app = pick(this.rng, this.apps);
        return app.service ? this.deleteService(app) : this.createService(app);
      }
    }
  }

  async createApp(replicas = randomInt(this.rng, 1, this.limits.maxReplicas)): Promise<string> {
    const ns = `${NAMESPACE_PREFIX}${this.nextNamespace++}`;
    const app: AppState = { namespace: ns, service: true };
    this.apps.push(app);
    await this.write(ledgerKey('Namespace', '', ns), { state: 'present' }, `create namespace ${ns}`, () => this.cs.namespaces.create(namespaceObject(ns)));
    await this.write(ledgerKey('ReplicationController', ns, APP), { state: 'present', replicas }, `create rc ${ns}/${APP}`, () =>
      this.cs.replicationControllers.create(rcObject(ns, replicas)),
    );
    await this.write(ledgerKey('Service', ns, APP), { state: 'present' }, `create service ${ns}/${APP}`, () => this.cs.services.create(serviceObject(ns)));
    return `create ${ns} (${replicas} replicas)`;
  }

  private async deleteApp(app: AppState): Promise<string> {
    this.apps.splice(this.apps.indexOf(app), 1);
    const r = await this.calls.call(`delete namespace ${app.namespace}`, () => this.cs.namespaces.delete(app.namespace));
    if (r.ok || r.error instanceof NotFoundError) this.ledger.namespaceDeleted(app.namespace);
    else this.ledger.unsure(ledgerKey('Namespace', '', app.namespace));
    return `delete ${app.namespace}`;
  }

  /** Sets the RC's replicas: read, change, update; a conflict (someone else wrote it) reads again. */
  private async scale(app: AppState, replicas: number): Promise<string> {
    const key = ledgerKey('ReplicationController', app.namespace, APP);
    for (let attempt = 0; attempt < 3; attempt++) {
      const got = await this.calls.call(`get rc ${app.namespace}/${APP}`, () => this.cs.replicationControllers.get(APP, app.namespace));
      if (!got.ok) break;
      const rc = got.value;
      const r = await this.calls.call(`scale rc ${app.namespace}/${APP} to ${replicas}`, () =>
        this.cs.replicationControllers.update({ ...rc, spec: { ...rc.spec, replicas } }),
      );
      if (r.ok) {
        this.ledger.acknowledge(key, { state: 'present', replicas });
        return `scale ${app.namespace} to ${replicas}`;
      }
      if (!(r.error instanceof ConflictError)) break;
    }
    this.ledger.unsure(key);
    return `scale ${app.namespace} to ${replicas} (failed)`;
  }

  private async createService(app: AppState): Promise<string> {
    app.service = true;
    await this.write(ledgerKey('Service', app.namespace, APP), { state: 'present' }, `create service ${app.namespace}/${APP}`, () =>
      this.cs.services.create(serviceObject(app.namespace)),
    );
    return `create service in ${app.namespace}`;
  }

  private async deleteService(app: AppState): Promise<string> {
    app.service = false;
    const key = ledgerKey('Service', app.namespace, APP);
    const r = await this.calls.call(`delete service ${app.namespace}/${APP}`, () => this.cs.services.delete(APP, { namespace: app.namespace }));
    if (r.ok || r.error instanceof NotFoundError) this.ledger.acknowledge(key, { state: 'absent' });
    else this.ledger.unsure(key);
    return `delete service in ${app.namespace}`;
  }

  /**
   * Writes without pause until `stop` says so: creates a ConfigMap, and
   * deletes the oldest once more than `keep` exist. Many acknowledged writes
   * land right before, during and after the fault, where a lost one would be.
   */
  async churn(round: number, stop: () => boolean, keep = 5): Promise<number> {
    let writes = 0;
    while (!stop()) {
      const name = `chaos-cm-${this.nextChurn++}`;
      const key = ledgerKey('ConfigMap', CHURN_NAMESPACE, name);
      await this.write(key, { state: 'present' }, `create configmap ${name}`, () => this.cs.configMaps.create(churnObject(name, round)));
      if (this.ledger.expectation(key)?.state !== 'unknown') this.churned.push(name);
      writes++;
      // A steady trickle, not a flood: the machine is shared with the lab it tests.
      await sleep(100);
      const oldest = this.churned.length > keep ? this.churned.shift() : undefined;
      if (oldest === undefined) continue;
      const old = ledgerKey('ConfigMap', CHURN_NAMESPACE, oldest);
      const r = await this.calls.call(`delete configmap ${oldest}`, () => this.cs.configMaps.delete(oldest, { namespace: CHURN_NAMESPACE }));
      if (r.ok || r.error instanceof NotFoundError) this.ledger.acknowledge(old, { state: 'absent' });
      else this.ledger.unsure(old);
      writes++;
    }
    return writes;
  }

  /** A create: acknowledged, or already there after a retry (unknown whether this call made it, but it exists), or unknown. */
  private async write(key: string, want: { state: 'present'; replicas?: number }, what: string, fn: () => Promise<unknown>): Promise<void> {
    const r = await this.calls.call(what, fn);
    if (r.ok) this.ledger.acknowledge(key, want);
    else this.ledger.unsure(key);
  }
}
