// Which pod each sandbox or container belongs to, remembered from its record:
// a record's pod UID never changes for its ID, so a listing for one pod
// (the kubelet's per-pod sync) skips the records of the other pods without
// reading them. Only the ID -> UID mapping is kept: everything else is read
// from disk as before, so another process's changes are always seen.

export class PodOwners {
  private readonly owners = new Map<string, string>();

  /** True when the ID is known to belong to a pod other than podUid (its record need not be read). */
  otherPod(id: string, podUid: string | undefined): boolean {
    if (podUid === undefined) return false;
    const owner = this.owners.get(id);
    return owner !== undefined && owner !== podUid;
  }

  /** Records the owner read from the ID's record (an undefined owner is not remembered). */
  learn(id: string, podUid: string | undefined): void {
    if (podUid !== undefined) this.owners.set(id, podUid);
  }

  /** Forgets the IDs not in `present` (removed since), so the map stays as large as the directory. */
  keepOnly(present: readonly string[]): void {
    if (this.owners.size <= present.length) return;
    const keep = new Set(present);
    for (const id of this.owners.keys()) if (!keep.has(id)) this.owners.delete(id);
  }
}
