// In-memory fakes of the list/watch side of the API for unit tests of
// informers and of the components built on them (controllers, scheduler).
// They keep a revision counter like etcd's, so tests can compact, break and
// resume watches exactly as the real server would.

import { ExpiredError, UnavailableError } from '../api/errors';
import type { ApiObject, ListOf } from '../api/kinds';
import type { ListerWatcher } from './informer';
import { objectKey } from './store';
import type { Watch, WatchEvent, WatchEventType } from './watch';

/** A watch driven by hand: push events, then end or fail it. */
export class FakeWatch<T> implements Watch<T> {
  private readonly buffer: WatchEvent<T>[] = [];
  private waiter: ((r: IteratorResult<WatchEvent<T>>) => void) | undefined;
  private failWaiter: ((e: unknown) => void) | undefined;
  private done = false;
  private error: unknown;
  cancelled = false;

  constructor(readonly fromResourceVersion: string) {}

  get isOpen(): boolean {
    return !this.done;
  }

  push(type: WatchEventType, object: T): void {
    if (this.done) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ done: false, value: { type, object } });
    } else this.buffer.push({ type, object });
  }

  /** Ends the stream cleanly (as a server closing it). */
  end(): void {
    this.finish(undefined);
  }

  /** Breaks the stream with err (after buffered events). */
  fail(err: unknown): void {
    this.finish(err);
  }

  cancel(): void {
    this.cancelled = true;
    this.buffer.length = 0;
    this.finish(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    return {
      next: () => {
        const ev = this.buffer.shift();
        if (ev) return Promise.resolve({ done: false, value: ev });
        if (this.done) return this.error === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(this.error);
        return new Promise((resolve, reject) => {
          this.waiter = resolve;
          this.failWaiter = reject;
        });
      },
      return: async () => {
        this.cancel();
        return { done: true, value: undefined };
      },
    };
  }

  private finish(err: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    if (this.buffer.length > 0) return;
    const resolve = this.waiter;
    const reject = this.failWaiter;
    this.waiter = undefined;
    this.failWaiter = undefined;
    if (err === undefined) resolve?.({ done: true, value: undefined });
    else reject?.(err);
  }
}

/**
 * A fake API for one kind: a revision counter, the objects, and the history
 * of changes so a watch from any revision replays what followed it. compact()
 * makes older revisions Expired; down() makes lists and new watches fail.
 */
export class FakeApi<T extends ApiObject> implements ListerWatcher<T> {
  private revision = 1;
  private compacted = 0;
  private readonly objects = new Map<string, T>();
  private readonly history: { rev: number; type: WatchEventType; object: T }[] = [];
  readonly watches: FakeWatch<T>[] = [];
  private unavailable = false;
  /** Inside transaction(): every change shares one revision, as the writes of one etcd transaction. */
  private inTransaction = false;
  /** Events open watches still get before they break (breakWatchesAfter); undefined: no break planned. */
  private eventsBeforeBreak: number | undefined;
  listCalls = 0;

  get currentRevision(): number {
    return this.revision;
  }

  list(): Promise<ListOf<T>> {
    this.listCalls++;
    if (this.unavailable) return Promise.reject(new UnavailableError('cannot reach the API server (fake)'));
    return Promise.resolve({ metadata: { resourceVersion: String(this.revision) }, items: [...this.objects.values()] });
  }

  watch(resourceVersion: string): Watch<T> {
    const w = new FakeWatch<T>(resourceVersion);
    this.watches.push(w);
    const from = Number(resourceVersion || this.revision);
    if (this.unavailable) {
      w.fail(new UnavailableError('cannot reach the API server (fake)'));
      return w;
    }
    if (from < this.compacted) {
      w.fail(new ExpiredError(`resourceVersion ${from} is compacted (oldest is ${this.compacted})`));
      return w;
    }
    for (const h of this.history) if (h.rev > from) w.push(h.type, h.object);
    return w;
  }

  /** The newest watch (the one an informer is reading). */
  get lastWatch(): FakeWatch<T> | undefined {
    return this.watches[this.watches.length - 1];
  }

  upsert(obj: T): T {
    const key = objectKey(obj);
    const type: WatchEventType = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    return this.record(type, obj, key);
  }

  remove(key: string): T | undefined {
    const old = this.objects.get(key);
    if (!old) return undefined;
    return this.record('DELETED', old, key);
  }

  /** Sends a bookmark at the current revision to open watches. */
  bookmark(): void {
    for (const w of this.watches) w.push('BOOKMARK', { metadata: { resourceVersion: String(this.revision) } } as T);
  }

  /** Forgets history up to the current revision; open watches fail with Expired. */
  compact(): void {
    this.compacted = this.revision;
    this.history.length = 0;
    for (const w of this.watches) w.fail(new ExpiredError('watch revision compacted'));
  }

  /** Simulates an API server outage: open watches break, calls fail until up(). */
  down(): void {
    this.unavailable = true;
    for (const w of this.watches) w.fail(new UnavailableError('connection lost (fake)'));
  }

  up(): void {
    this.unavailable = false;
  }

  /**
   * Makes the changes of `fn` at one revision, as one etcd transaction
   * writing several objects (each key at most once).
   */
  transaction(fn: () => void): void {
    this.revision++;
    this.inTransaction = true;
    try {
      fn();
    } finally {
      this.inTransaction = false;
    }
  }

  /** Open watches get `n` more events, then break (a connection lost in the middle of a revision). */
  breakWatchesAfter(n: number): void {
    this.eventsBeforeBreak = n;
  }

  /** Changes stored objects without telling watches (what happens during a lost connection plus compaction). */
  silently(fn: () => void): void {
    const watches = this.watches.splice(0);
    fn();
    this.watches.push(...watches);
  }

  private record(type: WatchEventType, obj: T, key: string): T {
    if (!this.inTransaction) this.revision++;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.revision) } } as T;
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, stored);
    this.history.push({ rev: this.revision, type, object: stored });
    for (const w of this.watches) w.push(type, stored);
    if (this.eventsBeforeBreak !== undefined && --this.eventsBeforeBreak <= 0) {
      this.eventsBeforeBreak = undefined;
      for (const w of this.watches) w.fail(new UnavailableError('connection lost (fake)'));
    }
    return stored;
  }
}
