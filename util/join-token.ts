// Join tokens, in k3s's secure form: `K10<CA hash>::<id>.<secret>`. The CA
// hash (sha256 hex of the cluster CA certificate's DER) lets a joining node
// check the server it reached BEFORE it sends the secret; `<id>.<secret>`
// is a Kubernetes bootstrap token (id [a-z0-9]{6}, secret [a-z0-9]{16}):
// the id is public (listed, deleted by), the secret is stored only as a hash.

import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'K10';
const ID_RE = /^[a-z0-9]{6}$/;
const SECRET_RE = /^[a-z0-9]{16}$/;
const HASH_RE = /^[0-9a-f]{64}$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface JoinToken {
  /** sha256 hex of the cluster CA's DER; undefined for the short form `<id>.<secret>`. */
  readonly caHash: string | undefined;
  readonly id: string;
  readonly secret: string;
}

/** A token that cannot be parsed; the message is one line naming what is wrong, never the secret. */
export class TokenFormatError extends Error {
  override readonly name = 'TokenFormatError';
}

const FORM = 'K10<64 hex digits>::<id>.<secret> (or <id>.<secret>)';

/** Parses `K10<hash>::<id>.<secret>` or the short `<id>.<secret>`; throws a TokenFormatError naming the bad part. */
export function parseJoinToken(text: string): JoinToken {
  const t = text.trim();
  if (t === '') throw new TokenFormatError('the token is empty');
  let caHash: string | undefined;
  let credentials = t;
  if (t.startsWith(TOKEN_PREFIX) && t.includes('::')) {
    const sep = t.indexOf('::');
    caHash = t.slice(TOKEN_PREFIX.length, sep).toLowerCase();
    credentials = t.slice(sep + 2);
    if (!HASH_RE.test(caHash)) throw new TokenFormatError(`the token's CA hash is not 64 hex digits (the form is ${FORM})`);
  } else if (t.includes('::')) {
    throw new TokenFormatError(`the token does not start with ${TOKEN_PREFIX} (the form is ${FORM})`);
  }
  const dot = credentials.indexOf('.');
  if (dot < 0) throw new TokenFormatError(`the token has no "<id>.<secret>" part (the form is ${FORM})`);
  const id = credentials.slice(0, dot);
  const secret = credentials.slice(dot + 1);
  if (!ID_RE.test(id)) throw new TokenFormatError('the token id must be 6 characters of [a-z0-9]');
  if (!SECRET_RE.test(secret)) throw new TokenFormatError(`the secret of token ${id} must be 16 characters of [a-z0-9]`);
  return { caHash, id, secret };
}

/** A token id as `tsk token delete` takes it: the id alone, or a whole token (its id is used). */
export function tokenIdOf(text: string): string {
  const t = text.trim();
  if (ID_RE.test(t)) return t;
  return parseJoinToken(t).id;
}

/** The token's text: `K10<hash>::<id>.<secret>` (the short form when it has no hash). */
export function formatJoinToken(token: JoinToken): string {
  const creds = `${token.id}.${token.secret}`;
  return token.caHash === undefined ? creds : `${TOKEN_PREFIX}${token.caHash}::${creds}`;
}

/** A fresh token for the CA with hash `caHash`; `pick(n)` returns an integer in [0, n) (crypto-random by default). */
export function generateJoinToken(caHash: string, pick: (n: number) => number = randomInt): JoinToken {
  const draw = (len: number): string => Array.from({ length: len }, () => ALPHABET[pick(ALPHABET.length)] ?? 'a').join('');
  return { caHash, id: draw(6), secret: draw(16) };
}

/** What the server stores instead of the secret: sha256 hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
