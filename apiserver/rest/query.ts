// Query parameters of the REST API (Kubernetes' ListOptions, DeleteOptions,
// CreateOptions), parsed and checked with one-line errors naming the
// parameter. Pure.

import { BadRequestError, InvalidError } from '../../api/errors';
import type { DeleteRequest, ListRequest, WatchRequest } from '../../api/gen/tsk/v1/meta';
import type { JsonObject } from '../../api/codec';

function nonNegativeInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new BadRequestError(`${name}: "${v}" must be a non-negative integer`);
  return Number(v);
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new BadRequestError(`${name}: "${v}" must be true or false`);
}

export interface ListQuery {
  readonly list: ListRequest;
  readonly watch: boolean;
  readonly watchRequest: WatchRequest;
  /** Seconds after which a watch ends (the client watches again). */
  readonly timeoutSeconds: number | undefined;
}

/**
 * A list or watch. Lists are always served consistent (the newest state), which
 * satisfies resourceVersion "", "0" and resourceVersionMatch=NotOlderThan;
 * an exact older revision is not kept, so Exact is refused.
 */
export function parseListQuery(q: URLSearchParams, namespace: string): ListQuery {
  const watch = bool(q, 'watch');
  const rv = q.get('resourceVersion') ?? '';
  const match = q.get('resourceVersionMatch') ?? '';
  if (match !== '' && !watch) {
    if (rv === '')
      throw new InvalidError('ListOptions', '', [
        { field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided' },
      ]);
    if (match === 'Exact')
      throw new BadRequestError('resourceVersionMatch=Exact is not supported: lists are served at the newest resourceVersion (use NotOlderThan)');
    if (match !== 'NotOlderThan') throw new BadRequestError(`resourceVersionMatch: "${match}" must be NotOlderThan or Exact`);
  }
  if (rv !== '' && !/^\d+$/.test(rv)) throw new BadRequestError(`resourceVersion: "${rv}" must be a decimal number`);
  const selectors = { labelSelector: q.get('labelSelector') ?? '', fieldSelector: q.get('fieldSelector') ?? '' };
  return {
    watch,
    list: { namespace, ...selectors, limit: nonNegativeInt(q, 'limit') ?? 0, continue: q.get('continue') ?? '' },
    watchRequest: { namespace, ...selectors, resourceVersion: rv, allowBookmarks: bool(q, 'allowWatchBookmarks') },
    timeoutSeconds: nonNegativeInt(q, 'timeoutSeconds'),
  };
}

/** dryRun: only "All" exists. */
export function parseDryRun(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw new BadRequestError(`dryRun: "${v}" is not supported; the only value is All`);
  return values.length > 0;
}

function optionalNumber(body: JsonObject, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new BadRequestError(`DeleteOptions.${name}: must be a non-negative integer`);
  return v;
}

function optionalString(obj: JsonObject, name: string, where: string): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequestError(`${where}.${name}: must be a string`);
  return v;
}

/**
 * A delete's DeleteOptions: from the body (kubectl sends one) and the query
 * (gracePeriodSeconds, propagationPolicy), the query winning as in
 * Kubernetes. orphanDependents (deprecated) maps to a policy.
 */
export function parseDeleteOptions(q: URLSearchParams, body: JsonObject | undefined, namespace: string, name: string): DeleteRequest & { dryRun: boolean } {
  const b = body ?? {};
  let policy = optionalString(b, 'propagationPolicy', 'DeleteOptions');
  const orphan = b['orphanDependents'];
  if (policy === undefined && typeof orphan === 'boolean') policy = orphan ? 'Orphan' : 'Background';
  const qOrphan = q.get('orphanDependents');
  if (qOrphan !== null && qOrphan !== '') policy = bool(q, 'orphanDependents') ? 'Orphan' : 'Background';
  policy = q.get('propagationPolicy') || policy;
  const pre = b['preconditions'];
  const preconditions =
    pre && typeof pre === 'object' && !Array.isArray(pre)
      ? { uid: optionalString(pre, 'uid', 'preconditions'), resourceVersion: optionalString(pre, 'resourceVersion', 'preconditions') }
      : undefined;
  const dryRunBody = Array.isArray(b['dryRun']) && (b['dryRun'] as unknown[]).includes('All');
  return {
    namespace,
    name,
    gracePeriodSeconds: nonNegativeInt(q, 'gracePeriodSeconds') ?? optionalNumber(b, 'gracePeriodSeconds'),
    preconditions,
    propagationPolicy: policy ?? '',
    dryRun: parseDryRun(q) || dryRunBody,
  };
}
