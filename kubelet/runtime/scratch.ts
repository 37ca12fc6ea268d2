// The end of a throw-away runtime (tests and benchmarks run runtimes over
// temporary data dirs): every container and sandbox removed through the
// runtime itself (so its mounts, cgroups and processes go too), then the dir.

import * as fs from 'node:fs';
import type { ContainerRuntime } from './runtime';
import { errorMessage } from '../../util/errors';
import { unmountUnder } from '../../util/mounts';

/** Removes every container and sandbox of `runtime`, then `dataDir`; tries everything, then reports every failure at once. */
export async function cleanupRuntime(runtime: ContainerRuntime, dataDir: string): Promise<void> {
  const errors: string[] = [];
  for (const c of await runtime.listContainers().catch(() => [])) {
    await runtime.removeContainer(c.id).catch((e: Error) => errors.push(e.message));
  }
  for (const s of await runtime.listSandboxes().catch(() => [])) {
    await runtime.removeSandbox(s.id).catch((e: Error) => errors.push(e.message));
  }
  // The tmpfs of pods' secret volumes (the kubelet's) would make the removal fail half-way.
  try {
    unmountUnder(dataDir);
  } catch (err) {
    errors.push(errorMessage(err));
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (errors.length > 0) throw new Error(`cleanup: ${errors.join('; ')}`);
}
