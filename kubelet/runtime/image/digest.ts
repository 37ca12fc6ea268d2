// sha256 digests as OCI writes them ("sha256:<64 lowercase hex>").

import { createHash, Hash } from 'node:crypto';
import { InvalidManifestError } from './errors';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isSha256Digest(s: unknown): s is string {
  return typeof s === 'string' && SHA256_DIGEST.test(s);
}

/** Checks a digest read from a manifest or archive before it is used as a file name. */
export function requireDigest(s: unknown, what: string): string {
  if (!isSha256Digest(s)) throw new InvalidManifestError(what, `"${String(s)}" is not a sha256 digest`);
  return s;
}

export function sha256Of(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a sha256 digest, used as a file name. */
export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function newHash(): Hash {
  return createHash('sha256');
}

export function hashDigest(h: Hash): string {
  return `sha256:${h.digest('hex')}`;
}
