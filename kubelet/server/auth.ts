// Who may call the kubelet's port (10250), as the kubelet's webhook
// authentication and authorization decide it in Kubernetes, with what tsk
// has: a client certificate of the cluster CA names the user (CN) and its
// groups (O); bearer tokens are refused, since the API server offers no
// TokenReview to check them against. A request maps to an attribute set as
// the kubelet's (GET /metrics/cadvisor is "get nodes/metrics"), granted by a
// fixed policy: the cluster admins (system:masters) may do everything, the
// monitoring group (system:monitoring) may read metrics, stats and health.

/** The authenticated caller. */
export interface KubeletUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** Kubernetes' SubjectAccessReview attributes of a kubelet request (resource "nodes"). */
export interface KubeletRequestAttributes {
  readonly verb: string;
  readonly subresource: 'metrics' | 'stats' | 'log' | 'healthz' | 'proxy';
  /** The node's name (the review's `name`). */
  readonly name: string;
}

/** Kubernetes' well-known groups: the cluster's admins, and the group monitoring systems are given. */
export const GROUP_MASTERS = 'system:masters';
export const GROUP_MONITORING = 'system:monitoring';
export const GROUP_AUTHENTICATED = 'system:authenticated';

/** The verb of an HTTP method, as the kubelet maps it. */
export function verbOf(method: string): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

function isSubpath(p: string, prefix: string): boolean {
  return p === prefix || p.startsWith(`${prefix}/`);
}

/** The kubelet's mapping of a path to the nodes subresource it is authorized as (pkg/kubelet/server/auth.go). */
export function subresourceOf(path: string): KubeletRequestAttributes['subresource'] {
  if (isSubpath(path, '/stats')) return 'stats';
  if (isSubpath(path, '/metrics')) return 'metrics';
  if (isSubpath(path, '/logs')) return 'log';
  if (isSubpath(path, '/healthz')) return 'healthz';
  return 'proxy';
}

const MONITORING_READS: ReadonlySet<string> = new Set(['metrics', 'stats', 'healthz']);

/** Whether the fixed policy allows the request. */
export function authorize(user: KubeletUser, attrs: KubeletRequestAttributes): boolean {
  if (user.groups.includes(GROUP_MASTERS)) return true;
  return user.groups.includes(GROUP_MONITORING) && attrs.verb === 'get' && MONITORING_READS.has(attrs.subresource);
}

/** The kubelet's refusal text: "Forbidden (user=NAME, verb=get, resource=nodes, subresource=metrics)". */
export function forbiddenMessage(user: KubeletUser, attrs: KubeletRequestAttributes): string {
  return `Forbidden (user=${user.name}, verb=${attrs.verb}, resource=nodes, subresource=${attrs.subresource})`;
}

/** A certificate subject's CN and O (Node gives a string, or an array for several O). */
export interface CertSubject {
  readonly CN?: string | string[];
  readonly O?: string | string[];
}

/** The user a verified client certificate names; undefined when it names none (no CN). */
export function userOfCertificate(subject: CertSubject | undefined): KubeletUser | undefined {
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  if (cn === undefined || cn === '') return undefined;
  const o = subject?.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
  return { name: cn, groups: [...new Set([...o, GROUP_AUTHENTICATED])] };
}
