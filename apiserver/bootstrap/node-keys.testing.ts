// NodeKeyStore in memory for the unit tests, with the etcd store's
// compare-and-swap rules; `nodes` stands for the Node objects that exist.

import type { NodeKeyBinding, NodeKeyState, NodeKeyStore } from './node-keys';

export class MemoryNodeKeyStore implements NodeKeyStore {
  readonly bindings = new Map<string, { binding: NodeKeyBinding; revision: number }>();
  readonly nodes = new Set<string>();
  private revision = 0;

  async read(nodeName: string): Promise<NodeKeyState> {
    const kept = this.bindings.get(nodeName);
    return { binding: kept?.binding, revision: kept === undefined ? '' : String(kept.revision), nodeExists: this.nodes.has(nodeName) };
  }

  async replace(nodeName: string, binding: NodeKeyBinding, seen: NodeKeyState): Promise<boolean> {
    const kept = this.bindings.get(nodeName);
    const unchanged = seen.revision === '' ? kept === undefined : kept !== undefined && String(kept.revision) === seen.revision && !this.nodes.has(nodeName);
    if (unchanged) await this.put(nodeName, binding);
    return unchanged;
  }

  async put(nodeName: string, binding: NodeKeyBinding): Promise<void> {
    this.bindings.set(nodeName, { binding, revision: ++this.revision });
  }
}
