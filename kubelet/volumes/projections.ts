// The file sets of the volumes that show API data (Kubernetes' volume
// plugins configmap, secret, downwardapi and projected, their MakePayload
// and CollectData): keys or items mapped to paths with their modes. Pure:
// the ConfigMaps and Secrets are fetched by the caller. Errors are
// Kubernetes' messages and never carry a value.

import type { ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume } from '../../api/gen/tsk/v1/core';
import { limitDefaults, resourceFieldValue, volumeFieldValue, type NodeAllocatable } from '../downward-api';
import { errorMessage } from '../../util/errors';
import type { Payload } from './atomic-writer';

/** Kubernetes' default file mode of configMap, secret, downwardAPI and projected volumes. */
export const DEFAULT_MODE = 0o644;

export class ProjectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionError';
  }
}

/** The ConfigMaps and Secrets of the pod's namespace a volume reads; undefined for one the API does not have. */
export interface VolumeObjects {
  configMaps: ReadonlyMap<string, ConfigMap | undefined>;
  secrets: ReadonlyMap<string, Secret | undefined>;
}

/** Keys of one object as files: every key at its own name, or only `items` at their paths. */
function keysPayload(
  data: ReadonlyMap<string, Buffer>,
  items: readonly KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
  what: 'configmap' | 'secret',
  out: Payload,
): void {
  if (!items || items.length === 0) {
    for (const [k, v] of data) out.set(k, { data: v, mode: defaultMode });
    return;
  }
  for (const item of items) {
    const v = data.get(item.key ?? '');
    if (v === undefined) {
      if (optional) continue;
      throw new ProjectionError(`${what} references non-existent ${what === 'configmap' ? 'config' : 'secret'} key: ${item.key ?? ''}`);
    }
    out.set(item.path ?? '', { data: v, mode: item.mode ?? defaultMode });
  }
}

function configMapData(cm: ConfigMap): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) m.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) m.set(k, Buffer.from(v));
  return m;
}

function secretData(s: Secret): Map<string, Buffer> {
  return new Map(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
}

function configMapFiles(objects: VolumeObjects, name: string, items: readonly KeyToPath[] | undefined, mode: number, optional: boolean, out: Payload): void {
  const cm = objects.configMaps.get(name);
  if (!cm) {
    if (!optional) throw new ProjectionError(`configmap "${name}" not found`);
    return;
  }
  keysPayload(configMapData(cm), items, mode, optional, 'configmap', out);
}

function secretFiles(objects: VolumeObjects, name: string, items: readonly KeyToPath[] | undefined, mode: number, optional: boolean, out: Payload): void {
  const s = objects.secrets.get(name);
  if (!s) {
    if (!optional) throw new ProjectionError(`secret "${name}" not found`);
    return;
  }
  keysPayload(secretData(s), items, mode, optional, 'secret', out);
}

function downwardFiles(pod: Pod, items: readonly DownwardAPIVolumeFile[], mode: number, node: NodeAllocatable, out: Payload): void {
  for (const item of items) {
    let value: string;
    try {
      if (item.fieldRef) {
        value = volumeFieldValue(pod, item.fieldRef.fieldPath ?? '');
      } else if (item.resourceFieldRef) {
        const want = item.resourceFieldRef.containerName ?? '';
        const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === want);
        if (!c) throw new ProjectionError(`container "${want}" not found`);
        value = resourceFieldValue(c, item.resourceFieldRef, limitDefaults(pod, node));
      } else {
        continue;
      }
    } catch (err) {
      throw new ProjectionError(`unable to collect data for ${item.path ?? ''}: ${errorMessage(err)}`);
    }
    out.set(item.path ?? '', { data: Buffer.from(value, 'utf8'), mode: item.mode ?? mode });
  }
}

/** True for the volume types whose files come from the API (and are rewritten on updates). */
export function isProjectedVolume(v: Volume): boolean {
  return !!(v.configMap || v.secret || v.downwardAPI || v.projected);
}

/** The names of the ConfigMaps and Secrets a volume reads. */
export function volumeObjectNames(v: Volume): { configMaps: string[]; secrets: string[] } {
  const configMaps: string[] = [];
  const secrets: string[] = [];
  if (v.configMap?.name) configMaps.push(v.configMap.name);
  if (v.secret?.secretName) secrets.push(v.secret.secretName);
  for (const s of v.projected?.sources ?? []) {
    if (s.configMap?.name) configMaps.push(s.configMap.name);
    if (s.secret?.name) secrets.push(s.secret.name);
  }
  return { configMaps, secrets };
}

/**
 * The files of a configMap, secret, downwardAPI or projected volume. A
 * missing object makes an empty set when optional, else throws
 * ProjectionError (the pod waits, as Kubernetes' FailedMount).
 */
export function volumePayload(pod: Pod, v: Volume, objects: VolumeObjects, node: NodeAllocatable): Payload {
  const out: Payload = new Map();
  if (v.configMap) {
    const c = v.configMap;
    configMapFiles(objects, c.name ?? '', c.items, c.defaultMode ?? DEFAULT_MODE, c.optional === true, out);
  } else if (v.secret) {
    const s = v.secret;
    secretFiles(objects, s.secretName ?? '', s.items, s.defaultMode ?? DEFAULT_MODE, s.optional === true, out);
  } else if (v.downwardAPI) {
    downwardFiles(pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode ?? DEFAULT_MODE, node, out);
  } else if (v.projected) {
    const mode = v.projected.defaultMode ?? DEFAULT_MODE;
    for (const src of v.projected.sources ?? []) {
      if (src.configMap) configMapFiles(objects, src.configMap.name ?? '', src.configMap.items, mode, src.configMap.optional === true, out);
      else if (src.secret) secretFiles(objects, src.secret.name ?? '', src.secret.items, mode, src.secret.optional === true, out);
      else if (src.downwardAPI) downwardFiles(pod, src.downwardAPI.items ?? [], mode, node, out);
    }
  }
  return out;
}
