// The kubelet's allocation checkpoint (Kubernetes' allocation manager and its
// allocated_pods_state file): per pod, the requests and limits the kubelet
// admitted for each container and for the pod. They differ from the spec
// while a resize waits (PodResizePending) and are what containers are
// started and actuated with. Kept on disk so that a kubelet restarted in
// the middle of a resize neither forgets what it admitted nor re-admits a
// resize it had refused. Written atomically (a temp file renamed).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResourceRequirements } from '../api/gen/tsk/v1/core';
import { errorMessage } from '../util/errors';

/** What the kubelet admitted for one pod. */
export interface PodAllocation {
  /** By container name (regular, init and sidecar containers). */
  containers: Record<string, ResourceRequirements>;
  /** The pod-level resources (spec.resources), when the pod sets them. */
  pod?: ResourceRequirements;
}

/** The file, under the kubelet's data dir, as Kubernetes names it. */
export const ALLOCATION_CHECKPOINT = 'allocated_pods_state';

interface CheckpointFile {
  version: 1;
  pods: Record<string, PodAllocation>;
}

export class AllocationStore {
  private readonly pods = new Map<string, PodAllocation>();
  private readonly file: string;
  private saving = false;

  /** Loads the checkpoint of `dataDir`; a missing file is empty, an unreadable one is logged and dropped (pods are then admitted as they are). */
  constructor(dataDir: string, log: (line: string) => void = () => undefined) {
    this.file = path.join(dataDir, ALLOCATION_CHECKPOINT);
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    try {
      const parsed = JSON.parse(text) as Partial<CheckpointFile>;
      for (const [uid, alloc] of Object.entries(parsed.pods ?? {})) this.pods.set(uid, alloc);
    } catch (err) {
      log(`allocation checkpoint ${this.file} is unreadable and is ignored: ${errorMessage(err)}`);
    }
  }

  get(uid: string): PodAllocation | undefined {
    return this.pods.get(uid);
  }

  /** Every pod's allocation but `uid`'s (what the node has given to the others). */
  others(uid: string): PodAllocation[] {
    return [...this.pods].filter(([u]) => u !== uid).map(([, a]) => a);
  }

  /** Records the pod's allocation; written to the file at the end of this turn of the event loop (scheduleSave). */
  set(uid: string, alloc: PodAllocation): void {
    this.pods.set(uid, alloc);
    this.scheduleSave();
  }

  remove(uid: string): void {
    if (this.pods.delete(uid)) this.scheduleSave();
  }

  /**
   * One write for all the changes of one turn of the event loop: a batch of
   * pods admitted together costs one new file, not one each (a new file is
   * what costs on a busy node's disk). Still before anything is started
   * with an allocation: that waits for the runtime's replies, in later
   * turns. A kubelet killed in between admits the pod again from its spec,
   * as one killed just before the change.
   */
  private scheduleSave(): void {
    if (this.saving) return;
    this.saving = true;
    setImmediate(() => {
      this.saving = false;
      this.save();
    });
  }

  private save(): void {
    const body: CheckpointFile = { version: 1, pods: Object.fromEntries(this.pods) };
    const tmp = `${this.file}.tmp`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify(body), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
