// Namespaces with a meaning of their own (Kubernetes' v1.Namespace* constants).

/** Where each kubelet keeps its heartbeat Lease, named after its node (v1.NamespaceNodeLease). */
export const NAMESPACE_NODE_LEASE = 'kube-node-lease';
