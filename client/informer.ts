// An informer (client-go's Reflector + Indexer + processor in one): list the
// objects of a kind, watch from the list's revision, keep an indexed local
// cache, and call handlers for every change.
//
// Contract:
// - Ordered and complete: events are applied to the cache and handlers are
//   called one at a time in revision order; nothing is skipped. After a lost
//   connection the watch resumes, with exponential back-off, from the last
//   revision known to be complete (see ResumePoint: one etcd transaction
//   writes several objects at one revision, so the last revision seen may
//   have been cut in the middle), and the replayed events already applied
//   are dropped. After an Expired error it re-lists
//   and delivers the difference: adds, updates for changed objects, and
//   deletes (with the last known state) for objects that vanished.
// - Handlers are synchronous and must not block: they should only enqueue
//   keys. A handler that throws is reported and does not stop the informer.
// - Resync: every resyncPeriodMs each cached object is re-delivered as an
//   update (old === new), so level-triggered controllers retry lost work.

import { ExpiredError } from '../api/errors';
import type { ApiObject, ListOf } from '../api/kinds';
import { Backoff } from '../util/backoff';
import { errorMessage } from '../util/errors';
import { realClock, type Clock, type TimerHandle } from './clock';
import type { ResourceClient } from './resource';
import { NAMESPACE_INDEX, Store, namespaceIndexFunc, objectKey, type Indexers, type Lister } from './store';
import type { Watch } from './watch';

/** How an informer reads the server; injected so tests can fake it. */
export interface ListerWatcher<T> {
  /** The complete current list; metadata.resourceVersion is its revision. */
  list(): Promise<ListOf<T>>;
  /** Every change after `resourceVersion`, in order. */
  watch(resourceVersion: string): Watch<T>;
}

export interface Selectors {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** The ListerWatcher of a typed client, optionally narrowed by namespace and selectors. */
export function listerWatcher<T extends ApiObject>(client: Pick<ResourceClient<T>, 'listAll' | 'watch'>, selectors: Selectors = {}): ListerWatcher<T> {
  return {
    list: () => client.listAll({ ...selectors }),
    watch: (resourceVersion) => client.watch({ ...selectors, resourceVersion, allowBookmarks: true }),
  };
}

export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** Called with the object's last known state. */
  onDelete?(obj: T): void;
}

export interface BackoffOptions {
  /** First wait after a failure; default 200 ms. */
  readonly initialMs?: number;
  /** Longest wait; default 10 s. */
  readonly maxMs?: number;
}

export interface InformerOptions<T> {
  readonly listerWatcher: ListerWatcher<T>;
  /** Named indexes besides "namespace", which every informer has. */
  readonly indexers?: Indexers<T>;
  /** 0 or unset: no periodic resync. */
  readonly resyncPeriodMs?: number;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  /** Used to jitter back-off; default Math.random. */
  readonly random?: () => number;
  /** Where failures are reported (list/watch errors, throwing handlers); default console.error. */
  readonly onError?: (err: unknown, context: string) => void;
  /** Names the informer in reports, e.g. "pods". */
  readonly name?: string;
  /**
   * Applied to every listed or watched object before it is cached or handed
   * to handlers (client-go's SetTransform), e.g. trimForCache: may change
   * and return the object it is given, which the informer owns.
   */
  readonly transform?: (obj: T) => T;
}

export type InformerState = 'new' | 'listing' | 'watching' | 'backoff' | 'stopped';

