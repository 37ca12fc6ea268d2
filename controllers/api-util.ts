// Small helpers the controllers share for talking to the API.

import { Counter, type Registry } from 'prom-client';
import { NotFoundError } from '../api/errors';

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
