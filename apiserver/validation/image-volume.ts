// Kubernetes' validateImageVolumeSource (KEP-4639, ImageVolume): an image
// volume names an OCI image by reference and pulls it under a policy, as a
// container's image and imagePullPolicy. Since Kubernetes 1.33 a volumeMount
// of an image volume may use subPath and subPathExpr (the 1.31 alpha refused
// both); the mount is always read-only, whatever volumeMounts[].readOnly says,
// so readOnly: false is accepted, as Kubernetes accepts it.

import type { Cause } from '../../api/errors';
import type { ImageVolumeSource } from '../../api/gen/tsk/v1/core';
import { invalid, notSupported, required, type Path } from './field';

export const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

/** The causes for volumes[i].image (pullPolicy defaulted before, as Kubernetes' SetDefaults_ImageVolumeSource). */
export function validateImageVolumeSource(source: ImageVolumeSource, path: Path): Cause[] {
  const errs: Cause[] = [];
  const ref = source.reference ?? '';
  if (!ref) errs.push(required(path.child('reference')));
  else if (ref !== ref.trim()) errs.push(invalid(path.child('reference'), ref, 'must not have leading or trailing whitespace'));
  const policy = source.pullPolicy ?? '';
  if (!policy) errs.push(required(path.child('pullPolicy')));
  else if (!IMAGE_PULL_POLICIES.includes(policy)) errs.push(notSupported(path.child('pullPolicy'), policy, IMAGE_PULL_POLICIES));
  return errs;
}
