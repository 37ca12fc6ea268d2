// meta.k8s.io/v1 Table responses (kubectl get asks for them): the columns of
// api/printers/columns.ts, the one implementation tsctl prints with too.
// Columns only -o wide shows have priority 1; each row carries the object as
// PartialObjectMetadata (includeObject=Metadata, kubectl's default), whole,
// or not at all.

import type { JsonObject } from '../../api/codec';
import { BadRequestError } from '../../api/errors';
import type { ApiObject, KindName } from '../../api/kinds';
import { columnsFor } from '../../api/printers/columns';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The includeObject query parameter; Metadata when absent, as Kubernetes. */
export function parseIncludeObject(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw new BadRequestError(`includeObject: "${value}" must be None, Metadata or Object`);
}

/** Whether an Accept header asks for a Table (as=Table;g=meta.k8s.io;v=v1 or v1beta1) before any plain JSON. */
export function wantsTable(accept: string | undefined): boolean {
  for (const part of (accept ?? '').split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (type === 'application/json' && p.get('as') === 'Table' && p.get('g') === 'meta.k8s.io') return true;
    if (type === 'application/json' || type === '*/*') return false;
  }
  return false;
}

export interface TableOptions {
  readonly includeObject: IncludeObject;
  readonly now: number;
  /** Watch events after the first carry no column definitions, as Kubernetes sends them. */
  readonly withColumns: boolean;
  /** The list's metadata (resourceVersion, continue). */
  readonly listMeta?: JsonObject;
  /** The object's Kubernetes JSON, for includeObject=Object. */
  readonly toJson: (obj: ApiObject) => JsonObject;
}

function rowObject(kind: KindName, obj: ApiObject, opts: TableOptions): JsonObject | undefined {
  if (opts.includeObject === 'None') return undefined;
  const full = opts.toJson(obj);
  if (opts.includeObject === 'Object') return full;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: full['metadata'] ?? {} };
}

/** The column definitions of `kind`: names as kubectl prints them, priority 1 for the -o wide ones. */
export function columnDefinitions(kind: KindName): JsonObject[] {
  const narrow = new Set(columnsFor(kind).headers);
  return columnsFor(kind, { wide: true }).headers.map((name) => ({
    name,
    type: 'string',
    format: name === 'NAME' ? 'name' : '',
    description: '',
    priority: narrow.has(name) ? 0 : 1,
  }));
}

/** A Table of `objs`. */
export function toTable(kind: KindName, objs: readonly ApiObject[], opts: TableOptions): JsonObject {
  const columns = columnsFor(kind, { wide: true });
  const rows = objs.map((obj) => {
    const row: JsonObject = { cells: columns.row(obj, opts.now) };
    const object = rowObject(kind, obj, opts);
    if (object !== undefined) row['object'] = object;
    return row;
  });
  const table: JsonObject = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: opts.listMeta ?? {} };
  if (opts.withColumns) table['columnDefinitions'] = columnDefinitions(kind);
  table['rows'] = rows;
  return table;
}
