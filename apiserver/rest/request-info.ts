// What a REST path names (Kubernetes' RequestInfo): the group, version,
// namespace, resource, name and subresource of /api/v1/... and
// /apis/GROUP/VERSION/... paths. Pure: the router decides what to do with it.

import { KIND_NAMES, KINDS, type KindName } from '../../api/kinds';

export interface ResourceRequest {
  readonly group: string;
  readonly version: string;
  /** "" for cluster-scoped kinds and for lists across all namespaces. */
  readonly namespace: string;
  /** The plural as in the path: "pods", "selfsubjectaccessreviews". */
  readonly resource: string;
  /** "" for the collection. */
  readonly name: string;
  /** "status", "scale", "log", "binding", or "". */
  readonly subresource: string;
}

const NAMESPACE_SUBRESOURCES: ReadonlySet<string> = new Set(['status', 'finalize']);

/** The kind served as `resource` in group/version, or undefined. */
export function kindOfResource(group: string, version: string, resource: string): KindName | undefined {
  return KIND_NAMES.find((k) => KINDS[k].plural === resource && KINDS[k].group === group && KINDS[k].version === version);
}

/**
 * Splits a resource path; undefined when the path is not under /api/v1 or
 * /apis/GROUP/VERSION or has too many segments. `/api/v1/namespaces/NAME`
 * is the Namespace NAME, `/api/v1/namespaces/NS/RESOURCE/...` a resource in NS.
 */
export function parseResourcePath(pathname: string): ResourceRequest | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace = '';
  // A Namespace's own subresources (Kubernetes' namespaceSubresources): /namespaces/NAME/status.
  if (rest[0] === 'namespaces' && rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!)) {
    return { group, version, namespace: '', resource: 'namespaces', name: rest[1]!, subresource: rest[2]! };
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  return { group, version, namespace, resource: rest[0]!, name: rest[1] ?? '', subresource: rest[2] ?? '' };
}
