// Small helpers the controllers share for talking to the API.

import { NotFoundError } from '../api/errors';

/** A time in the API's form (RFC 3339, seconds, UTC), from milliseconds since the epoch. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Awaits a write whose target may already be gone (deleted meanwhile): NotFound counts as done. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}
