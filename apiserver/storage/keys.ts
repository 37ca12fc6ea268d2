// etcd key layout, as Kubernetes': /registry/<plural>/<namespace>/<name> for
// namespaced kinds and /registry/<plural>/<name> for cluster-scoped ones.

import { KINDS, type KindName } from '../../api/kinds';

export const REGISTRY_PREFIX = '/registry/';

/** The prefix holding every object of a kind (ends with "/"). */
export function kindPrefix(kind: KindName): string {
  return `${REGISTRY_PREFIX}${KINDS[kind].plural}/`;
}

/** The prefix for one namespace of a namespaced kind, or the whole kind when ns is empty. */
export function listPrefix(kind: KindName, namespace: string): string {
  return KINDS[kind].namespaced && namespace !== '' ? `${kindPrefix(kind)}${namespace}/` : kindPrefix(kind);
}

export function objectKey(kind: KindName, namespace: string, name: string): string {
  return KINDS[kind].namespaced ? `${kindPrefix(kind)}${namespace}/${name}` : `${kindPrefix(kind)}${name}`;
}

/** The end of a prefix range: the prefix with its last byte incremented (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
