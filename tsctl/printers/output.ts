// -o yaml|json|name: objects in their Kubernetes JSON form (encodeJson),
// keys sorted as kubectl prints them, several objects as a v1 List.

import { dump } from 'js-yaml';
import { encodeJson, type JsonObject } from '../../api/codec';
import { API_VERSION, KINDS, type ApiObject, type KindName } from '../../api/kinds';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k] as Json);
    return out;
  }
  return v;
}

/** The Kubernetes JSON form of an object, apiVersion and kind filled in. */
export function toKubeJson(kind: KindName, obj: ApiObject): JsonObject {
  const json = encodeJson(KINDS[kind].typeName, obj);
  return { ...json, apiVersion: json['apiVersion'] ?? KINDS[kind].apiVersion, kind: json['kind'] ?? KINDS[kind].kind };
}

/** A v1 List of objects, as kubectl prints several objects. */
export function toKubeList(kind: KindName, objs: readonly ApiObject[]): JsonObject {
  return { apiVersion: API_VERSION, items: objs.map((o) => toKubeJson(kind, o)), kind: 'List', metadata: { resourceVersion: '' } };
}

export function formatJson(value: JsonObject): string {
  return `${JSON.stringify(sortKeys(value), null, 4)}\n`;
}

export function formatYaml(value: JsonObject): string {
  return dump(sortKeys(value), { seqNoIndent: true, lineWidth: -1, noRefs: true, quoteStyle: 'double' });
}

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name';

export function parseOutputFormat(value: string | undefined): OutputFormat | undefined {
  switch (value ?? '') {
    case '':
      return 'table';
    case 'wide':
    case 'yaml':
    case 'json':
    case 'name':
      return value as OutputFormat;
    default:
      return undefined;
  }
}

/** "pod/web" */
export function formatName(kind: KindName, obj: ApiObject): string {
  return `${KINDS[kind].singular}/${obj.metadata?.name ?? ''}\n`;
}
