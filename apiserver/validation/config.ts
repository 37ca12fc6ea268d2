// Validation of ConfigMaps and Secrets, as Kubernetes' ValidateConfigMap and
// ValidateSecret: keys that are safe file names (they become files of
// configMap and secret volumes), at most 1 MiB of data, the per-type keys of
// a Secret, and the immutable flag's rules on update. Secrets arrive here with
// stringData already merged into data (apiserver/defaults.ts).

import { DOCKER_CONFIG_JSON_KEY, SECRET_TYPE_DOCKER_CONFIG_JSON } from '../../api/secret-types';
import type { Cause } from '../../api/errors';
import { configKeyErrors } from '../../api/config-keys';
import type { ConfigMap, Secret } from '../../api/gen/tsk/v1/core';
import { duplicateWithDetail, forbidden, invalid, invalidEach, Path, required, tooLong } from './field';
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './meta';

/** Kubernetes' MaxSecretSize, which also bounds a ConfigMap. */
export const MAX_CONFIG_DATA_BYTES = 1024 * 1024;

export { configKeyErrors };

function validateKeys(keys: Iterable<string>, path: Path): Cause[] {
  const errs: Cause[] = [];
  for (const k of keys) errs.push(...invalidEach(path.key(k), k, configKeyErrors(k)));
  return errs;
}

function byteLength(values: Iterable<string | Uint8Array>): number {
  let n = 0;
  for (const v of values) n += typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
  return n;
}

function validateConfigMapData(cm: ConfigMap): Cause[] {
  const data = cm.data ?? {};
  const binary = cm.binaryData ?? {};
  const errs = [...validateKeys(Object.keys(data), Path.root('data')), ...validateKeys(Object.keys(binary), Path.root('binaryData'))];
  for (const k of Object.keys(binary)) {
    if (Object.prototype.hasOwnProperty.call(data, k)) errs.push(duplicateWithDetail(Path.root('binaryData').key(k), k, 'duplicate of key present in data'));
  }
  const size = byteLength([...Object.keys(data), ...Object.values(data), ...Object.keys(binary), ...Object.values(binary)]);
  if (size > MAX_CONFIG_DATA_BYTES) errs.push(tooLong(Path.root('data'), MAX_CONFIG_DATA_BYTES));
  return errs;
}

export function validateConfigMap(cm: ConfigMap): Cause[] {
  return [...validateObjectMeta(cm.metadata, true, nameIsDNSSubdomain, Path.root('metadata')), ...validateConfigMapData(cm)];
}

/** An immutable object's content never changes, and immutable cannot be unset. */
function immutableRules(isImmutable: boolean, stillImmutable: boolean, sameData: boolean): Cause[] {
  if (!isImmutable) return [];
  const errs: Cause[] = [];
  if (!stillImmutable) errs.push(forbidden(Path.root('immutable'), 'field is immutable when `immutable` is set'));
  if (!sameData) errs.push(forbidden(Path.root('data'), 'field is immutable when `immutable` is set'));
  return errs;
}

function sameEntries(a: Record<string, string | Uint8Array> | undefined, b: Record<string, string | Uint8Array> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => {
    const x = a?.[k];
    const y = b?.[k];
    if (x === undefined || y === undefined) return false;
    return Buffer.from(typeof x === 'string' ? Buffer.from(x) : x).equals(Buffer.from(typeof y === 'string' ? Buffer.from(y) : y));
  });
}

export function validateConfigMapUpdate(cm: ConfigMap, old: ConfigMap): Cause[] {
  const same = sameEntries(cm.data, old.data) && sameEntries(cm.binaryData, old.binaryData);
  return [
    ...validateObjectMetaUpdate(cm.metadata, old.metadata, Path.root('metadata')),
    ...validateConfigMapData(cm),
    ...immutableRules(old.immutable === true, cm.immutable === true, same),
  ];
}

function validateDockerConfigJson(data: Record<string, Uint8Array>): Cause[] {
  const path = Path.root('data').key(DOCKER_CONFIG_JSON_KEY);
  const raw = data[DOCKER_CONFIG_JSON_KEY];
  if (raw === undefined) return [required(path)];
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [invalid(path, '<secret contents redacted>', 'must be a JSON object')];
  } catch (err) {
    return [invalid(path, '<secret contents redacted>', err instanceof Error ? err.message : String(err))];
  }
  return [];
}

function validateSecretData(s: Secret): Cause[] {
  const data = s.data ?? {};
  const errs = validateKeys(Object.keys(data), Path.root('data'));
  if (byteLength([...Object.keys(data), ...Object.values(data)]) > MAX_CONFIG_DATA_BYTES) errs.push(tooLong(Path.root('data'), MAX_CONFIG_DATA_BYTES));
  if (s.type === SECRET_TYPE_DOCKER_CONFIG_JSON) errs.push(...validateDockerConfigJson(data));
  errs.push(...requiredTypeKeys(s.type ?? '', data));
  if (!s.type) errs.push(required(Path.root('type')));
  return errs;
}

/** The keys Kubernetes' ValidateSecret requires of the well-known types (kubernetes.io/tls: tls.crt and tls.key, ...). */
const REQUIRED_KEYS: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
};

function requiredTypeKeys(type: string, data: Record<string, Uint8Array>): Cause[] {
  const errs = (REQUIRED_KEYS[type] ?? []).filter((k) => data[k] === undefined).map((k) => required(Path.root('data').key(k)));
  // basic-auth: a username, a password, or both.
  if (type === 'kubernetes.io/basic-auth' && data['username'] === undefined && data['password'] === undefined) {
    errs.push(required(Path.root('data').key('username'), 'either username or password is required'));
  }
  return errs;
}

export function validateSecret(s: Secret): Cause[] {
  return [...validateObjectMeta(s.metadata, true, nameIsDNSSubdomain, Path.root('metadata')), ...validateSecretData(s)];
}

export function validateSecretUpdate(s: Secret, old: Secret): Cause[] {
  const errs = [...validateObjectMetaUpdate(s.metadata, old.metadata, Path.root('metadata')), ...validateSecretData(s)];
  if ((s.type ?? '') !== (old.type ?? '')) errs.push(invalid(Path.root('type'), s.type ?? '', 'field is immutable'));
  errs.push(...immutableRules(old.immutable === true, s.immutable === true, sameEntries(s.data, old.data)));
  return errs;
}