export class Informer<T extends ApiObject> {
  private readonly cache: Store<T>;
  /** Replaced, never spliced, on removal: a removal from inside a handler must not skip the next one. */
  private handlers: EventHandlers<T>[] = [];
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly report: (err: unknown, context: string) => void;
  private currentState: InformerState = 'new';
  private synced = false;
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private resourceVersion = '';
  private readonly resume = new ResumePoint();
  private currentWatch: Watch<T> | undefined;
  private sleepTimer: { handle: TimerHandle; wake: () => void } | undefined;
  private resyncTimer: TimerHandle | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: InformerOptions<T>) {
    this.cache = new Store<T>({ [NAMESPACE_INDEX]: namespaceIndexFunc, ...options.indexers });
    this.clock = options.clock ?? realClock;
    // Initial, doubling, capped, +0-100% jitter; reset after a successful list
    // or watch. The jitter is client-go's reflector's (1.0): when a connection
    // carrying thousands of watches is lost (a process of many hollow nodes),
    // they all fail in the same instant, and a 10% spread sent them back in
    // one storm of lists and watches that overloaded the server again.
    this.backoff = new Backoff({
      initialMs: options.backoff?.initialMs ?? 200,
      maxMs: options.backoff?.maxMs ?? 10_000,
      jitter: 1,
      random: options.random ?? Math.random,
    });
    const name = options.name ?? 'informer';
    this.report = options.onError ?? ((err, context) => console.error(`${name}: ${context}: ${errorMessage(err)}`));
  }

  /** The local cache (read only). */
  get store(): Lister<T> {
    return this.cache;
  }

  /** Adds indexes to the cache (see Store.addIndexers); indexes it has already are skipped. */
  addIndexers(indexers: Indexers<T>): void {
    const fresh = Object.fromEntries(Object.entries(indexers).filter(([name]) => !this.cache.hasIndex(name)));
    this.cache.addIndexers(fresh);
  }

  get state(): InformerState {
    return this.currentState;
  }

  /** The revision of the last list, event or bookmark applied. */
  get lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; rejects if the informer stops first. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.currentState === 'stopped') return Promise.reject(new Error('informer stopped before it synced'));
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  /**
   * Registers handlers. Registered after the first sync, they are first
   * called with onAdd for every cached object, as client-go does.
   */
  addEventHandler(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
    if (this.synced) for (const obj of this.cache.list()) this.call(handlers, 'add', () => handlers.onAdd?.(obj));
  }

  /** Unregisters handlers added with addEventHandler (the same object); unknown handlers are ignored. */
  removeEventHandler(handlers: EventHandlers<T>): void {
    this.handlers = this.handlers.filter((h) => h !== handlers);
  }

  /** Starts listing and watching in the background. Calling it twice is an invariant error. */
  start(): void {
    if (this.currentState !== 'new') throw new Error(`invariant: informer ${this.options.name ?? ''} started twice`);
    this.currentState = 'listing';
    this.scheduleResync();
    this.loop = this.run();
  }

  /** Stops watching and timers; resolves when the background loop has ended. Idempotent. */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return this.loop;
    this.currentState = 'stopped';
    this.currentWatch?.cancel();
    if (this.sleepTimer) {
      this.clock.clearTimeout(this.sleepTimer.handle);
      this.sleepTimer.wake();
    }
    if (this.resyncTimer) this.clock.clearTimeout(this.resyncTimer);
    for (const w of this.syncWaiters.splice(0)) w.reject(new Error('informer stopped before it synced'));
    await this.loop;
  }

  private get stopped(): boolean {
    return this.currentState === 'stopped';
  }

  private async run(): Promise<void> {
    let expiredInARow = 0;
    while (!this.stopped) {
      this.currentState = 'listing';
      let list: ListOf<T>;
      try {
        list = await this.options.listerWatcher.list();
      } catch (err) {
        if (this.stopped) return;
        this.report(err, 'list failed');
        await this.sleep(this.backoff.next());
        continue;
      }
      if (this.stopped) return;
      this.replace(list.items ?? [], list.metadata?.resourceVersion ?? '');
      this.backoff.reset();
      const expired = await this.watchLoop();
      if (!expired) return;
      // Compacted: re-list at once the first time, then back off so a server
      // that keeps answering Expired is not hammered.
      expiredInARow++;
      if (expiredInARow > 1) await this.sleep(this.backoff.next());
    }
  }

  /** Watches until stopped (returns false) or until the revision expires (returns true). */
  private async watchLoop(): Promise<boolean> {
    while (!this.stopped) {
      this.currentState = 'watching';
      let watch: Watch<T>;
      try {
        watch = this.options.listerWatcher.watch(this.resume.from(this.resourceVersion));
      } catch (err) {
        this.report(err, 'watch failed to start');
        await this.sleep(this.backoff.next());
        continue;
      }
      this.currentWatch = watch;
      try {
        for await (const ev of watch) {
          if (this.stopped) break;
          this.backoff.reset();
          this.apply(ev.type, ev.object);
        }
      } catch (err) {
        if (this.stopped) return false;
        if (err instanceof ExpiredError) return true;
        this.report(err, `watch from revision ${this.resourceVersion} failed`);
      } finally {
        this.currentWatch = undefined;
      }
      if (this.stopped) return false;
      // The stream ended or broke: resume from the last revision seen.
      await this.sleep(this.backoff.next());
    }
    return false;
  }

  private apply(type: string, decoded: T): void {
    const rv = decoded.metadata?.resourceVersion ?? '';
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      this.resume.complete(rv);
      return;
    }
    const key = this.cache.keyOf(decoded);
    if (!this.resume.first(rv, key)) return; // a replay after a resume: applied before
    const obj = this.transformed(decoded);
    if (type === 'DELETED') {
      const old = this.cache.delete(key);
      this.emit('delete', (h) => h.onDelete?.(obj.metadata ? obj : (old ?? obj)));
    } else {
      const old = this.cache.upsert(obj);
      if (old) this.emit('update', (h) => h.onUpdate?.(old, obj));
      else this.emit('add', (h) => h.onAdd?.(obj));
    }
    if (rv) this.resourceVersion = rv;
  }

  /** Replaces the cache with a fresh list, delivering the difference in order. */
  private replace(items: readonly T[], resourceVersion: string): void {
    const seen = new Set<string>();
    for (const listed of items) {
      const obj = this.transformed(listed);
      const key = this.cache.keyOf(obj);
      seen.add(key);
      const old = this.cache.upsert(obj);
      if (!old) this.emit('add', (h) => h.onAdd?.(obj));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', (h) => h.onUpdate?.(old, obj));
    }
    for (const key of this.cache.listKeys()) {
      if (seen.has(key)) continue;
      const old = this.cache.delete(key);
      if (old) this.emit('delete', (h) => h.onDelete?.(old));
    }
    this.resourceVersion = resourceVersion;
    this.resume.complete(resourceVersion);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
  }

  private transformed(obj: T): T {
    return this.options.transform ? this.options.transform(obj) : obj;
  }

  private emit(what: string, fn: (h: EventHandlers<T>) => void): void {
    for (const h of this.handlers) this.call(h, what, () => fn(h));
  }

  private call(_h: EventHandlers<T>, what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err, `${what} handler threw`);
    }
  }

  private scheduleResync(): void {
    const period = this.options.resyncPeriodMs ?? 0;
    if (period <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      if (this.stopped) return;
      if (this.synced) for (const obj of this.cache.list()) this.emit('resync', (h) => h.onUpdate?.(obj, obj));
      this.scheduleResync();
    }, period);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const prev = this.currentState;
    this.currentState = 'backoff';
    return new Promise((resolve) => {
      const wake = (): void => {
        this.sleepTimer = undefined;
        if (this.currentState === 'backoff') this.currentState = prev;
        resolve();
      };
      this.sleepTimer = { handle: this.clock.setTimeout(wake, ms), wake };
    });
  }
}

