// Every API call the workload makes goes through here: it gets a deadline of
// its own (a call that neither answers nor fails by then hangs: a violation),
// is retried while the error says the server was unavailable, and any failure
// that is not an ApiError (a status with a code) is a violation too: a client
// must always learn what happened to its call.

import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, UnavailableError } from '../api/errors';
import { errorMessage } from '../util/errors';
import { violation, type Violation } from './violation';

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export interface CallOptions {
  /** Longer than the client's own deadline (30 s): a call still pending then hangs. */
  readonly hangMs: number;
  /** Attempts while the server is unavailable. */
  readonly attempts: number;
  readonly retryDelayMs: number;
}

export const DEFAULT_CALL_OPTIONS: CallOptions = { hangMs: 45_000, attempts: 4, retryDelayMs: 1000 };

class HangError extends Error {}

/** Whether a failed call may be tried again: the server was unreachable or unavailable, the request may not have been done. */
export function retriable(err: unknown): boolean {
  return err instanceof UnavailableError || (err instanceof ApiError && (err.reason === 'Timeout' || err.reason === 'ServiceUnavailable'));
}

export class CallLog {
  readonly violations: Violation[] = [];
  calls = 0;
  failures = 0;
  retries = 0;

  constructor(private readonly options: CallOptions = DEFAULT_CALL_OPTIONS) {}

  /** Runs `fn` under the deadline, retrying while retriable; never throws. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<Outcome<T>> {
    this.calls++;
    let last: unknown;
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      if (attempt > 1) {
        this.retries++;
        await sleep(this.options.retryDelayMs);
      }
      try {
        return { ok: true, value: await this.withDeadline(what, fn) };
      } catch (err) {
        last = err;
        if (err instanceof HangError) this.violations.push(violation('api-calls', err.message));
        else if (!(err instanceof ApiError)) this.violations.push(violation('api-calls', `${what} failed without an API status: ${errorMessage(err)}`));
        if (!retriable(err)) break;
      }
    }
    this.failures++;
    return { ok: false, error: last };
  }

  private async withDeadline<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const hang = sleep(this.options.hangMs, undefined, { signal: ac.signal }).then(() => {
      throw new HangError(`${what} neither answered nor failed in ${this.options.hangMs / 1000}s`);
    });
    try {
      return await Promise.race([fn(), hang]);
    } finally {
      ac.abort();
      hang.catch(() => undefined);
    }
  }
}
