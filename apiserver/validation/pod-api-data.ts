// The pod fields that read ConfigMaps, Secrets and the downward API, as
// Kubernetes validates them: env valueFrom configMapKeyRef / secretKeyRef,
// envFrom, and the configMap, secret, downwardAPI and projected volume
// sources (items, modes, paths that stay inside the volume). Same field
// paths and messages as Kubernetes' validation.go.

import type { Cause } from '../../api/errors';
import type { DownwardAPIVolumeFile, EnvFromSource, KeyToPath, Volume } from '../../api/gen/tsk/v1/core';
import { isDNS1123Subdomain, isQualifiedName } from '../../api/labels';
import { configKeyErrors } from './config';
import { duplicateWithDetail, forbidden, invalid, invalidEach, notSupported, Path, required } from './field';
import { hasBacksteps, isEnvVarName } from './values';

/** Fields a downwardAPI volume file may show (Kubernetes' validVolumeDownwardAPIFieldPathExpressions). */
const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
const VOLUME_RESOURCES = ['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage'];
const MODE_MSG = 'must be a number between 0 and 0777 (octal), both inclusive';

/** A ConfigMap or Secret reference: name (a DNS subdomain) required; key when asked, a valid config key. */
function validateObjectRef(name: string | undefined, key: string | undefined, withKey: boolean, path: Path, nameField = 'name'): Cause[] {
  const errs: Cause[] = [];
  if (!name) errs.push(required(path.child(nameField)));
  else errs.push(...invalidEach(path.child(nameField), name, isDNS1123Subdomain(name)));
  if (withKey) {
    if (!key) errs.push(required(path.child('key')));
    else errs.push(...invalidEach(path.child('key'), key, configKeyErrors(key)));
  }
  return errs;
}

/** The configMapKeyRef / secretKeyRef part of an env var's valueFrom; the caller counts the sources. */
export function validateKeyRefs(
  src: { configMapKeyRef?: { name?: string; key?: string } | undefined; secretKeyRef?: { name?: string; key?: string } | undefined },
  path: Path,
): Cause[] {
  const errs: Cause[] = [];
  if (src.configMapKeyRef) errs.push(...validateObjectRef(src.configMapKeyRef.name, src.configMapKeyRef.key, true, path.child('configMapKeyRef')));
  if (src.secretKeyRef) errs.push(...validateObjectRef(src.secretKeyRef.name, src.secretKeyRef.key, true, path.child('secretKeyRef')));
  return errs;
}

