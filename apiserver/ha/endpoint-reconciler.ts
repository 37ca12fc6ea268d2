// Every API server of a clustered control plane lists itself in the
// `default/kubernetes` Endpoints, as kube-apiserver's lease endpoint
// reconciler (--endpoint-reconciler-type=lease) does: each server keeps
// /registry/masterleases/<IP> in etcd under a lease of ENDPOINT_TTL_S,
// renewed every RECONCILE_MS, and writes the Endpoints from the keys alive;
// a server that dies drops out when its lease runs out, one that stops
// removes its own key at once. The selectorless `kubernetes` Service the
// Endpoints belong to is created when missing (the endpoints controller
// deletes Endpoints without a Service).

import type { Etcd3 } from 'etcd3';
import { AlreadyExistsError, ApiError, NotFoundError } from '../../api/errors';
import type { Endpoints, Service } from '../../api/gen/tsk/v1/core';
import { errorMessage } from '../../util/errors';
import type { Registry } from '../registry/store';

export const MASTER_LEASES_PREFIX = '/registry/masterleases/';
/** Kubernetes' --master-endpoint-reconciler-ttl default and its reconcile interval. */
export const ENDPOINT_TTL_S = 15;
export const RECONCILE_MS = 10_000;
export const KUBERNETES_SERVICE = 'kubernetes';

/** The `default/kubernetes` Service: port 443 (https) to the servers' port. */
export function kubernetesService(port: number): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: KUBERNETES_SERVICE, namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: { type: 0, intVal: port } }] },
  };
}

/** The subsets listing `ips` (sorted, so every server writes the same object). */
export function kubernetesSubsets(ips: readonly string[], port: number): Endpoints['subsets'] {
  if (ips.length === 0) return [];
  return [{ addresses: [...new Set(ips)].sort().map((ip) => ({ ip })), ports: [{ name: 'https', port, protocol: 'TCP' }] }];
}

function sameSubsets(a: Endpoints['subsets'], b: Endpoints['subsets']): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

export interface EndpointReconcilerOptions {
  etcd: Etcd3;
  services: Registry;
  endpoints: Registry;
  /** This server's advertised address and API port. */
  ip: string;
  port: number;
  log: (msg: string) => void;
  intervalMs?: number;
  ttlSeconds?: number;
}

export interface RunningEndpointReconciler {
  /** One round now (tests). */
  reconcile(): Promise<void>;
  /** Removes this server from the Endpoints and stops. */
  stop(): Promise<void>;
}

export function startEndpointReconciler(opts: EndpointReconcilerOptions): RunningEndpointReconciler {
  const key = MASTER_LEASES_PREFIX + opts.ip;
  const ttl = opts.ttlSeconds ?? ENDPOINT_TTL_S;
  let stopped = false;
  let serviceMade = false;

  const ensureService = async (): Promise<void> => {
    if (serviceMade) return;
    try {
      await opts.services.create(kubernetesService(opts.port));
      opts.log(`created service default/${KUBERNETES_SERVICE}`);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    serviceMade = true;
  };

  const writeEndpoints = async (): Promise<void> => {
    const alive = Object.values(await opts.etcd.getAll().prefix(MASTER_LEASES_PREFIX).strings());
    const subsets = kubernetesSubsets(alive, opts.port);
    let current: Endpoints | undefined;
    try {
      current = (await opts.endpoints.get('default', KUBERNETES_SERVICE)) as Endpoints;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    if (current === undefined) {
      const created: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: KUBERNETES_SERVICE, namespace: 'default' }, subsets };
      await opts.endpoints.create(created);
    } else if (!sameSubsets(current.subsets, subsets)) {
      // A conflict with another server's write is settled at the next round.
      const updated: Endpoints = { ...current, subsets };
      await opts.endpoints.update(updated, false);
    }
  };

  const reconcile = async (): Promise<void> => {
    const lease = opts.etcd.lease(ttl, { autoKeepAlive: false });
    // A fresh lease each round: a server that stops renewing drops out after the TTL.
    await lease.put(key).value(opts.ip);
    lease.release();
    await ensureService();
    await writeEndpoints();
  };

  const round = (): void => {
    reconcile().catch((err: unknown) => {
      if (!stopped) opts.log(`kubernetes endpoints: ${err instanceof ApiError ? err.message : errorMessage(err)}`);
    });
  };
  round();
  const timer = setInterval(round, opts.intervalMs ?? RECONCILE_MS);
  return {
    reconcile,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      try {
        await opts.etcd.delete().key(key);
        await writeEndpoints();
      } catch (err) {
        opts.log(`kubernetes endpoints: could not remove ${opts.ip}: ${errorMessage(err)}`);
      }
    },
  };
}