/**
 * Where a watch resumes after its stream broke, and which replayed events to
 * drop. Several objects can share a revision (one etcd transaction wrote
 * them all), and a stream cut after some of them leaves that revision
 * incomplete: resuming from it (the server sends revisions above it) would
 * lose the others. Events come in revision order, so once one of revision
 * R arrived every revision below R is complete: the watch resumes from
 * R - 1 and drops the events of R it applied already (at most one per key:
 * a transaction writes a key once). A list or a bookmark at R says R is
 * complete.
 */
export class ResumePoint {
  /** The revision of the last event applied, while it may be incomplete; 0 when none. */
  private open = 0;
  /** The keys of the events of `open` applied. */
  private keys = new Set<string>();

  /** The revision to watch from, given the last revision applied. */
  from(lastApplied: string): string {
    return this.open > 0 ? String(this.open - 1) : lastApplied;
  }

  /** Every event up to `rv` was applied (a list, a bookmark). */
  complete(rv: string): void {
    const r = Number(rv);
    if (rv === '' || !Number.isSafeInteger(r) || r >= this.open) {
      this.open = 0;
      this.keys.clear();
    }
  }

  /**
   * Records the event of `key` at `rv`; false when it is a replay of one
   * applied before (the same key at the open revision, or an older revision).
   */
  first(rv: string, key: string): boolean {
    const r = Number(rv);
    if (rv === '' || !Number.isSafeInteger(r)) return true;
    if (r < this.open) return false;
    if (r === this.open) {
      if (this.keys.has(key)) return false;
    } else {
      this.open = r;
      this.keys = new Set();
    }
    this.keys.add(key);
    return true;
  }
}

/** An informer over a typed client: the usual way to build one. */
export function newInformer<T extends ApiObject>(
  client: ResourceClient<T>,
  options: Omit<InformerOptions<T>, 'listerWatcher' | 'name'> & { selectors?: Selectors; name?: string } = {},
): Informer<T> {
  return new Informer<T>({ ...options, name: options.name ?? client.info.plural, listerWatcher: listerWatcher(client, options.selectors) });
}

export { objectKey };
