// The API server's authorizer: Kubernetes' `--authorization-mode=Node,RBAC`
// with RBAC's default roles as a fixed policy (policy.ts).

import { unionAuthorizer, type Authorizer } from './authorizer';
import { nodeAuthorizer } from './node-authorizer';
import { DEFAULT_BINDINGS, policyAuthorizer } from './policy';

export function defaultAuthorizer(): Authorizer {
  return unionAuthorizer([nodeAuthorizer, policyAuthorizer(DEFAULT_BINDINGS)]);
}
