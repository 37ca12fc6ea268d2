// The parts of a container's environment that come from other API objects
// (Kubernetes' kubelet makeEnvironmentVariables): Service variables
// (envvars.FromServices and getServiceEnvVarMap), envFrom of ConfigMaps and
// Secrets, and env valueFrom configMapKeyRef / secretKeyRef. Pure: the
// objects are fetched beforehand (envObjectNames says which) and handed in
// as EnvObjects. Messages are Kubernetes' and never carry a Secret's value.

import { isValidEnvVarName } from '../api/env-names';
import type { ConfigMap, Container, Pod, Secret, Service } from '../api/gen/tsk/v1/core';

/** The objects a container's environment may read; undefined for one the API does not have. */
export interface EnvObjects {
  /** Every Service the kubelet knows (the informer's store). */
  services: readonly Service[];
  configMaps: ReadonlyMap<string, ConfigMap | undefined>;
  secrets: ReadonlyMap<string, Secret | undefined>;
}

/** A missing object or key that the container does not mark optional: CreateContainerConfigError. */
export class EnvSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvSourceError';
  }
}

/** Kubernetes' master service, whose variables every pod gets even with enableServiceLinks false. */
const MASTER_NAMESPACE = 'default';
const MASTER_SERVICES = new Set(['kubernetes']);

// Kubernetes' IsEnvVarName (the API server's copy is in apiserver/validation, which the kubelet may not import).

/** The ConfigMaps and Secrets (by name, in the pod's namespace) the container's env and envFrom read. */
export function envObjectNames(c: Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const f of c.envFrom ?? []) {
    if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
    if (f.secretRef?.name) secrets.add(f.secretRef.name);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  return { configMaps, secrets };
}

const envName = (s: string): string => s.replace(/-/g, '_').toUpperCase();
const hasClusterIP = (s: Service): boolean => !!s.spec?.clusterIP && s.spec.clusterIP !== 'None';

/** Kubernetes' envvars.FromServices: the variables of each Service with a cluster IP, in order. */
export function serviceEnvVars(services: readonly Service[]): [string, string][] {
  const out: [string, string][] = [];
  for (const svc of services) {
    const ip = svc.spec?.clusterIP ?? '';
    const ports = svc.spec?.ports ?? [];
    if (!hasClusterIP(svc) || ports.length === 0) continue;
    const prefix = envName(svc.metadata?.name ?? '');
    out.push([`${prefix}_SERVICE_HOST`, ip]);
    out.push([`${prefix}_SERVICE_PORT`, String(ports[0]?.port ?? 0)]);
    for (const p of ports) if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port ?? 0)]);
    const host = ip.includes(':') ? `[${ip}]` : ip;
    ports.forEach((p, i) => {
      const proto = p.protocol || 'TCP';
      const url = `${proto.toLowerCase()}://${host}:${p.port ?? 0}`;
      // Docker's links special-case the first port.
      if (i === 0) out.push([`${prefix}_PORT`, url]);
      const pp = `${prefix}_PORT_${p.port ?? 0}_${proto.toUpperCase()}`;
      out.push([pp, url], [`${pp}_PROTO`, proto.toLowerCase()], [`${pp}_PORT`, String(p.port ?? 0)], [`${pp}_ADDR`, ip]);
    });
  }
  return out;
}

/**
 * Kubernetes' getServiceEnvVarMap: the Services of the pod's namespace (when
 * enableServiceLinks, its default true) and the master service of `default`
 * (always), as variables. Services are sorted by name so the result does not
 * depend on the informer's order.
 */
