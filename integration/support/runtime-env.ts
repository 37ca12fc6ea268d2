// A throw-away runtime for tests and the benchmark: a temp data dir whose
// image store holds the busybox test image (built offline from Debian's
// busybox-static by test-images.ts and imported as a `docker save` tarball),
// a NativeRuntime over it, and a cleanup that removes every container,
// sandbox (netns bind mounts), cgroup and file it made, also after a failure.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore } from '../../kubelet/runtime/image/store';
import { NativeRuntime } from '../../kubelet/runtime/native-runtime';
import { busyboxImage, dockerSaveArchive } from './test-images';

export const BUSYBOX_REF = 'tsk.test/busybox:latest';

export interface RuntimeEnv {
  dataDir: string;
  store: ImageStore;
  runtime: NativeRuntime;
  image: string;
  cleanup(): Promise<void>;
}

/** Imports the busybox test image into `dataDir`'s store. */
export async function importBusybox(dataDir: string): Promise<ImageStore> {
  const store = new ImageStore(dataDir);
  const tar = path.join(dataDir, 'busybox-image.tar');
  fs.writeFileSync(tar, await dockerSaveArchive([{ image: await busyboxImage(), repoTags: [BUSYBOX_REF] }]));
  await store.importArchive(tar);
  fs.rmSync(tar);
  return store;
}

/** Removes every sandbox and container under the runtime, then the data dir. */
export async function cleanupRuntime(runtime: NativeRuntime, dataDir: string): Promise<void> {
  const errors: string[] = [];
  for (const c of await runtime.listContainers().catch(() => [])) {
    await runtime.removeContainer(c.id).catch((e: Error) => errors.push(e.message));
  }
  for (const s of await runtime.listSandboxes().catch(() => [])) {
    await runtime.removeSandbox(s.id).catch((e: Error) => errors.push(e.message));
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (errors.length > 0) throw new Error(`cleanup: ${errors.join('; ')}`);
}

export async function makeRuntimeEnv(prefix = 'tsk-rt-'): Promise<RuntimeEnv> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const store = await importBusybox(dataDir);
  // A cgroup parent of its own per env: parallel tests never touch each other's cgroups.
  const runtime = new NativeRuntime({ dataDir, images: store });
  return { dataDir, store, runtime, image: BUSYBOX_REF, cleanup: () => cleanupRuntime(runtime, dataDir) };
}
