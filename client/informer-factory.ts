// Shared informers, as client-go's SharedInformerFactory: the components of
// one process (the controllers of `tsk controller-manager`, or everything in
// `tsk server`) ask for the informer of a kind and all get the same one, so
// each kind is listed and watched once per process however many controllers
// read it.

import type { KindName, KindObjects } from '../api/kinds';
import type { Clock } from './clock';
import type { Clientset } from './clientset';
import { newInformer, type Informer, type Selectors } from './informer';
import type { Indexers } from './store';

export interface InformerFactoryOptions {
  /** Periodic resync of every informer; 0 or unset: none. */
  readonly resyncPeriodMs?: number;
  /** Narrows every informer to one namespace; selectors per informer go to informerFor(). */
  readonly namespace?: string;
  readonly clock?: Clock;
  readonly onError?: (err: unknown, context: string) => void;
}

type AnyInformer = Informer<KindObjects[KindName]>;

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
      });
      this.informers.set(key, informer as unknown as AnyInformer);
      if (this.started) informer.start();
    }
    informer.addIndexers(indexers);
    return informer;
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
