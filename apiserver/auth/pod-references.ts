// The Secrets and ConfigMaps a pod refers to, as Kubernetes'
// podutil.VisitPodSecretNames and VisitPodConfigmapNames: imagePullSecrets,
// env valueFrom and envFrom of every container (init containers too), and
// secret, configMap and projected volumes. The node authorizer lets a node
// read exactly these for the pods bound to it.

import type { Container, Pod } from '../../api/gen/tsk/v1/core';

/** The two resources a node may read only through its pods. */
export type ReferencedResource = 'secrets' | 'configmaps';

export interface PodReferences {
  readonly secrets: ReadonlySet<string>;
  readonly configmaps: ReadonlySet<string>;
}

function addName(set: Set<string>, name: string | undefined): void {
  if (name) set.add(name);
}

function visitContainer(c: Container, secrets: Set<string>, configmaps: Set<string>): void {
  for (const from of c.envFrom ?? []) {
    addName(secrets, from.secretRef?.name);
    addName(configmaps, from.configMapRef?.name);
  }
  for (const env of c.env ?? []) {
    addName(secrets, env.valueFrom?.secretKeyRef?.name);
    addName(configmaps, env.valueFrom?.configMapKeyRef?.name);
  }
}

/** Every Secret and ConfigMap name `pod` refers to (in its own namespace). */
export function podReferences(pod: Pod): PodReferences {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const spec = pod.spec;
  for (const ref of spec?.imagePullSecrets ?? []) addName(secrets, ref.name);
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) visitContainer(c, secrets, configmaps);
  for (const v of spec?.volumes ?? []) {
    addName(secrets, v.secret?.secretName);
    addName(configmaps, v.configMap?.name);
    for (const source of v.projected?.sources ?? []) {
      addName(secrets, source.secret?.name);
      addName(configmaps, source.configMap?.name);
    }
  }
  return { secrets, configmaps };
}

/** Whether `pod` refers to the Secret or ConfigMap `name`. */
export function podReferencesObject(pod: Pod, resource: ReferencedResource, name: string): boolean {
  return podReferences(pod)[resource].has(name);
}
