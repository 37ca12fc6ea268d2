// Join tokens as the API server keeps them: in etcd, so every API server of
// the cluster sees the same set, with only a hash of each secret (as
// Kubernetes keeps bootstrap tokens in Secrets, but without the plaintext).
// Checking a presented token is pure (checkToken) so its rules are tested
// without etcd.

import type { Etcd3 } from 'etcd3';
import { ApiError } from '../../api/errors';
import { hashSecret, secretMatches, type JoinToken } from '../../util/join-token';

/** May join nodes: get `system:node:NAME` certificates. */
export const USAGE_AUTHENTICATION = 'authentication';
/** May also get the scheduler's and the controller manager's identities (the server token). */
export const USAGE_CONTROL_PLANE = 'control-plane';
export type TokenUsage = typeof USAGE_AUTHENTICATION | typeof USAGE_CONTROL_PLANE;

/** kubeadm's default token lifetime. */
export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 3600;

export interface TokenRecord {
  readonly id: string;
  /** sha256 hex of the secret. */
  readonly secretHash: string;
  readonly description: string;
  /** RFC 3339; undefined: never expires. */
  readonly expires: string | undefined;
  readonly usages: readonly TokenUsage[];
  readonly created: string;
}

/** Where tokens live. Every method is a single etcd call (idempotent except create). */
export interface TokenStore {
  get(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /** Writes the record, replacing one with the same id. */
  put(record: TokenRecord): Promise<void>;
  /** True when a token was deleted. */
  delete(id: string): Promise<boolean>;
}

export function newTokenRecord(token: JoinToken, opts: { ttlSeconds: number; description: string; usages: readonly TokenUsage[]; now: Date }): TokenRecord {
  return {
    id: token.id,
    secretHash: hashSecret(token.secret),
    description: opts.description,
    expires: opts.ttlSeconds > 0 ? new Date(opts.now.getTime() + opts.ttlSeconds * 1000).toISOString() : undefined,
    usages: [...opts.usages],
    created: opts.now.toISOString(),
  };
}

function unauthorized(message: string): ApiError {
  return new ApiError('Unauthorized', message);
}

/**
 * The record a presented token stands for, or an Unauthorized error with one
 * line: `unknown token` (no such id, or a wrong secret: the two are not told
 * apart), `token abcdef has expired`, or a CA hash of another cluster.
 */
export function checkToken(token: JoinToken, record: TokenRecord | undefined, caHash: string, now: Date): TokenRecord {
  if (token.caHash !== undefined && token.caHash !== caHash) {
    throw unauthorized(`token ${token.id} is for another cluster: its CA hash does not match this server's CA`);
  }
  if (record === undefined || !secretMatches(token.secret, record.secretHash)) throw unauthorized('unknown token');
  if (record.expires !== undefined && Date.parse(record.expires) <= now.getTime()) throw unauthorized(`token ${token.id} has expired`);
  return record;
}

const PREFIX = '/registry/bootstraptokens/';

function decode(text: string): TokenRecord | undefined {
  const v = JSON.parse(text) as Partial<TokenRecord>;
  if (typeof v.id !== 'string' || typeof v.secretHash !== 'string') return undefined;
  return {
    id: v.id,
    secretHash: v.secretHash,
    description: v.description ?? '',
    expires: v.expires ?? undefined,
    usages: (v.usages ?? []).filter((u): u is TokenUsage => u === USAGE_AUTHENTICATION || u === USAGE_CONTROL_PLANE),
    created: v.created ?? '',
  };
}

/** Tokens under /registry/bootstraptokens/<id> in etcd, as JSON. */
export class EtcdTokenStore implements TokenStore {
  constructor(private readonly etcd: Etcd3) {}

  async get(id: string): Promise<TokenRecord | undefined> {
    const text = await this.etcd.get(PREFIX + id).string();
    return text === null ? undefined : decode(text);
  }

  async list(): Promise<TokenRecord[]> {
    const all = await this.etcd.getAll().prefix(PREFIX).strings();
    return Object.values(all)
      .map(decode)
      .filter((r): r is TokenRecord => r !== undefined)
      .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async put(record: TokenRecord): Promise<void> {
    await this.etcd.put(PREFIX + record.id).value(JSON.stringify(record));
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.etcd.delete().key(PREFIX + id);
    return Number(res.deleted) > 0;
  }
}
