// Admission (Kubernetes' admission.Interface): checks that need the object,
// and for updates and deletes the stored object, after authorization allowed
// the verb. A plugin refuses by throwing an ApiError (ForbiddenError); it may
// return warnings. Plugins run where the registry knows the stored object,
// inside its compare-and-swap loop, so they decide on the object actually
// replaced: they are synchronous and read nothing.

import type { ApiObject, KindName } from '../../api/kinds';
import type { UserInfo } from '../auth/user';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  readonly user: UserInfo;
  readonly operation: Operation;
  readonly kind: KindName;
  /** "status" for UpdateStatus, "" for the object itself. */
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  /** The new object (CREATE, UPDATE). */
  readonly object?: ApiObject;
  /** The stored object (UPDATE, DELETE). */
  readonly oldObject?: ApiObject;
}

export interface AdmissionPlugin {
  /** Throws to refuse; returns warnings for the caller (possibly none). */
  admit(req: AdmissionRequest): readonly string[];
}

/** Runs plugins in order; the first refusal stops the request. */
export function admissionChain(plugins: readonly AdmissionPlugin[]): AdmissionPlugin {
  return {
    admit(req: AdmissionRequest): readonly string[] {
      return plugins.flatMap((p) => p.admit(req));
    },
  };
}
