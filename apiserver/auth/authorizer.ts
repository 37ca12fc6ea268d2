// Authorization (Kubernetes' authorizer.Authorizer): every request is
// described by its attributes (who, which verb, which resource and
// subresource, where) and an authorizer allows it or has no opinion, with a
// reason. Authorizers are chained as Kubernetes' union authorizer: the first
// that allows wins; a request no one allows is refused with Kubernetes'
// message, `pods "web-1" is forbidden: User "system:node:n1" cannot create
// resource "pods" in API group "" in the namespace "demo"`.

import { ForbiddenError } from '../../api/errors';
import type { UserInfo } from './user';

/** What a request does, as Kubernetes' authorizer.Attributes. */
export interface RequestAttributes {
  readonly user: UserInfo;
  /** The resource's API group: "" (absent) for the core group, "coordination.k8s.io" for leases. */
  readonly apiGroup?: string;
  /** get, list, watch, create, update, delete; exec and tunnels are `create`, logs `get`, as Kubernetes' connect requests. */
  readonly verb: string;
  /** The plural ("pods"); absent for a request that names no resource (see `path`). */
  readonly resource?: string;
  /** "status", "binding", "exec", "log", "tunnel"; "" for the object itself. */
  readonly subresource?: string;
  /** "" for cluster-scoped resources and for lists across namespaces. */
  readonly namespace?: string;
  /** "" when the request names no object (list, watch, create with a generated name). */
  readonly name?: string;
  /** A request that names no resource: the API path, such as "/version". */
  readonly path?: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** Why: shown after the refusal message when not allowed (may be ""), logged or ignored when allowed. */
  readonly reason: string;
}

/** Decides one request. Pure and synchronous: decisions never read the store (admission does that). */
export interface Authorizer {
  authorize(attrs: RequestAttributes): Decision;
}

export const NO_OPINION: Decision = { allowed: false, reason: '' };

/** "pods/status" for a subresource, "pods" otherwise: the name rules and messages use. */
export function resourceOf(attrs: RequestAttributes): string {
  const r = attrs.resource ?? '';
  return attrs.subresource ? `${r}/${attrs.subresource}` : r;
}

/** Kubernetes' union authorizer: the first allow wins; the reasons of the others are joined. */
export function unionAuthorizer(authorizers: readonly Authorizer[]): Authorizer {
  return {
    authorize(attrs: RequestAttributes): Decision {
      const reasons: string[] = [];
      for (const a of authorizers) {
        const d = a.authorize(attrs);
        if (d.allowed) return d;
        if (d.reason) reasons.push(d.reason);
      }
      return { allowed: false, reason: reasons.join(', ') };
    },
  };
}

/** Kubernetes' forbiddenMessage (apiserver/pkg/endpoints/handlers/responsewriters/errors.go). */
export function forbiddenMessage(attrs: RequestAttributes): string {
  const user = JSON.stringify(attrs.user.name);
  if (attrs.resource === undefined) return `User ${user} cannot ${attrs.verb} path ${JSON.stringify(attrs.path ?? '')}`;
  const resource = JSON.stringify(resourceOf(attrs));
  const group = JSON.stringify(attrs.apiGroup ?? '');
  if (attrs.namespace)
    return `User ${user} cannot ${attrs.verb} resource ${resource} in API group ${group} in the namespace ${JSON.stringify(attrs.namespace)}`;
  return `User ${user} cannot ${attrs.verb} resource ${resource} in API group ${group} at the cluster scope`;
}

/** Kubernetes' qualified resource of a message: "pods", "leases.coordination.k8s.io". */
function qualifiedResource(attrs: RequestAttributes): string {
  const r = attrs.resource ?? '';
  return attrs.apiGroup ? `${r}.${attrs.apiGroup}` : r;
}

/** The refusal of a request: `pods "x" is forbidden: User ... cannot ...[: reason]`. */
export function forbidden(attrs: RequestAttributes, reason: string): ForbiddenError {
  const msg = forbiddenMessage(attrs);
  return new ForbiddenError(qualifiedResource(attrs), attrs.name ?? '', reason ? `${msg}: ${reason}` : msg);
}

/** Authorizes or throws the ForbiddenError for the refusal. */
export function authorizeOrThrow(authorizer: Authorizer, attrs: RequestAttributes): void {
  const d = authorizer.authorize(attrs);
  if (!d.allowed) throw forbidden(attrs, d.reason);
}
