// The transform the control plane's shared informers apply to every object
// before caching it (client-go's SetTransform / WithTransform): at 150,000
// pods the informers' decoded pods are the largest thing `tsk server` holds
// (issue 11).
//
// - metadata.managedFields is dropped, as kube-controller-manager's and
//   kube-scheduler's informers do (their `trim` transform): no controller
//   reads it, and each entry's fieldsV1 is a long string of its own.
// - Every empty list and map becomes one shared, frozen empty list or map.
//   The generated decoders give each object a fresh [] or {} for every
//   absent repeated or map field (a decoded pod holds about twenty of them,
//   some 0.8 KiB); one shared empty reads the same (length 0, no keys, equal
//   to []) and, frozen, turns a write into a cached object, a bug anyway
//   (cached objects are shared by every handler), into a TypeError instead
//   of a change to every object.
// - Every other list is copied to one of its exact length: the decoders push
//   into [], which leaves room for 17 items whatever the count (some 1 KiB
//   of a decoded pod's 4, in 7 lists of one or two items).
// Mutates the object it is given (a freshly decoded one the informer owns)
// and returns it. Idempotent.

import type { ApiObject } from '../api/kinds';

const EMPTY_LIST: readonly unknown[] = Object.freeze([]);
const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({});

/** The object, without managedFields, with shared empties and exact lists; see the file comment. */
export function trimForCache<T extends ApiObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  compact(obj as unknown as Record<string, unknown>);
  return obj;
}

function compact(o: Record<string, unknown> | unknown[]): void {
  if (Array.isArray(o)) {
    for (const v of o)
      if (v !== null && typeof v === 'object' && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) compact(v as Record<string, unknown>);
    return;
  }
  for (const key in o) {
    const v = o[key];
    if (v === null || typeof v !== 'object' || v === EMPTY_LIST || v === EMPTY_MAP) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) o[key] = EMPTY_LIST;
      else {
        // slice() allocates exactly length slots.
        const exact = v.slice();
        o[key] = exact;
        compact(exact);
      }
    } else if (Object.getPrototypeOf(v) !== Object.prototype) {
      // Bytes (Uint8Array) and anything else not a message or map: kept as decoded.
      continue;
    } else if (isEmpty(v)) o[key] = EMPTY_MAP;
    else compact(v as Record<string, unknown>);
  }
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
