// Small helpers the controllers share for talking to the API.

import { Counter, type Registry } from 'prom-client';
import { ConflictError, NotFoundError } from '../api/errors';

/** Awaits a write whose target may already be gone (deleted meanwhile): NotFound counts as done. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

/** A counter in `registry`, or the one already registered there under that name (controllers built twice on one registry share it). */
export function counterIn<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

/** Kubernetes' retries of a node write that lost a race (the range allocator's cidrUpdateRetries, the taint helpers' UpdateTaintBackoff steps). */
export const FRESH_RETRIES = 3;

/**
 * Writes `change(obj)` starting from `cached` (the informer's copy), and
 * after a Conflict from the object read again through `get`, up to
 * FRESH_RETRIES times (Kubernetes' AddOrUpdateTaintOnNode and the CIDR
 * allocator: the lister's copy first, then a fresh GET). Requeueing on a
 * conflict instead would retry from the same informer, which under load
 * lags behind the kubelet's status posts and loses every race again.
 * `change` returns undefined when the fresh object needs nothing.
 */
export async function updateFromFresh<T>(cached: T, get: () => Promise<T>, change: (obj: T) => T | undefined, write: (obj: T) => Promise<T>): Promise<T> {
  let cur = cached;
  for (let attempt = 0; ; attempt++) {
    const next = change(cur);
    if (next === undefined) return cur;
    try {
      return await write(next);
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= FRESH_RETRIES) throw err;
    }
    cur = await get();
  }
}
