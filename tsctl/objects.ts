// Turning a manifest document into a typed object: apiVersion and kind
// checked, every field type-checked by the codec (with its path), unknown
// fields collected for a warning (or an error with --validate=strict).

import { DecodeError, encodeJson, decodeJson, type JsonObject } from '../api/codec';
import { KINDS, KIND_NAMES, isKindName, type ApiObject, type KindName } from '../api/kinds';
import { CliError } from './errors';
import { docLocation, type ManifestDoc } from './manifest';

export type ValidateMode = 'strict' | 'warn' | 'ignore';

export interface ManifestObject {
  readonly doc: ManifestDoc;
  readonly kind: KindName;
  /** The decoded object (generated type of its kind). */
  readonly object: ApiObject;
  /** The canonical Kubernetes JSON form of what the file says (nulls dropped, types normalized). */
  readonly json: JsonObject;
  readonly unknownFields: readonly string[];
}

export function parseValidateMode(value: string | undefined): ValidateMode {
  switch (value ?? 'warn') {
    case 'strict':
    case 'true':
      return 'strict';
    case 'warn':
      return 'warn';
    case 'ignore':
    case 'false':
      return 'ignore';
    default:
      throw new CliError(`invalid --validate value "${value}": must be strict, warn or ignore`);
  }
}

/** Decodes one document. Throws CliError naming file, document and field. */
export function decodeManifest(doc: ManifestDoc, mode: ValidateMode): ManifestObject {
  const where = docLocation(doc);
  const value = doc.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`error validating ${where}: a manifest must be a mapping with apiVersion, kind and metadata`);
  }
  const raw = value as Record<string, unknown>;
  const kindName = raw['kind'];
  const apiVersion = raw['apiVersion'];
  if (typeof kindName !== 'string' || kindName === '') throw new CliError(`error validating ${where}: kind not set`);
  if (typeof apiVersion !== 'string' || apiVersion === '') throw new CliError(`error validating ${where}: apiVersion not set`);
  if (!isKindName(kindName)) {
    throw new CliError(`unable to recognize ${where}: no matches for kind "${kindName}" in version "${apiVersion}"; known kinds: ${KIND_NAMES.join(', ')}`);
  }
  const info = KINDS[kindName];
  if (apiVersion !== info.apiVersion) {
    throw new CliError(
      `unable to recognize ${where}: no matches for kind "${kindName}" in version "${apiVersion}" (tsk serves ${kindName} in "${info.apiVersion}")`,
    );
  }
  let decoded: ApiObject;
  let unknownFields: readonly string[];
  try {
    const r = decodeJson<ApiObject>(info.typeName, value);
    decoded = r.value;
    unknownFields = r.unknownFields;
  } catch (err) {
    if (err instanceof DecodeError) throw new CliError(`error validating ${where}: ${kindName}: ${err.message}`);
    throw err;
  }
  if (!decoded.metadata?.name) throw new CliError(`error validating ${where}: ${kindName}: metadata.name: Required value`);
  if (unknownFields.length > 0 && mode === 'strict') {
    throw new CliError(`error validating ${where}: ${kindName} "${decoded.metadata.name}": ${unknownFields.map((f) => `unknown field "${f}"`).join(', ')}`);
  }
  return { doc, kind: kindName, object: decoded, json: encodeJson(info.typeName, decoded), unknownFields: mode === 'ignore' ? [] : unknownFields };
}

/** kubectl's warning line for unknown fields. */
export function unknownFieldWarnings(obj: ManifestObject): string[] {
  return obj.unknownFields.map(
    (f) => `Warning: unknown field "${f}" in ${obj.kind} "${obj.object.metadata?.name ?? ''}" (${docLocation(obj.doc)}); it is ignored`,
  );
}
