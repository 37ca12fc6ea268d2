// Applying one object: create it, or three-way merge it onto the live object
// and update with the live resourceVersion. A conflict (another writer got in
// between) re-reads and re-merges; nothing is ever overwritten blindly.

import { decodeJson, encodeJson } from '../../api/codec';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../api/errors';
import { KINDS, type ApiObject, type KindName } from '../../api/kinds';
import type { ResourceClient } from '../../client';
import { isMap, jsonEqual, threeWayMerge, type JsonMap } from '../../api/patch/merge';

/** The annotation kubectl keeps the last applied configuration in (same key, so users know it). */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export type ApplyResult = 'created' | 'configured' | 'unchanged';

export interface ApplyOptions {
  /** Conflicts retried before giving up; default 5. */
  readonly maxConflictRetries?: number;
  /** Ask the server to validate and default but not store. */
  readonly dryRun?: boolean;
}

/** The configuration the annotation stores: the file's object without the annotation itself. */
export function configWithoutAnnotation(config: JsonMap): JsonMap {
  const copy = structuredClone(config);
  const meta = copy['metadata'];
  if (isMap(meta) && isMap(meta['annotations'])) {
    delete meta['annotations'][LAST_APPLIED];
    if (Object.keys(meta['annotations']).length === 0) delete meta['annotations'];
  }
  return copy;
}

/** What apply writes: the file's object plus the last-applied annotation. */
export function withLastApplied(config: JsonMap): JsonMap {
  const clean = configWithoutAnnotation(config);
  const out = structuredClone(clean);
  const meta = isMap(out['metadata']) ? out['metadata'] : (out['metadata'] = {});
  const annotations = isMap(meta['annotations']) ? meta['annotations'] : (meta['annotations'] = {});
  annotations[LAST_APPLIED] = JSON.stringify(clean);
  return out;
}

/** The last-applied configuration stored on a live object, if any (a malformed one counts as none). */
export function lastAppliedOf(live: JsonMap): JsonMap | undefined {
  const meta = live['metadata'];
  const raw = isMap(meta) && isMap(meta['annotations']) ? meta['annotations'][LAST_APPLIED] : undefined;
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed = JSON.parse(raw) as unknown;
    return isMap(parsed as JsonMap) ? (parsed as JsonMap) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The object apply would store given the live one, or undefined when
 * nothing would change. Pure.
 */
export function planUpdate(kind: KindName, config: JsonMap, live: JsonMap): JsonMap | undefined {
  const merged = threeWayMerge(KINDS[kind].typeName, lastAppliedOf(live), withLastApplied(config), live);
  return jsonEqual(merged, live) ? undefined : merged;
}

/**
 * Applies `config` (the canonical JSON of one manifest object, namespace
 * resolved) through `client`. Idempotent: a second call with the same config
 * returns 'unchanged'. Throws the ApiError of the server (Invalid, ...).
 */
export async function applyObject(kind: KindName, client: ResourceClient<ApiObject>, config: JsonMap, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { typeName } = KINDS[kind];
  const meta = isMap(config['metadata']) ? config['metadata'] : {};
  const name = String(meta['name'] ?? '');
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  const retries = options.maxConflictRetries ?? 5;
  const dryRun = options.dryRun ?? false;
  for (let attempt = 0; ; attempt++) {
    let live: ApiObject | undefined;
    try {
      live = await client.get(name, namespace);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    try {
      if (!live) {
        await client.create(decodeJson<ApiObject>(typeName, withLastApplied(config)).value, { dryRun });
        return 'created';
      }
      const merged = planUpdate(kind, config, encodeJson(typeName, live) as JsonMap);
      if (!merged) return 'unchanged';
      await client.update(decodeJson<ApiObject>(typeName, merged).value, { dryRun });
      return 'configured';
    } catch (err) {
      const raced = err instanceof ConflictError || err instanceof AlreadyExistsError || (err instanceof NotFoundError && live !== undefined);
      if (!raced || attempt >= retries) throw err;
    }
  }
}
