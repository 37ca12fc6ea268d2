// Whether etcd's requested progress notifications can be trusted. The watch
// cache serves consistent reads (a list or a watch with no resourceVersion)
// by asking its etcd watch for a progress notification (KEP-2340). etcd
// before 3.4.31 and 3.5.13 may answer that request with a revision whose
// events it has not yet sent on the stream, when the watcher is still
// catching up (etcd-io/etcd#15220, #17529): after an etcd restart the cache
// would then skip those events for good. Kubernetes checks etcd's version
// and serves consistent reads from etcd itself on older versions; so does tsk.

/** The first releases with the fix, per minor version of etcd 3. */
const FIXED_IN: Readonly<Record<number, number>> = { 4: 31, 5: 13 };

/** Whether etcd `version` ("3.4.23") answers progress requests reliably; unknown versions are not trusted. */
export function progressRequestsReliable(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major !== 3) return major > 3;
  const fixed = FIXED_IN[minor];
  if (fixed !== undefined) return patch >= fixed;
  return minor > 5;
}
