// The field manager of the REST writes that are not applies (Kubernetes'
// FieldManager.UpdateNoErrors in the create, update and patch handlers):
// who the manager is (the fieldManager parameter, else the User-Agent's
// prefix), and the registry step that records its Update entry in
// metadata.managedFields on the object actually stored (server-side-apply.ts
// computes the entries).
//
// gRPC writes (tsctl, controllers, kubelets) record no entry: their
// objects keep the managed fields the registry carries over (store.ts), so
// what REST clients and appliers recorded stays, and the hot paths (kubelet
// status writes, binds, leases, events) pay nothing for it.

import type { JsonObject } from '../../api/codec';
import { ApiError, type Cause } from '../../api/errors';
import type { ManagedFieldsEntry } from '../../api/gen/tsk/v1/meta';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import { isMap, type Json } from '../../api/patch/shape';
import type { ManagedFieldsRecorder } from '../registry/store';
import { objectJson } from './objects';
import { rfc3339 } from '../../util/time';
import { updatedManagedFields } from './server-side-apply';

/** Kubernetes' FieldManagerMaxLength. */
export const FIELD_MANAGER_MAX_LENGTH = 128;

/** The options kind a bad fieldManager is reported on, as Kubernetes validates CreateOptions, UpdateOptions and PatchOptions. */
export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions';

/**
 * Kubernetes' prefixFromUserAgent: the User-Agent up to its first '/',
 * without unprintable characters, cut to 128 bytes ("kubectl/v1.32.4 (linux/amd64) ..." is "kubectl").
 */
export function prefixFromUserAgent(userAgent: string): string {
  let out = '';
  for (const ch of userAgent.split('/')[0] ?? '') {
    if (!isPrintable(ch)) continue;
    if (Buffer.byteLength(out + ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}

/**
 * The manager of a write (Kubernetes' managerOrUserAgent): the fieldManager
 * parameter, checked as ValidateFieldManager does (422 naming the options
 * kind), else the User-Agent's prefix.
 */
export function managerOf(fieldManager: string | null, userAgent: string | undefined, options: OptionsKind): string {
  if (fieldManager === null || fieldManager === '') return prefixFromUserAgent(userAgent ?? '');
  const causes: Cause[] = [];
  if (Buffer.byteLength(fieldManager) > FIELD_MANAGER_MAX_LENGTH) {
    causes.push({ field: 'fieldManager', message: `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes`, reason: 'FieldValueTooLong' });
  }
  let i = 0;
  for (const ch of fieldManager) {
    if (!isPrintable(ch)) {
      const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      causes.push({
        field: 'fieldManager',
        message: `Invalid value: ${JSON.stringify(fieldManager)}: invalid character U+${code} (at position ${i})`,
        reason: 'FieldValueInvalid',
      });
    }
    i += Buffer.byteLength(ch);
  }
  if (causes.length === 0) return fieldManager;
  const details = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const list = causes.length > 1 ? `[${details}]` : details;
  throw new ApiError('Invalid', `${options}.meta.k8s.io "" is invalid: ${list}`, causes, { kind: options });
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/** The request's metadata.managedFields as sent (undefined when absent): the reset and keep rules need the JSON, not the decoded object. */
export function requestedManagedFields(body: JsonObject): Json | undefined {
  const meta = body['metadata'];
  return isMap(meta) ? meta['managedFields'] : undefined;
}

export interface RecorderOptions {
  readonly manager: string;
  /** "status" or "scale" for a write to that subresource. */
  readonly subresource?: string | undefined;
  /** The request's metadata.managedFields (requestedManagedFields). */
  readonly requested?: Json | undefined;
  readonly now: () => Date;
}

/**
 * The registry step that records a write's Update entry: run on the object
 * about to be stored (defaulted, server fields set) against the stored one,
 * inside the compare-and-swap loop, so the entries follow the object
 * actually replaced.
 */
export function updateRecorder(kind: KindName, opts: RecorderOptions): ManagedFieldsRecorder {
  const typeName = KINDS[kind].typeName;
  return (obj: ApiObject, old: ApiObject | undefined): void => {
    const meta = (obj.metadata ??= {});
    const next = updatedManagedFields(typeName, old ? objectJson(kind, old) : undefined, objectJson(kind, obj), {
      manager: opts.manager,
      subresource: opts.subresource,
      requested: opts.requested,
      now: rfc3339(opts.now()),
    });
    meta.managedFields = next === undefined ? old?.metadata?.managedFields : next.map(toEntry);
  };
}

/** An entry of updatedManagedFields in the stored form (fieldsV1 as JSON text), built directly: the codec would cost more than the rest. */
function toEntry(e: JsonObject): ManagedFieldsEntry {
  const text = (k: string): string | undefined => (typeof e[k] === 'string' ? e[k] : undefined);
  return {
    manager: text('manager'),
    operation: text('operation'),
    apiVersion: text('apiVersion'),
    time: text('time'),
    fieldsType: text('fieldsType'),
    fieldsV1: JSON.stringify(e['fieldsV1'] ?? {}),
    subresource: text('subresource'),
  };
}