/** Kubernetes' ValidateEnvFrom. */
export function validateEnvFrom(envFrom: readonly EnvFromSource[], path: Path): Cause[] {
  const errs: Cause[] = [];
  envFrom.forEach((f, i) => {
    const p = path.index(i);
    if (f.prefix) errs.push(...invalidEach(p.child('prefix'), f.prefix, isEnvVarName(f.prefix)));
    const sources = (f.configMapRef ? 1 : 0) + (f.secretRef ? 1 : 0);
    if (sources === 0) errs.push(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (sources > 1) errs.push(invalid(p, '', 'may not have more than one field specified at a time'));
    else if (f.configMapRef) errs.push(...validateObjectRef(f.configMapRef.name, undefined, false, p.child('configMapRef')));
    else if (f.secretRef) errs.push(...validateObjectRef(f.secretRef.name, undefined, false, p.child('secretRef')));
  });
  return errs;
}

function validateMode(mode: number | undefined, path: Path): Cause[] {
  return mode !== undefined && (mode < 0 || mode > 0o777) ? [invalid(path, mode, MODE_MSG)] : [];
}

/** Kubernetes' validateLocalNonReservedPath: relative, without '..' elements, not starting with '..'. */
function validateLocalPath(p: string, path: Path): Cause[] {
  if (!p) return [required(path)];
  if (p.startsWith('/')) return [invalid(path, p, 'must be a relative path')];
  if (hasBacksteps(p)) return [invalid(path, p, "must not contain '..'")];
  if (p.startsWith('..')) return [invalid(path, p, "must not start with '..'")];
  return [];
}

function validateItems(items: readonly KeyToPath[], path: Path): Cause[] {
  const errs: Cause[] = [];
  items.forEach((it, i) => {
    const p = path.index(i);
    if (!it.key) errs.push(required(p.child('key')));
    errs.push(...validateLocalPath(it.path ?? '', p.child('path')));
    errs.push(...validateMode(it.mode, p.child('mode')));
  });
  return errs;
}

function validateDownwardFiles(items: readonly DownwardAPIVolumeFile[], path: Path): Cause[] {
  const errs: Cause[] = [];
  items.forEach((it, i) => {
    const p = path.index(i);
    errs.push(...validateLocalPath(it.path ?? '', p.child('path')));
    errs.push(...validateMode(it.mode, p.child('mode')));
    if (it.fieldRef && it.resourceFieldRef) {
      errs.push(invalid(p, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
    } else if (it.fieldRef) {
      const fp = it.fieldRef.fieldPath ?? '';
      const fpPath = p.child('fieldRef', 'fieldPath');
      const one = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fp);
      if (!it.fieldRef.apiVersion) errs.push(required(p.child('fieldRef', 'apiVersion')));
      if (!fp) errs.push(required(fpPath));
      else if (one) errs.push(...invalidEach(fpPath, one[2], isQualifiedName(one[1] === 'labels' ? (one[2] ?? '') : (one[2] ?? '').toLowerCase())));
      else if (!VOLUME_FIELD_PATHS.includes(fp)) errs.push(notSupported(fpPath, fp, VOLUME_FIELD_PATHS));
    } else if (it.resourceFieldRef) {
      const rp = p.child('resourceFieldRef');
      if (!it.resourceFieldRef.containerName) errs.push(required(rp.child('containerName')));
      const resource = it.resourceFieldRef.resource ?? '';
      if (!resource) errs.push(required(rp.child('resource')));
      else if (!VOLUME_RESOURCES.includes(resource)) errs.push(notSupported(rp.child('resource'), resource, VOLUME_RESOURCES));
    } else {
      errs.push(required(p, 'one of fieldRef and resourceFieldRef is required'));
    }
  });
  return errs;
}

/**
 * The configMap, secret, downwardAPI and projected sources of a volume.
 * Returns how many of them are set (the caller checks there is exactly one
 * source in all) and their errors.
 */
export function validateApiDataVolume(v: Volume, path: Path): { sources: number; errs: Cause[] } {
  const errs: Cause[] = [];
  let sources = 0;
  if (v.configMap) {
    sources++;
    const p = path.child('configMap');
    errs.push(...validateObjectRef(v.configMap.name, undefined, false, p));
    errs.push(...validateMode(v.configMap.defaultMode, p.child('defaultMode')));
    errs.push(...validateItems(v.configMap.items ?? [], p.child('items')));
  }
  if (v.secret) {
    sources++;
    const p = path.child('secret');
    errs.push(...validateObjectRef(v.secret.secretName, undefined, false, p, 'secretName'));
    errs.push(...validateMode(v.secret.defaultMode, p.child('defaultMode')));
    errs.push(...validateItems(v.secret.items ?? [], p.child('items')));
  }
  if (v.downwardAPI) {
    sources++;
    const p = path.child('downwardAPI');
    errs.push(...validateMode(v.downwardAPI.defaultMode, p.child('defaultMode')));
    errs.push(...validateDownwardFiles(v.downwardAPI.items ?? [], p.child('items')));
  }
  if (v.projected) {
    sources++;
    errs.push(...validateProjected(v.projected, path.child('projected')));
  }
  return { sources, errs };
}

function validateProjected(pv: NonNullable<Volume['projected']>, path: Path): Cause[] {
  const errs: Cause[] = [];
  errs.push(...validateMode(pv.defaultMode, path.child('defaultMode')));
  const paths = new Set<string>();
  const claim = (p: string, at: Path): void => {
    if (paths.has(p)) errs.push(duplicateWithDetail(at, p, 'conflicting duplicate paths'));
    paths.add(p);
  };
  (pv.sources ?? []).forEach((s, i) => {
    const p = path.child('sources').index(i);
    const kinds = (s.configMap ? 1 : 0) + (s.secret ? 1 : 0) + (s.downwardAPI ? 1 : 0);
    if (kinds !== 1) {
      errs.push(forbidden(p, 'may not specify more than 1 volume type per source'));
      return;
    }
    if (s.configMap) {
      const cp = p.child('configMap');
      errs.push(...validateObjectRef(s.configMap.name, undefined, false, cp));
      errs.push(...validateItems(s.configMap.items ?? [], cp.child('items')));
      (s.configMap.items ?? []).forEach((it, j) => claim(it.path ?? '', cp.child('items').index(j).child('path')));
    } else if (s.secret) {
      const sp = p.child('secret');
      errs.push(...validateObjectRef(s.secret.name, undefined, false, sp));
      errs.push(...validateItems(s.secret.items ?? [], sp.child('items')));
      (s.secret.items ?? []).forEach((it, j) => claim(it.path ?? '', sp.child('items').index(j).child('path')));
    } else if (s.downwardAPI) {
      const dp = p.child('downwardAPI');
      errs.push(...validateDownwardFiles(s.downwardAPI.items ?? [], dp.child('items')));
      (s.downwardAPI.items ?? []).forEach((it, j) => claim(it.path ?? '', dp.child('items').index(j).child('path')));
    }
  });
  return errs;
}
