// tsk's fixed authorization policy: Kubernetes' default ClusterRoles and
// their bindings, written as RBAC rules so that RBAC objects can later feed
// the same matcher. Nodes are not here: the node authorizer decides for
// them (it needs the node's own name).

import { NO_OPINION, resourceOf, type Authorizer, type Decision, type RequestAttributes } from './authorizer';
import { GROUP_AUTHENTICATED, GROUP_MASTERS, USER_CONTROLLER_MANAGER, USER_SCHEDULER, type UserInfo } from './user';

/** An RBAC PolicyRule: "*" matches every verb, group or resource. */
export interface PolicyRule {
  readonly verbs: readonly string[];
  /** The API groups of `resources`; absent: the core group "" only. */
  readonly apiGroups?: readonly string[];
  /** "pods", "pods/status", "*" (every resource and subresource). */
  readonly resources?: readonly string[];
  /**
   * The namespaces the rule holds in; absent: every namespace and the
   * cluster scope. What a Role bound by a RoleBinding in those namespaces
   * grants in Kubernetes.
   */
  readonly namespaces?: readonly string[];
  /** Paths for requests that name no resource, such as "/version". */
  readonly nonResourceURLs?: readonly string[];
}

export interface ClusterRole {
  readonly name: string;
  readonly rules: readonly PolicyRule[];
}

/** Who a role is given to (a ClusterRoleBinding's subjects). */
export interface RoleBinding {
  readonly name: string;
  readonly role: ClusterRole;
  readonly users?: readonly string[];
  readonly groups?: readonly string[];
}

const READ = ['get', 'list', 'watch'];

/** Every resource and subresource tsk serves (the controller manager reads them all). */
const ALL = '*';

export const CLUSTER_ADMIN: ClusterRole = {
  name: 'cluster-admin',
  rules: [
    { verbs: [ALL], apiGroups: [ALL], resources: [ALL] },
    { verbs: [ALL], nonResourceURLs: [ALL] },
  ],
};

/** The API group of Lease. */
const COORDINATION = 'coordination.k8s.io';

/**
 * Leader election of a control-plane component: its Lease in kube-system
 * (Kubernetes' system::leader-locking-* Roles and the lease rules of the
 * component's ClusterRole, bound in kube-system).
 */
const LEADER_LOCKING: PolicyRule = {
  verbs: ['get', 'list', 'watch', 'create', 'update'],
  apiGroups: [COORDINATION],
  resources: ['leases'],
  namespaces: ['kube-system'],
};

/** Kubernetes' system:kube-scheduler: reads what scheduling needs, binds, reports unschedulable pods, records events, elects its leader. */
export const KUBE_SCHEDULER: ClusterRole = {
  name: 'system:kube-scheduler',
  rules: [
    { verbs: READ, resources: ['pods', 'nodes', 'namespaces', 'services', 'replicationcontrollers', 'endpoints'] },
    { verbs: ['create'], resources: ['pods/binding'] },
    { verbs: ['update'], resources: ['pods/status'] },
    { verbs: ['create', 'update'], resources: ['events'] },
    LEADER_LOCKING,
  ],
};

/**
 * What tsk's controllers (controllers/) call, as Kubernetes' per-controller
 * roles together: replication (create and adopt pods, RC status), endpoints
 * (create, update, delete endpoints), nodeipam (node podCIDR), nodelifecycle
 * (node status and taints, pod Ready conditions, evictions, the nodes'
 * heartbeat Leases), podgc (delete pods), garbagecollector (update
 * ownerReferences of and delete the kinds it collects, Leases included), servicelb (service status: the load balancer ingress, as
 * Kubernetes' service-controller), events, and its leader election Lease in
 * kube-system. No Secrets (no controller reads one), no bind, exec, logs or
 * tunnels.
 */
export const KUBE_CONTROLLER_MANAGER: ClusterRole = {
  name: 'system:kube-controller-manager',
  rules: [
    { verbs: READ, resources: ['pods', 'replicationcontrollers', 'services', 'endpoints', 'nodes', 'namespaces', 'events', 'configmaps'] },
    { verbs: ['create'], resources: ['pods', 'endpoints', 'events'] },
    { verbs: ['update', 'delete'], resources: ['pods', 'replicationcontrollers', 'services', 'endpoints', 'nodes', 'namespaces', 'events'] },
    { verbs: ['update'], resources: ['pods/status', 'nodes/status', 'replicationcontrollers/status', 'services/status'] },
    // nodelifecycle reads the nodes' heartbeat Leases; the garbage collector removes a deleted Node's.
    { verbs: [...READ, 'update', 'delete'], apiGroups: [COORDINATION], resources: ['leases'] },
    LEADER_LOCKING,
  ],
};

