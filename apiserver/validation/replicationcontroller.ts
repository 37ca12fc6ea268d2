// ReplicationController validation (Kubernetes' ValidateReplicationController
// and ValidatePodTemplateSpecForRC): a non-empty selector that matches the
// template's labels, replicas >= 0, and a template whose pods restart Always.

import type { Cause } from '../../api/errors';
import type { ReplicationController, ReplicationControllerStatus } from '../../api/gen/tsk/v1/core';
import { selectorFromSet } from '../../api/labels';
import { invalid, notSupported, Path, required } from './field';
import { nameIsDNSSubdomain, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta';
import { validatePodTemplateSpec } from './pod';
import { NONNEGATIVE_MSG } from './values';

function validateSpec(rc: ReplicationController): Cause[] {
  const path = Path.root('spec');
  const spec = rc.spec ?? {};
  const errs: Cause[] = [];
  const minReady = spec.minReadySeconds ?? 0;
  if (minReady < 0) errs.push(invalid(path.child('minReadySeconds'), minReady, NONNEGATIVE_MSG));
  const selector = selectorFromSet(spec.selector);
  if (selector.empty()) errs.push(required(path.child('selector')));
  errs.push(...validateLabels(spec.selector, path.child('selector')));
  const replicas = spec.replicas ?? 0;
  if (replicas < 0) errs.push(invalid(path.child('replicas'), replicas, NONNEGATIVE_MSG));
  const tPath = path.child('template');
  const template = spec.template;
  if (!template) {
    errs.push(required(tPath));
    return errs;
  }
  const labels = template.metadata?.labels;
  if (!selector.empty() && !selector.matches(labels)) {
    errs.push(invalid(tPath.child('metadata', 'labels'), labels ?? {}, 'selector does not match template labels'));
  }
  errs.push(...validatePodTemplateSpec(template, tPath));
  const restart = template.spec?.restartPolicy ?? '';
  // A policy other than Always is already reported by the pod spec checks when unknown.
  if (restart !== 'Always') errs.push(notSupported(tPath.child('spec', 'restartPolicy'), restart, ['Always']));
  const ads = template.spec?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    errs.push(invalid(tPath.child('spec', 'activeDeadlineSeconds'), ads, 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return errs;
}

function validateStatus(status: ReplicationControllerStatus | undefined): Cause[] {
  if (!status) return [];
  const path = Path.root('status');
  const errs: Cause[] = [];
  const fields = ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const;
  for (const f of fields) {
    const v = status[f] ?? 0;
    if (v < 0) errs.push(invalid(path.child(f), v, NONNEGATIVE_MSG));
  }
  const replicas = status.replicas ?? 0;
  const fully = status.fullyLabeledReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (fully > replicas) errs.push(invalid(path.child('fullyLabeledReplicas'), fully, 'cannot be greater than status.replicas'));
  if (ready > replicas) errs.push(invalid(path.child('readyReplicas'), ready, 'cannot be greater than status.replicas'));
  if (available > replicas) errs.push(invalid(path.child('availableReplicas'), available, 'cannot be greater than status.replicas'));
  if (available > ready) errs.push(invalid(path.child('availableReplicas'), available, 'cannot be greater than readyReplicas'));
  return errs;
}

export function validateReplicationController(rc: ReplicationController): Cause[] {
  return [...validateObjectMeta(rc.metadata, true, nameIsDNSSubdomain, Path.root('metadata')), ...validateSpec(rc), ...validateStatus(rc.status)];
}

/** Every field of an RC's spec may change (scaling, a new template). */
export function validateReplicationControllerUpdate(rc: ReplicationController, old: ReplicationController): Cause[] {
  return [...validateObjectMetaUpdate(rc.metadata, old.metadata, Path.root('metadata')), ...validateSpec(rc), ...validateStatus(rc.status)];
}
