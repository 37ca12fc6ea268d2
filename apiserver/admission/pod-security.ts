// Pod Security admission (Kubernetes' PodSecurity plugin): the namespace's
// labels pod-security.kubernetes.io/enforce and /warn (with their -version
// labels) pick a level of the Pod Security Standards; a pod created in the
// namespace that violates the enforce level is refused, one that violates
// the warn level is admitted with a warning. Replication controllers are
// only warned about (their pods are checked when the controller creates
// them), as Kubernetes does for workload resources. The cluster-wide
// default applies to namespaces without labels (--pod-security-default-enforce).

import { ForbiddenError } from '../../api/errors';
import type { Pod, PodSpec, ReplicationController } from '../../api/gen/tsk/v1/core';
import type { ObjectMeta } from '../../api/gen/tsk/v1/meta';
import type { AdmissionPlugin, AdmissionRequest } from './admission';
import { evaluatePod, type Level, type Violation } from './pod-security-checks';

export type { Level } from './pod-security-checks';

export const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];
export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const WARN_LABEL = 'pod-security.kubernetes.io/warn';

export interface LevelVersion {
  readonly level: Level;
  /** "latest" or "v1.N"; tsk always evaluates the latest checks, the version only names the policy. */
  readonly version: string;
}

export interface NamespacePolicy {
  readonly enforce: LevelVersion;
  readonly warn: LevelVersion;
}

export function isLevel(v: string): v is Level {
  return (LEVELS as readonly string[]).includes(v);
}

function parseVersion(v: string | undefined): string {
  return v !== undefined && /^v1\.(0|[1-9]\d*)$/.test(v) ? v : 'latest';
}

/**
 * The policy of a namespace. A label that is not a level fails closed to
 * restricted, as Kubernetes; a missing enforce label takes the cluster
 * default; a missing warn label warns of nothing (privileged), as
 * Kubernetes' default configuration.
 */
export function policyFromLabels(labels: Record<string, string> | undefined, defaultEnforce: Level): NamespacePolicy {
  const l = labels ?? {};
  const level = (key: string, fallback: Level): Level => {
    const v = l[key];
    if (v === undefined) return fallback;
    return isLevel(v) ? v : 'restricted';
  };
  return {
    enforce: { level: level(ENFORCE_LABEL, defaultEnforce), version: parseVersion(l[`${ENFORCE_LABEL}-version`]) },
    warn: { level: level(WARN_LABEL, 'privileged'), version: parseVersion(l[`${WARN_LABEL}-version`]) },
  };
}

/** Kubernetes' ForbiddenDetail: `reason (detail), reason (detail)`. */
export function violationText(violations: readonly Violation[]): string {
  return violations.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ');
}

function policyName(p: LevelVersion): string {
  return `${p.level}:${p.version}`;
}

/** The pod template's metadata and spec of what is being created: a pod, or a replication controller's template. */
function podOf(req: AdmissionRequest): { meta: ObjectMeta; spec: PodSpec } | undefined {
  if (req.kind === 'Pod') {
    const pod = req.object as Pod | undefined;
    return { meta: pod?.metadata ?? {}, spec: pod?.spec ?? {} };
  }
  if (req.kind === 'ReplicationController') {
    const template = (req.object as ReplicationController | undefined)?.spec?.template;
    return template ? { meta: template.metadata ?? {}, spec: template.spec ?? {} } : undefined;
  }
  return undefined;
}

/**
 * The plugin, given the namespace's labels. The caller looks them up (from
 * etcd: a label set a moment ago must already count) before the create.
 */
export function podSecurityAdmission(namespaceLabels: Record<string, string> | undefined, defaultEnforce: Level): AdmissionPlugin {
  const policy = policyFromLabels(namespaceLabels, defaultEnforce);
  return {
    admit(req: AdmissionRequest): readonly string[] {
      // Pod updates can change nothing these checks look at; Kubernetes also skips them.
      if (req.operation === 'DELETE' || req.subresource !== '') return [];
      if (req.kind === 'Pod' && req.operation !== 'CREATE') return [];
      const pod = podOf(req);
      if (!pod) return [];
      const warnings: string[] = [];
      const enforced = evaluatePod(policy.enforce.level, pod.meta, pod.spec);
      if (enforced.length > 0) {
        const text = `violates PodSecurity "${policyName(policy.enforce)}": ${violationText(enforced)}`;
        if (req.kind === 'Pod') throw new ForbiddenError('pods', req.name, text, 'Pod');
        warnings.push(`would violate PodSecurity "${policyName(policy.enforce)}": ${violationText(enforced)}`);
      }
      const warned = evaluatePod(policy.warn.level, pod.meta, pod.spec);
      if (warned.length > 0 && policy.warn.level !== policy.enforce.level) {
        warnings.push(`would violate PodSecurity "${policyName(policy.warn)}": ${violationText(warned)}`);
      }
      return warnings;
    },
  };
}
