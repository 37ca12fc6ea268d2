// The API server's authorizer: Kubernetes' `--authorization-mode=Node,RBAC`
// with RBAC's default roles as a fixed policy (policy.ts).

import { unionAuthorizer, type Authorizer } from './authorizer';
import { EMPTY_NODE_GRAPH, nodeAuthorizer, type NodeGraph } from './node-authorizer';
import { DEFAULT_BINDINGS, policyAuthorizer } from './policy';

/** `graph`: the pods bound to each node, for the Secrets and ConfigMaps a node may read. */
export function defaultAuthorizer(graph: NodeGraph = EMPTY_NODE_GRAPH): Authorizer {
  return unionAuthorizer([nodeAuthorizer(graph), policyAuthorizer(DEFAULT_BINDINGS)]);
}