/** Kubernetes' kube-proxy user, for a proxy run with an identity of its own rather than its node's. */
export const USER_KUBE_PROXY = 'system:kube-proxy';

/** Kubernetes' system:node-proxier: what the proxy watches, and its events. */
export const NODE_PROXIER: ClusterRole = {
  name: 'system:node-proxier',
  rules: [
    { verbs: READ, resources: ['services', 'endpoints', 'nodes'] },
    { verbs: ['create', 'update'], resources: ['events'] },
  ],
};

/**
 * Kubernetes' system:discovery and system:basic-user: any authenticated user
 * may read the version and the discovery documents, and ask what it may do
 * (SelfSubjectAccessReview, `kubectl auth can-i`).
 */
export const DISCOVERY: ClusterRole = {
  name: 'system:discovery',
  rules: [
    {
      verbs: ['get'],
      nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'],
    },
    { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] },
  ],
};

/** Kubernetes' group for monitoring systems (its system:monitoring ClusterRoleBinding). */
export const GROUP_MONITORING = 'system:monitoring';

/** Kubernetes' system:monitoring: the API server's metrics and health endpoints. */
export const MONITORING: ClusterRole = {
  name: 'system:monitoring',
  rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics', '/metrics/slis', '/healthz', '/livez', '/readyz'] }],
};

/**
 * What Prometheus' Kubernetes discovery lists and watches (roles node, pod,
 * service, endpoints), and the kubelets' metrics, stats and health (which
 * the kubelet's port grants the group by itself): the ClusterRole Prometheus' own Kubernetes
 * manifests bind, given here to the monitoring group so that one
 * certificate in system:monitoring runs manifests/prometheus/prometheus.yml.
 */
export const PROMETHEUS_DISCOVERY: ClusterRole = {
  name: 'tsk:prometheus-discovery',
  rules: [
    { verbs: READ, resources: ['nodes', 'services', 'endpoints', 'pods'] },
    // As the kubelet's port grants the group (kubelet/server/auth.ts).
    { verbs: ['get'], resources: ['nodes/metrics', 'nodes/stats', 'nodes/healthz'] },
  ],
};

export const DEFAULT_BINDINGS: readonly RoleBinding[] = [
  { name: 'cluster-admin', role: CLUSTER_ADMIN, groups: [GROUP_MASTERS] },
  { name: 'system:kube-scheduler', role: KUBE_SCHEDULER, users: [USER_SCHEDULER] },
  { name: 'system:kube-controller-manager', role: KUBE_CONTROLLER_MANAGER, users: [USER_CONTROLLER_MANAGER] },
  { name: 'system:node-proxier', role: NODE_PROXIER, users: [USER_KUBE_PROXY] },
  { name: 'system:discovery', role: DISCOVERY, groups: [GROUP_AUTHENTICATED] },
  { name: 'system:monitoring', role: MONITORING, groups: [GROUP_MONITORING] },
  { name: 'tsk:prometheus-discovery', role: PROMETHEUS_DISCOVERY, groups: [GROUP_MONITORING] },
];

function matches(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((x) => x === ALL || x === value);
}

/** RBAC's NonResourceURLMatches: exact, `*`, or a prefix ending in `*` ("/apis/*"). */
function nonResourceMatches(list: readonly string[] | undefined, path: string): boolean {
  return (list ?? []).some((x) => x === ALL || x === path || (x.endsWith('*') && path.startsWith(x.slice(0, -1))));
}

/** RBAC's RuleAllows, with a Role's namespaces (`namespaces`) folded in. */
export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!matches(rule.verbs, attrs.verb)) return false;
  if (attrs.resource === undefined) return nonResourceMatches(rule.nonResourceURLs, attrs.path ?? '');
  if (!matches(rule.apiGroups ?? [''], attrs.apiGroup ?? '')) return false;
  if (rule.namespaces !== undefined && !rule.namespaces.includes(attrs.namespace ?? '')) return false;
  return matches(rule.resources, resourceOf(attrs));
}

function bound(b: RoleBinding, user: UserInfo): boolean {
  return (b.users ?? []).includes(user.name) || (b.groups ?? []).some((g) => user.groups.includes(g));
}

/** Allows what one of the bindings' roles allows the user, with RBAC's reason text. */
export function policyAuthorizer(bindings: readonly RoleBinding[]): Authorizer {
  return {
    authorize(attrs: RequestAttributes): Decision {
      for (const b of bindings) {
        if (!bound(b, attrs.user)) continue;
        if (b.role.rules.some((r) => ruleAllows(r, attrs))) {
          return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${b.name}" of ClusterRole "${b.role.name}" to User "${attrs.user.name}"` };
        }
      }
      return NO_OPINION;
    },
  };
}
