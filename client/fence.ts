// A write fence for a leader's term: the clientset a term writes with
// refuses every write once the term has stopped (the Lease lost, or the
// process stopping). A sync that was in flight when leadership ended may
// still compute, but it cannot start a write afterwards, so an ex-leader
// never writes after its successor has begun: the successor waits a whole
// lease duration, and a request already sent when the term stopped is
// answered within it. Reads pass, as do Events (a hint for humans).

import { UnavailableError } from '../api/errors';
import type { Clientset } from './clientset';

/** The verbs that change state, on every kind's client (bind and bindBatch on pods). */
const WRITE_VERBS: ReadonlySet<PropertyKey> = new Set(['create', 'update', 'updateStatus', 'delete', 'bind', 'bindBatch']);

/** Thrown by a fenced write: retryable on the API's terms, and the next leader retries it anyway. */
export class FencedWriteError extends UnavailableError {
  constructor(what: string) {
    super(`${what}: not the leader any more; write refused`);
  }
}

function fenceClient<C extends object>(client: C, stopped: () => boolean, what: string): C {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (!WRITE_VERBS.has(prop)) return fn;
      return (...args: unknown[]) => (stopped() ? Promise.reject(new FencedWriteError(what)) : fn(...args));
    },
  });
}

/**
 * The clientset `cs` seen by one term: every kind's client (the fields,
 * kind() and resource()) refuses writes once `stopped()` is true; the Event
 * client is left open. Connections and everything else are shared.
 */
export function fencedClientset(cs: Clientset, stopped: () => boolean, what: string): Clientset {
  const fenced = new Map<object, object>();
  const fence = (client: object): object => {
    if (client === cs.events) return client;
    let f = fenced.get(client);
    if (!f) fenced.set(client, (f = fenceClient(client, stopped, what)));
    return f;
  };
  return new Proxy(cs, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'kind' || prop === 'resource') {
        return (name: string) => fence((value as (n: string) => object).call(target, name));
      }
      if (typeof value === 'function') return (value as (...a: unknown[]) => unknown).bind(target);
      // A kind's client: it has the KindInfo `info`.
      if (typeof value === 'object' && value !== null && 'info' in value) return fence(value);
      return value;
    },
  });
}
