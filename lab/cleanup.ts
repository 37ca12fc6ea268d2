// The runtime side of the lab's nodes. What `tsk lab down` does for a node
// once its agent is stopped: like the
// real kubelet, a stopped agent leaves its pods running, so the lab removes
// them itself through the runtime's own state (containers, sandboxes, their
// mounts and cgroups), then the node's cgroup parent.

import { existsSync } from 'node:fs';
import { CgroupManager, ImageStore, NativeRuntime, detectCgroupLayout } from '../kubelet/runtime';
import type { LabNode } from './topology';
import { unmountUnder } from '../util/mounts';

export async function cleanupNodeRuntime(node: LabNode): Promise<void> {
  if (!existsSync(node.dataDir)) return;
  const cgroups = new CgroupManager(detectCgroupLayout(), node.cgroupRoot);
  const runtime = new NativeRuntime({ dataDir: node.dataDir, images: new ImageStore(node.dataDir), cgroups });
  for (const s of await runtime.listSandboxes()) await runtime.removeSandbox(s.id);
  for (const c of await runtime.listContainers()) await runtime.removeContainer(c.id);
  await cgroups.remove(node.cgroupRoot);
  // The tmpfs of secret volumes of pods whose agent was stopped before it removed them.
  unmountUnder(node.dataDir);
}

/** Imports an image archive into the node's image store; returns the references it brought. */
export async function importIntoNode(node: LabNode, file: string): Promise<string[]> {
  const records = await new ImageStore(node.dataDir).importArchive(file);
  return records.flatMap((r) => r.references);
}
