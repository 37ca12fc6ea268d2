// The watch recorder: one watch of a kind across every namespace, kept open
// through the faults as an informer keeps its own (re-watch from the last
// resourceVersion when the stream ends or fails, re-list when that version
// was compacted). It checks each event as it comes: resourceVersions rise
// strictly (an event repeated or out of order is a violation), and keeps its
// own view of the objects, which after convergence must equal a fresh list:
// an event missed leaves the view wrong. One etcd transaction may write
// several objects at one revision (BindBatch): their events share it, each
// key once, and a watch broken after the first of them resumes from the
// revision before (WatchView.resumeFrom), as the informer does.

import { setTimeout as sleep } from 'node:timers/promises';
import { ExpiredError } from '../api/errors';
import type { ApiObject } from '../api/kinds';
import type { ResourceClient, Watch, WatchEvent } from '../client';
import { errorMessage } from '../util/errors';
import { violation, type Violation } from './violation';

/** "namespace/name". */
export function objectKeyOf(o: ApiObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function rvOf(o: ApiObject): bigint | undefined {
  const rv = o.metadata?.resourceVersion;
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/** The view a watch builds: key -> resourceVersion, and the violations its event stream showed. Pure: events in, checks out. */
export class WatchView {
  readonly objects = new Map<string, string>();
  readonly violations: Violation[] = [];
  /** The highest resourceVersion seen (events, bookmarks and lists). */
  lastRv = 0n;
  events = 0;
  /** The revision of the last event while it may be incomplete (a bookmark or a list completes it); 0n when none. */
  private open = 0n;
  /** The keys of the events seen at `open`. */
  private openKeys = new Set<string>();
  /** Events of `open` seen before the watch was resumed: the new watch sends them again. */
  private replays = new Set<string>();

  constructor(readonly kind: string) {}

  /** Replaces the view by a list at revision `rv`. */
  relist(items: readonly ApiObject[], rv: string): void {
    this.objects.clear();
    for (const o of items) this.objects.set(objectKeyOf(o), o.metadata?.resourceVersion ?? '');
    const r = BigInt(/^\d+$/.test(rv) ? rv : '0');
    if (r > this.lastRv) this.lastRv = r;
    this.complete();
  }

  /**
   * The revision a new watch starts from: the one before the last event's,
   * which may have been cut in the middle; its events seen are then
   * expected again, once each, and are not violations.
   */
  resumeFrom(): string {
    if (this.open === 0n) return String(this.lastRv);
    this.replays = new Set(this.openKeys);
    return String(this.open - 1n);
  }

  private complete(): void {
    this.open = 0n;
    this.openKeys.clear();
    this.replays.clear();
  }

  apply(ev: WatchEvent<ApiObject>): void {
    const rv = rvOf(ev.object);
    if (rv === undefined) {
      this.violations.push(violation('watch', `${this.kind} ${ev.type} event without a resourceVersion`));
      return;
    }
    if (ev.type === 'BOOKMARK') {
      if (rv > this.lastRv) this.lastRv = rv;
      if (rv >= this.open) this.complete();
      return;
    }
    const key = objectKeyOf(ev.object);
    if (rv === this.open && this.replays.delete(key)) return; // sent again after a resume, as expected
    this.events++;
    // Another key at the open revision is the same transaction's; anything else not above the last revision is repeated or out of order.
    if (rv < this.lastRv || (rv === this.lastRv && (rv !== this.open || this.openKeys.has(key))))
      this.violations.push(
        violation('watch', `${this.kind} ${key}: ${ev.type} event at resourceVersion ${rv} after ${this.lastRv} (repeated or out of order)`),
      );
    else {
      if (rv > this.lastRv) {
        this.lastRv = rv;
        this.open = rv;
        this.openKeys = new Set();
        this.replays.clear();
      }
      this.openKeys.add(key);
    }
    if (ev.type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, String(rv));
  }
}

/** How the view differs from a list: objects missing, extra, or at another version. */
export function compareWithList(kind: string, view: ReadonlyMap<string, string>, list: readonly ApiObject[]): Violation[] {
  const want = new Map(list.map((o) => [objectKeyOf(o), o.metadata?.resourceVersion ?? '']));
  const out: Violation[] = [];
  for (const [key, rv] of want) {
    const got = view.get(key);
    if (got === undefined) out.push(violation('watch', `${kind} ${key} (resourceVersion ${rv}) is listed but the watch never delivered it`));
    else if (got !== rv) out.push(violation('watch', `${kind} ${key}: the watch ended at resourceVersion ${got}, the list has ${rv}`));
  }
  for (const key of view.keys())
    if (!want.has(key)) out.push(violation('watch', `${kind} ${key}: the watch shows it, the list does not (its DELETED event was missed)`));
  return out;
}

/** A WatchView kept current by a real watch until stop(). */
export class WatchRecorder {
  readonly view: WatchView;
  relists = 0;
  rewatches = 0;
  private stopped = false;
  private current: Watch<ApiObject> | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: ResourceClient<ApiObject>,
    private readonly log: (line: string) => void,
  ) {
    this.view = new WatchView(client.info.kind);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.cancel();
    await this.loop;
  }

  /**
   * Compares the view with a fresh list once the watch has caught up with
   * it; a list newer than the watch (it moved on meanwhile) is tried again.
   */
  async compareWithFreshList(catchUpMs = 10_000): Promise<Violation[]> {
    let last: Violation[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const list = await this.client.listAll();
      const items = list.items ?? [];
      const newest = items.reduce((m, o) => {
        const rv = rvOf(o) ?? 0n;
        return rv > m ? rv : m;
      }, 0n);
      const deadline = Date.now() + catchUpMs;
      while (this.view.lastRv < newest && Date.now() < deadline) await sleep(200);
      last = compareWithList(this.client.info.kind, this.view.objects, items);
      if (last.length === 0) return [];
      await sleep(1000);
    }
    return last;
  }

  private async run(): Promise<void> {
    let listed = false;
    while (!this.stopped) {
      try {
        if (!listed) {
          const list = await this.client.listAll();
          this.view.relist(list.items ?? [], list.metadata?.resourceVersion ?? '0');
          listed = true;
          this.relists++;
        }
        this.current = this.client.watch({ resourceVersion: this.view.resumeFrom(), allowBookmarks: true });
        for await (const ev of this.current) this.view.apply(ev);
        if (!this.stopped) this.rewatches++;
      } catch (err) {
        if (this.stopped) break;
        // An expired version: re-list, as an informer does; anything else: watch again from where it was.
        if (err instanceof ExpiredError) listed = false;
        else this.rewatches++;
        this.log(`watch ${this.client.info.kind}: ${errorMessage(err)}`);
        await sleep(500);
      }
    }
  }
}
