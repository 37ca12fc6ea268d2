// Shared informers, as client-go's SharedInformerFactory: the components of
// one process (the controllers of `tsk controller-manager`, or everything in
// `tsk server`) ask for the informer of a kind and all get the same one, so
// each kind is listed and watched once per process however many controllers
// read it.

import type { ApiObject, KindName, KindObjects } from '../api/kinds';
import type { Clock } from './clock';
import type { Clientset } from './clientset';
import { newInformer, type EventHandlers, type Informer, type Selectors } from './informer';
import type { Indexers } from './store';

export interface InformerFactoryOptions {
  /** Periodic resync of every informer; 0 or unset: none. */
  readonly resyncPeriodMs?: number;
  /** Narrows every informer to one namespace; selectors per informer go to informerFor(). */
  readonly namespace?: string;
  readonly clock?: Clock;
  readonly onError?: (err: unknown, context: string) => void;
  /** Applied by every informer to each object before caching it (client-go's WithTransform), e.g. trimForCache. */
  readonly transform?: <T extends ApiObject>(obj: T) => T;
}

type AnyInformer = Informer<KindObjects[KindName]>;

/** The handlers one user of a shared factory added, removable together (SharedInformerFactory.scope). */
export interface InformerScope {
  /** Use in place of the factory: the same informers, handlers remembered. */
  readonly informers: SharedInformerFactory;
  /** Removes every handler added through `informers`. Idempotent. */
  release(): void;
}

export class SharedInformerFactory {
  private readonly informers = new Map<string, AnyInformer>();
  private started = false;

  constructor(
    private readonly clientset: Clientset,
    private readonly options: InformerFactoryOptions = {},
  ) {}

  /**
   * The shared informer of `kind`, created on first use; `indexers` are added
   * to it (those it already has are kept). Informers asked for after start()
   * are started at once.
   */
  informerFor<K extends KindName>(kind: K, indexers: Indexers<KindObjects[K]> = {}, selectors: Selectors = {}): Informer<KindObjects[K]> {
    const key = `${kind}?${selectors.namespace ?? this.options.namespace ?? ''}&${selectors.labelSelector ?? ''}&${selectors.fieldSelector ?? ''}`;
    let informer = this.informers.get(key) as Informer<KindObjects[K]> | undefined;
    if (!informer) {
      informer = newInformer(this.clientset.kind(kind), {
        selectors: { namespace: this.options.namespace, ...selectors },
        ...(this.options.resyncPeriodMs !== undefined ? { resyncPeriodMs: this.options.resyncPeriodMs } : {}),
        ...(this.options.clock ? { clock: this.options.clock } : {}),
        ...(this.options.onError ? { onError: this.options.onError } : {}),
        ...(this.options.transform ? { transform: this.options.transform } : {}),
      });
      this.informers.set(key, informer as unknown as AnyInformer);
      if (this.started) informer.start();
    }
    informer.addIndexers(indexers);
    return informer;
  }

  /**
   * A view of this factory that remembers the event handlers added through
   * the informers it hands out, so that release() removes them all: what one
   * leadership term of a component registered (its controllers are rebuilt
   * on the next term, client-go's RemoveEventHandler for each). The
   * informers, their caches and their watches stay shared.
   */
  scope(): InformerScope {
    const added: { informer: AnyInformer; handlers: EventHandlers<KindObjects[KindName]> }[] = [];
    // A Proxy rather than a wrapper class: callers get the very Informer and
    // factory types, with only addEventHandler and informerFor intercepted.
    const wrapInformer = <T extends ApiObject>(informer: Informer<T>): Informer<T> =>
      new Proxy(informer, {
        get(target, prop) {
          if (prop === 'addEventHandler') {
            return (handlers: EventHandlers<T>) => {
              target.addEventHandler(handlers);
              added.push({ informer: target as unknown as AnyInformer, handlers: handlers as unknown as EventHandlers<KindObjects[KindName]> });
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    const informers = new Proxy(this, {
      get(target, prop) {
        if (prop === 'informerFor') {
          return <K extends KindName>(kind: K, indexers?: Indexers<KindObjects[K]>, selectors?: Selectors) =>
            wrapInformer(target.informerFor(kind, indexers, selectors));
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return {
      informers,
      release() {
        for (const { informer, handlers } of added.splice(0)) informer.removeEventHandler(handlers);
      },
    };
  }

  /** Starts every informer created so far, and any created later. */
  start(): void {
    this.started = true;
    for (const informer of this.informers.values()) if (informer.state === 'new') informer.start();
  }

  /** Resolves once every informer created so far has its first list cached. */
  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
