// How Kubernetes merges each list of the core/v1 kinds tsk serves, from the
// struct tags of k8s.io/api core/v1, coordination/v1 and apimachinery meta/v1
// types.go: `patchStrategy`/`patchMergeKey` (strategic merge patch, kubectl
// apply) and `+listType`/`+listMapKey` (server-side apply, OpenAPI's
// x-kubernetes-list-type). A list absent here is atomic: replaced whole.
// Keyed by proto message and JSON field name.

export interface ListType {
  /** Server-side apply's view: `map` items are owned one by one (keyed by `keys`), `set` values one by one. */
  readonly type: 'map' | 'set';
  /** +listMapKey, in order (Service ports: port, protocol). */
  readonly keys?: readonly string[];
  /** Strategic merge patch's patchStrategy ("merge", "merge,retainKeys"); absent: the patch replaces the list. */
  readonly patchStrategy?: 'merge' | 'merge,retainKeys';
  /** Strategic merge patch's patchMergeKey (the first of the map keys in Kubernetes). */
  readonly mergeKey?: string;
}

const mapList = (keys: string[], patchStrategy?: ListType['patchStrategy']): ListType => ({
  type: 'map',
  keys,
  ...(patchStrategy ? { patchStrategy, mergeKey: keys[0]! } : {}),
});
const byName = mapList(['name'], 'merge');
const byType = mapList(['type'], 'merge');

export const LIST_TYPES: Readonly<Record<string, ListType>> = {
  'tsk.v1.ObjectMeta.ownerReferences': mapList(['uid'], 'merge'),
  'tsk.v1.ObjectMeta.finalizers': { type: 'set', patchStrategy: 'merge' },
  'tsk.v1.Container.ports': mapList(['containerPort', 'protocol'], 'merge'),
  'tsk.v1.Container.env': byName,
  'tsk.v1.Container.volumeMounts': mapList(['mountPath'], 'merge'),
  'tsk.v1.ContainerRestartRuleOnExitCodes.values': { type: 'set' },
  'tsk.v1.PodSpec.volumes': mapList(['name'], 'merge,retainKeys'),
  'tsk.v1.PodSpec.initContainers': byName,
  'tsk.v1.PodSpec.containers': byName,
  'tsk.v1.PodSpec.imagePullSecrets': byName,
  'tsk.v1.PodSpec.hostAliases': mapList(['ip'], 'merge'),
  'tsk.v1.PodSpec.topologySpreadConstraints': mapList(['topologyKey', 'whenUnsatisfiable'], 'merge'),
  'tsk.v1.PodSpec.schedulingGates': byName,
  'tsk.v1.PodStatus.conditions': byType,
  'tsk.v1.PodStatus.podIPs': mapList(['ip'], 'merge'),
  'tsk.v1.ReplicationControllerStatus.conditions': byType,
  'tsk.v1.ServiceSpec.ports': mapList(['port', 'protocol'], 'merge'),
  'tsk.v1.NodeSpec.podCIDRs': { type: 'set', patchStrategy: 'merge' },
  'tsk.v1.NodeStatus.conditions': byType,
  'tsk.v1.NodeStatus.addresses': byType,
  'tsk.v1.NamespaceStatus.conditions': byType,
};

/** The list type of field `json` of message `owner`, or undefined for an atomic list. */
export function listTypeOf(owner: string, json: string): ListType | undefined {
  return LIST_TYPES[`${owner}.${json}`];
}
