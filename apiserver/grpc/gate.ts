// The checks every API request passes before its handler acts: who the
// caller is (authentication: anonymous callers are refused with
// Unauthenticated), whether they may do this (authorization: PermissionDenied
// with Kubernetes' message), and the admission hooks the registry runs on
// the objects (NodeRestriction, Pod Security). Handlers never skip the gate;
// the only methods open to anonymous callers are those of ANONYMOUS_SERVICES.

import { UnauthorizedError } from '../../api/errors';
import type { Namespace } from '../../api/gen/tsk/v1/core';
import type { ApiObject, KindName } from '../../api/kinds';
import { admissionChain, type AdmissionPlugin, type AdmissionRequest, type Operation } from '../admission/admission';
import { podSecurityAdmission, type Level } from '../admission/pod-security';
import { authorizeOrThrow, type Authorizer, type Decision, type RequestAttributes } from '../auth/authorizer';
import type { Authenticator, CallCredentials, UserInfo } from '../auth/user';
import type { WriteAdmission } from '../registry/store';

/**
 * The one hook for services any caller may use without a credential: a new
 * node has none until it joined (the bootstrap service checks its join token
 * itself). A service listed here must authenticate its callers its own way.
 */
export const ANONYMOUS_SERVICES: ReadonlySet<string> = new Set(['tsk.v1.Bootstrap']);

/** Whether a method path (`/tsk.v1.Bootstrap/Join`) belongs to an anonymous service. */
export function isAnonymousMethod(path: string): boolean {
  const service = path.split('/')[1] ?? '';
  return ANONYMOUS_SERVICES.has(service);
}

export interface AdmissionConfig {
  /** Plugins that decide from the objects alone (NodeRestriction). */
  readonly plugins: readonly AdmissionPlugin[];
  /** Pod Security's level for namespaces without the enforce label (--pod-security-default-enforce). */
  readonly podSecurityDefaultEnforce: Level;
}

export interface GateDeps {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly admission: AdmissionConfig;
  /** A namespace as stored now (not from a cache: a label set a moment ago must count); undefined when absent. */
  readonly namespace: (name: string) => Promise<Namespace | undefined>;
}

/** What a handler knows of its request once it passed the gate. */
export interface RequestContext {
  readonly user: UserInfo;
  /** Admission warnings for the caller (sent as `warning` trailers, Kubernetes' Warning header). */
  readonly warnings: string[];
}

export class RequestGate {
  private readonly chain: AdmissionPlugin;

  constructor(private readonly deps: GateDeps) {
    this.chain = admissionChain(deps.admission.plugins);
  }

  /** The caller; UnauthorizedError for an anonymous call (or an invalid credential, from the authenticator). */
  authenticate(call: CallCredentials): UserInfo {
    const user = this.deps.authenticator.authenticate(call);
    if (!user) throw new UnauthorizedError();
    return user;
  }

  /** Authenticates and authorizes: the request's context, or an UnauthorizedError / ForbiddenError. */
  admit(call: CallCredentials, attrs: Omit<RequestAttributes, 'user'>): RequestContext {
    const user = this.authenticate(call);
    authorizeOrThrow(this.deps.authorizer, { ...attrs, user });
    return { user, warnings: [] };
  }

  /** Authorizes another action of an authenticated caller (a stream whose target is known later). */
  authorize(user: UserInfo, attrs: Omit<RequestAttributes, 'user'>): void {
    authorizeOrThrow(this.deps.authorizer, { ...attrs, user });
  }

  /** The authorizer's decision, without refusing (a SelfSubjectAccessReview asks what the caller may do). */
  decide(user: UserInfo, attrs: Omit<RequestAttributes, 'user'>): Decision {
    return this.deps.authorizer.authorize({ ...attrs, user });
  }

  /** The registry's admission hooks for one write of `kind` by the context's user. */
  writeAdmission(ctx: RequestContext, kind: KindName, subresource: '' | 'status' | 'resize'): WriteAdmission {
    const request = (operation: Operation, object: ApiObject | undefined, oldObject: ApiObject | undefined): AdmissionRequest => {
      const meta = (object ?? oldObject)?.metadata;
      return { user: ctx.user, operation, kind, subresource, namespace: meta?.namespace ?? '', name: meta?.name ?? '', object, oldObject };
    };
    return {
      create: async (obj) => {
        const req = request('CREATE', obj, undefined);
        ctx.warnings.push(...this.chain.admit(req));
        if (kind === 'Pod' || kind === 'ReplicationController') {
          const ns = await this.deps.namespace(req.namespace);
          ctx.warnings.push(...podSecurityAdmission(ns?.metadata?.labels, this.deps.admission.podSecurityDefaultEnforce).admit(req));
        }
      },
      update: (obj, old) => {
        ctx.warnings.push(...this.chain.admit(request('UPDATE', obj, old)));
      },
      delete: (old) => {
        ctx.warnings.push(...this.chain.admit(request('DELETE', undefined, old)));
      },
    };
  }
}