export function serviceEnvMap(pod: Pod, services: readonly Service[]): Map<string, string> {
  const ns = pod.metadata?.namespace ?? '';
  const links = pod.spec?.enableServiceLinks ?? true;
  const byName = new Map<string, Service>();
  for (const svc of services) {
    if (!hasClusterIP(svc)) continue;
    const name = svc.metadata?.name ?? '';
    const svcNs = svc.metadata?.namespace ?? '';
    if (svcNs === MASTER_NAMESPACE && MASTER_SERVICES.has(name)) {
      if (!byName.has(name)) byName.set(name, svc);
    } else if (svcNs === ns && links) {
      byName.set(name, svc);
    }
  }
  const sorted = [...byName.keys()].sort().map((n) => byName.get(n) as Service);
  return new Map(serviceEnvVars(sorted));
}

export interface EnvFromResult {
  vars: Map<string, string>;
  /** Kubernetes' InvalidEnvironmentVariableNames warnings, one per source with skipped keys. */
  warnings: string[];
}

/**
 * The variables of the container's envFrom, later sources winning: each key
 * of the ConfigMap or Secret, prefixed; keys that are not valid variable
 * names are skipped with a warning. Throws EnvSourceError for a missing
 * source that is not optional.
 */
export function envFromVars(pod: Pod, c: Container, objects: EnvObjects): EnvFromResult {
  const ns = pod.metadata?.namespace ?? '';
  const vars = new Map<string, string>();
  const warnings: string[] = [];
  for (const f of c.envFrom ?? []) {
    const prefix = f.prefix ?? '';
    let entries: [string, string][];
    let what: string;
    let name: string;
    if (f.configMapRef) {
      name = f.configMapRef.name ?? '';
      what = 'configMap';
      const cm = objects.configMaps.get(name);
      if (!cm) {
        if (f.configMapRef.optional) continue;
        throw new EnvSourceError(`configmap "${name}" not found`);
      }
      entries = Object.entries(cm.data ?? {});
    } else if (f.secretRef) {
      name = f.secretRef.name ?? '';
      what = 'secret';
      const s = objects.secrets.get(name);
      if (!s) {
        if (f.secretRef.optional) continue;
        throw new EnvSourceError(`secret "${name}" not found`);
      }
      entries = Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('utf8')]);
    } else {
      continue;
    }
    const invalid: string[] = [];
    for (const [key, value] of entries) {
      const k = prefix + key;
      if (!isValidEnvVarName(k)) invalid.push(k);
      else vars.set(k, value);
    }
    if (invalid.length > 0) {
      warnings.push(
        `Keys [${invalid.sort().join(', ')}] from the EnvFrom ${what} ${ns}/${name} were skipped since they are considered invalid environment variable names.`,
      );
    }
  }
  return { vars, warnings };
}

/**
 * The value of an env var's configMapKeyRef or secretKeyRef; undefined when
 * the reference is optional and the object or key is missing (the variable
 * stays unset). Throws EnvSourceError otherwise.
 */
export function keyRefValue(pod: Pod, e: NonNullable<Container['env']>[number], objects: EnvObjects): string | undefined {
  const ns = pod.metadata?.namespace ?? '';
  const cmRef = e.valueFrom?.configMapKeyRef;
  if (cmRef) {
    const name = cmRef.name ?? '';
    const key = cmRef.key ?? '';
    const cm = objects.configMaps.get(name);
    if (!cm) {
      if (cmRef.optional) return undefined;
      throw new EnvSourceError(`configmap "${name}" not found`);
    }
    const v = cm.data?.[key];
    if (v === undefined) {
      if (cmRef.optional) return undefined;
      throw new EnvSourceError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
    }
    return v;
  }
  const sRef = e.valueFrom?.secretKeyRef;
  if (!sRef) return undefined;
  const name = sRef.name ?? '';
  const key = sRef.key ?? '';
  const s = objects.secrets.get(name);
  if (!s) {
    if (sRef.optional) return undefined;
    throw new EnvSourceError(`secret "${name}" not found`);
  }
  const v = s.data?.[key];
  if (v === undefined) {
    if (sRef.optional) return undefined;
    throw new EnvSourceError(`couldn't find key ${key} in Secret ${ns}/${name}`);
  }
  return Buffer.from(v).toString('utf8');
}
