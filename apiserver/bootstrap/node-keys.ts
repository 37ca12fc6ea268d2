// Which key a node name belongs to: k3s's node password, with the key the
// agent keeps in <data-dir>/agent/client.key standing in for the password.
// The first token join of a name binds it to the sha256 of the CSR's public
// key; a later token join of that name with another key is refused while the
// Node exists, so a join token cannot take over a node that already joined.
// Once an admin deleted the Node (a new machine for that name) the binding
// moves to the new key, as k3s drops the node-password secret with the Node.
// The decision is pure (decideNodeKey); the store compares-and-swaps, so two
// joiners racing for one name cannot both win.

import type { Etcd3 } from 'etcd3';
import { ApiError } from '../../api/errors';
import { objectKey } from '../storage/keys';

export interface NodeKeyBinding {
  /** sha256 hex of the node's public key (SubjectPublicKeyInfo DER). */
  readonly keyHash: string;
  /** RFC 3339: when this key was bound. */
  readonly bound: string;
}

/** A binding as read, with what a compare-and-swap of it needs. */
export interface NodeKeyState {
  readonly binding: NodeKeyBinding | undefined;
  /** The store's version of the binding (etcd's mod revision); '' when there is none. */
  readonly revision: string;
  readonly nodeExists: boolean;
}

export interface NodeKeyStore {
  read(nodeName: string): Promise<NodeKeyState>;
  /**
   * Writes `binding` only if nothing changed since `seen`: no binding yet, or
   * the same one and still no Node. False when another writer came first.
   */
  replace(nodeName: string, binding: NodeKeyBinding, seen: NodeKeyState): Promise<boolean>;
  /** Writes `binding` whatever was there: the node itself renewed its certificate for a new key. */
  put(nodeName: string, binding: NodeKeyBinding): Promise<void>;
}

/** bind: the name's first join; keep: the same key again; rebind: the Node was deleted, a new key takes the name. */
export type NodeKeyDecision = 'bind' | 'keep' | 'rebind';

function refused(nodeName: string): ApiError {
  return new ApiError(
    'Forbidden',
    `node "${nodeName}" already joined with another key; if this is a new machine for that name, delete the Node first: tsctl delete node ${nodeName}`,
  );
}

/** What a token join of `nodeName` with the key `keyHash` does, or a Forbidden error with one line. */
export function decideNodeKey(nodeName: string, keyHash: string, state: Pick<NodeKeyState, 'binding' | 'nodeExists'>): NodeKeyDecision {
  if (state.binding === undefined) return 'bind';
  if (state.binding.keyHash === keyHash) return 'keep';
  if (!state.nodeExists) return 'rebind';
  throw refused(nodeName);
}

/**
 * Binds `nodeName` to `keyHash` for a token join, or throws the Forbidden
 * error. A lost race is not retried as a rebind: the winner has not
 * registered its Node yet, and must not lose the name to the loser.
 */
export async function bindNodeKey(store: NodeKeyStore, nodeName: string, keyHash: string, now: Date): Promise<NodeKeyDecision> {
  const state = await store.read(nodeName);
  const decision = decideNodeKey(nodeName, keyHash, state);
  if (decision === 'keep') return decision;
  if (await store.replace(nodeName, { keyHash, bound: now.toISOString() }, state)) return decision;
  const after = await store.read(nodeName);
  if (after.binding?.keyHash === keyHash) return 'keep';
  throw refused(nodeName);
}

/** Beside the join tokens (/registry/bootstraptokens/); not an API kind, so never listed or watched. */
const PREFIX = '/registry/nodekeys/';

function decode(text: string): NodeKeyBinding | undefined {
  const v = JSON.parse(text) as Partial<NodeKeyBinding>;
  if (typeof v.keyHash !== 'string') return undefined;
  return { keyHash: v.keyHash, bound: typeof v.bound === 'string' ? v.bound : '' };
}

/** Bindings under /registry/nodekeys/<name> in etcd, as JSON; the Node is read from its own key. */
export class EtcdNodeKeyStore implements NodeKeyStore {
  constructor(private readonly etcd: Etcd3) {}

  async read(nodeName: string): Promise<NodeKeyState> {
    const [res, node] = await Promise.all([this.etcd.get(PREFIX + nodeName).exec(), this.etcd.get(objectKey('Node', '', nodeName)).exec()]);
    const kv = res.kvs[0];
    const binding = kv === undefined ? undefined : decode(kv.value.toString());
    return { binding, revision: kv === undefined ? '' : String(kv.mod_revision), nodeExists: node.kvs.length > 0 };
  }

  async replace(nodeName: string, binding: NodeKeyBinding, seen: NodeKeyState): Promise<boolean> {
    const key = PREFIX + nodeName;
    const put = this.etcd.put(key).value(JSON.stringify(binding));
    let txn;
    if (seen.revision === '') txn = this.etcd.if(key, 'Create', '==', 0);
    else {
      txn = this.etcd.if(key, 'Mod', '==', Number(seen.revision));
      // Moving a binding needs the Node still gone (a record that could not be decoded is overwritten like none).
      if (seen.binding !== undefined) txn = txn.and(objectKey('Node', '', nodeName), 'Version', '==', 0);
    }
    txn = txn.then(put);
    return (await txn.commit()).succeeded;
  }

  async put(nodeName: string, binding: NodeKeyBinding): Promise<void> {
    await this.etcd.put(PREFIX + nodeName).value(JSON.stringify(binding));
  }
}
