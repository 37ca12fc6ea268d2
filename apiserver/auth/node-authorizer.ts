// Kubernetes' Node authorizer together with the system:node role, for
// identities system:node:NAME in group system:nodes: a kubelet (and its
// proxy) may read what they need, register and update only its own Node,
// update the status of pods and delete pods (which pods: the NodeRestriction
// admission checks against the stored pod, bound to this node), record
// events, and open the tunnel under its own name only. No pod creation, no
// exec or logs, no bindings, no other node. Secrets and ConfigMaps a node
// may read only one by one, and only those a pod bound to it refers to
// (Kubernetes' node graph): a get by name, or a list or watch whose
// fieldSelector is metadata.name=NAME in the object's namespace (what the
// kubelet's per-object watch asks for). Leases: only its own heartbeat Lease
// (named after the node, in kube-node-lease), as the system:node role and
// NodeRestriction together allow.

import { NAMESPACE_NODE_LEASE } from '../../api/namespaces';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { NO_OPINION, resourceOf, type Authorizer, type Decision, type RequestAttributes } from './authorizer';
import { podReferencesObject, type ReferencedResource } from './pod-references';
import { nodeNameOf } from './user';

/** Where the node authorizer finds the pods bound to a node (Kubernetes' node graph). */
export interface NodeGraph {
  /** The pods of `namespace` bound to `node`. Synchronous: served from memory (the Pod watch cache). */
  podsOn(node: string, namespace: string): Iterable<Pod>;
}

/** A graph with no pods: nodes may read no Secret or ConfigMap. */
export const EMPTY_NODE_GRAPH: NodeGraph = { podsOn: () => [] };

const READABLE = new Set(['pods', 'services', 'endpoints', 'nodes', 'namespaces']);
const READ_VERBS = new Set(['get', 'list', 'watch']);

const ALLOW: Decision = { allowed: true, reason: '' };

function decideOwnNode(node: string, attrs: RequestAttributes): Decision {
  const target = attrs.name ?? '';
  if (target === node) return ALLOW;
  return { allowed: false, reason: `node "${node}" is not allowed to modify node "${target}"` };
}

/** Kubernetes' NodeAuthorizer.authorizeReadNamespacedObject for Secrets and ConfigMaps. */
function decideReferenced(node: string, resource: ReferencedResource, attrs: RequestAttributes, graph: NodeGraph): Decision {
  if (!READ_VERBS.has(attrs.verb)) return { allowed: false, reason: 'can only read resources of this type' };
  const name = attrs.name ?? '';
  const ns = attrs.namespace ?? '';
  if (name === '' || ns === '') return { allowed: false, reason: 'No Object name found' };
  for (const pod of graph.podsOn(node, ns)) {
    if (podReferencesObject(pod, resource, name)) return ALLOW;
  }
  return { allowed: false, reason: `no relationship found between node '${node}' and this object` };
}

/** Kubernetes' namespace of the nodes' heartbeat Leases. */

const LEASE_VERBS = new Set(['get', 'create', 'update']);

function decideOwnLease(node: string, attrs: RequestAttributes): Decision {
  if (!LEASE_VERBS.has(attrs.verb)) return NO_OPINION;
  if (attrs.namespace === NAMESPACE_NODE_LEASE && attrs.name === node) return ALLOW;
  return { allowed: false, reason: `node "${node}" may only ${attrs.verb} its own Lease "${node}" in namespace "${NAMESPACE_NODE_LEASE}"` };
}

function decide(node: string, attrs: RequestAttributes, graph: NodeGraph): Decision {
  if (attrs.apiGroup === 'coordination.k8s.io') return resourceOf(attrs) === 'leases' ? decideOwnLease(node, attrs) : NO_OPINION;
  const resource = resourceOf(attrs);
  const verb = attrs.verb;
  if (READ_VERBS.has(verb) && READABLE.has(resource)) return ALLOW;
  switch (resource) {
    case 'secrets':
    case 'configmaps':
      return decideReferenced(node, resource, attrs, graph);
    case 'events':
      return verb === 'create' || verb === 'update' ? ALLOW : NO_OPINION;
    case 'nodes':
      return verb === 'create' || verb === 'update' ? decideOwnNode(node, attrs) : NO_OPINION;
    case 'nodes/status':
      return verb === 'update' ? decideOwnNode(node, attrs) : NO_OPINION;
    case 'nodes/tunnel':
      if (verb !== 'create') return NO_OPINION;
      return attrs.name === node ? ALLOW : { allowed: false, reason: `node "${node}" may only open the tunnel of node "${node}"` };
    case 'pods/status':
      // Which pods: NodeRestriction admits only pods whose stored spec.nodeName is this node.
      return verb === 'update' ? ALLOW : NO_OPINION;
    case 'pods':
      // The kubelet finishes a graceful deletion itself (kubelet/pod-sync.ts deletes
      // with grace 0 once the containers are gone), as Kubernetes' kubelet does;
      // NodeRestriction admits the delete only for pods bound to this node.
      return verb === 'delete' ? ALLOW : NO_OPINION;
    default:
      return NO_OPINION;
  }
}

export function nodeAuthorizer(graph: NodeGraph): Authorizer {
  return {
    authorize(attrs: RequestAttributes): Decision {
      const node = nodeNameOf(attrs.user);
      if (node === undefined) return NO_OPINION;
      return decide(node, attrs, graph);
    },
  };
}
