// The informer's local cache: objects by key in a Map, plus named indexes
// (by namespace, by spec.nodeName, ...) kept up to date on every write, so a
// lookup is a Map access, never a scan of every object.

import type { ApiObject } from '../api/kinds';

/** Computes the index values of an object (an object may sit under several). */
export type IndexFunc<T> = (obj: T) => readonly string[];
export type Indexers<T> = Readonly<Record<string, IndexFunc<T>>>;

/** "namespace/name", or "name" for cluster-scoped objects: client-go's MetaNamespaceKeyFunc. */
export function objectKey(obj: ApiObject): string {
  const ns = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by objectKey. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The index every informer gets: objects by metadata.namespace. */
export const NAMESPACE_INDEX = 'namespace';
export const namespaceIndexFunc: IndexFunc<ApiObject> = (obj) => [obj.metadata?.namespace ?? ''];

/** Pods by spec.nodeName ("" for unscheduled pods): what kubelets and the scheduler look up. */
export const NODE_NAME_INDEX = 'nodeName';
export const nodeNameIndexFunc: IndexFunc<{ spec?: { nodeName?: string | undefined } | undefined }> = (pod) => [pod.spec?.nodeName ?? ''];

/** Read access to a cache; what handlers and controllers are given. */
export interface Lister<T> {
  get(key: string): T | undefined;
  list(): T[];
  listKeys(): string[];
  /** Objects whose index `indexName` holds `value`; throws for an unknown index name. */
  byIndex(indexName: string, value: string): T[];
  readonly size: number;
}

/**
 * The keys under one index value: the key itself while there is one, a Set
 * from the second on. Unique indexes (the garbage collector's by uid) hold
 * one key per value, and a Set per object was some 0.3 KiB of each cached
 * pod at 50,000 pods (issue 11).
 */
type IndexKeys = string | Set<string>;

function addKey(index: Map<string, IndexKeys>, value: string, key: string): void {
  const keys = index.get(value);
  if (keys === undefined) index.set(value, key);
  else if (typeof keys === 'string') {
    if (keys !== key) index.set(value, new Set([keys, key]));
  } else keys.add(key);
}

function removeKey(index: Map<string, IndexKeys>, value: string, key: string): void {
  const keys = index.get(value);
  if (keys === undefined) return;
  if (typeof keys === 'string') {
    if (keys === key) index.delete(value);
    return;
  }
  keys.delete(key);
  if (keys.size === 0) index.delete(value);
}

export class Store<T extends ApiObject> implements Lister<T> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, Map<string, IndexKeys>>();
  private indexers: Indexers<T>;

  constructor(
    indexers: Indexers<T> = {},
    readonly keyOf: (obj: T) => string = objectKey,
  ) {
    this.indexers = { ...indexers };
    for (const name of Object.keys(indexers)) this.indexes.set(name, new Map());
  }

  /**
   * Adds indexes, built at once over the cached objects: components that
   * share one informer each add the indexes they need. A name already in use
   * is an invariant error, as in client-go.
   */
  addIndexers(indexers: Indexers<T>): void {
    for (const name of Object.keys(indexers)) {
      if (this.indexes.has(name)) throw new Error(`invariant: index "${name}" already exists`);
    }
    this.indexers = { ...this.indexers, ...indexers };
    for (const [name, fn] of Object.entries(indexers)) {
      const index = new Map<string, IndexKeys>();
      this.indexes.set(name, index);
      for (const [key, obj] of this.items) for (const value of fn(obj)) addKey(index, value, key);
    }
  }

  /** Whether an index of that name exists. */
  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`invariant: no index named "${indexName}"`);
    const keys = index.get(value);
    if (keys === undefined) return [];
    if (typeof keys === 'string') {
      const obj = this.items.get(keys);
      return obj ? [obj] : [];
    }
    const out: T[] = [];
    for (const k of keys) {
      const obj = this.items.get(k);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Adds or replaces; returns the object it replaced, if any. */
  upsert(obj: T): T | undefined {
    const key = this.keyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes by key; returns the removed object, if any. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indexes.get(name);
      if (!index) continue;
      for (const value of fn(obj)) addKey(index, value, key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indexes.get(name);
      if (!index) continue;
      for (const value of fn(obj)) removeKey(index, value, key);
    }
  }
}
