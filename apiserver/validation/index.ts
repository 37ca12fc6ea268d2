// Validation of API objects, per kind, as Kubernetes' pkg/apis/core/validation.
//
// Contract: objects are validated AFTER applyDefaults (apiserver/defaults.ts),
// as in Kubernetes, so fields that defaulting fills (protocol, restartPolicy,
// imagePullPolicy, sessionAffinity, type) are required here. A cause's field
// is Kubernetes' path (spec.containers[1].ports[0].containerPort), its reason
// a CauseType (FieldValueInvalid, ...) and its message the error body
// Kubernetes prints (`Invalid value: 0: must be between 1 and 65535, inclusive`).
// Pure functions: nothing is changed, nothing is read but the arguments.

import type { Cause } from '../../api/errors';
import type { KindName, KindObjects } from '../../api/kinds';
import { validatePod, validatePodUpdate } from './pod';
import { validateReplicationController, validateReplicationControllerUpdate } from './replicationcontroller';
import { validateService, validateServiceUpdate } from './service';
import { validateLease, validateLeaseUpdate } from './lease';
import { validateConfigMap, validateConfigMapUpdate, validateSecret, validateSecretUpdate } from './config';
import {
  validateEndpoints,
  validateEndpointsUpdate,
  validateEvent,
  validateEventUpdate,
  validateNamespace,
  validateNamespaceUpdate,
  validateNode,
  validateNodeUpdate,
} from './others';

export { Path } from './field';
export { validatePodResize } from './pod-resize';

interface Validators<T> {
  create(obj: T): Cause[];
  update(obj: T, old: T): Cause[];
}

const VALIDATORS: { readonly [K in KindName]: Validators<KindObjects[K]> } = {
  Pod: { create: validatePod, update: validatePodUpdate },
  ReplicationController: { create: validateReplicationController, update: validateReplicationControllerUpdate },
  Service: { create: validateService, update: validateServiceUpdate },
  Endpoints: { create: validateEndpoints, update: validateEndpointsUpdate },
  Node: { create: validateNode, update: validateNodeUpdate },
  Namespace: { create: validateNamespace, update: validateNamespaceUpdate },
  Event: { create: validateEvent, update: validateEventUpdate },
  ConfigMap: { create: validateConfigMap, update: validateConfigMapUpdate },
  Secret: { create: validateSecret, update: validateSecretUpdate },
  Lease: { create: validateLease, update: validateLeaseUpdate },
};

/** Problems with a new object of the given kind; [] when it may be created. */
export function validate<K extends KindName>(kind: K, obj: KindObjects[K]): Cause[] {
  return (VALIDATORS[kind] as Validators<KindObjects[K]>).create(obj);
}

/**
 * Problems with replacing `old` by `obj`: the new object's own validity plus
 * the update rules (immutable metadata, the pod spec, a service's cluster IP,
 * a node's pod CIDR). [] when the update may be stored.
 */
export function validateUpdate<K extends KindName>(kind: K, obj: KindObjects[K], old: KindObjects[K]): Cause[] {
  return (VALIDATORS[kind] as Validators<KindObjects[K]>).update(obj, old);
}
