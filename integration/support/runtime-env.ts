// A throw-away runtime for tests and the benchmark: a temp data dir whose
// image store holds the busybox test image (built offline from Debian's
// busybox-static by the image builder and imported as a `docker save` tarball),
// a NativeRuntime over it, and a cleanup that removes every container,
// sandbox (netns bind mounts), cgroup and file it made, also after a failure.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as builder from '../../kubelet/runtime/image/builder';
import { ImageStore } from '../../kubelet/runtime/image/store';
import { NativeRuntime } from '../../kubelet/runtime/native-runtime';
import { cleanupRuntime } from '../../kubelet/runtime/scratch';

export { cleanupRuntime };

export const BUSYBOX_REF = 'tsk.test/busybox:latest';

export interface RuntimeEnv {
  dataDir: string;
  store: ImageStore;
  runtime: NativeRuntime;
  image: string;
  cleanup(): Promise<void>;
}

/** Imports the busybox test image into `dataDir`'s store. */
export function importBusybox(dataDir: string): Promise<ImageStore> {
  return builder.importBusybox(dataDir, BUSYBOX_REF);
}

export async function makeRuntimeEnv(prefix = 'tsk-rt-'): Promise<RuntimeEnv> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const store = await importBusybox(dataDir);
  // A cgroup parent of its own per env: parallel tests never touch each other's cgroups.
  const runtime = new NativeRuntime({ dataDir, images: store });
  return { dataDir, store, runtime, image: BUSYBOX_REF, cleanup: () => cleanupRuntime(runtime, dataDir) };
}
