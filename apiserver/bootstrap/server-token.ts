// The server token: made on the first start of `tsk server`, written to
// <data-dir>/token (0600) and printed, never expiring, with the
// control-plane usage (k3s's server token). Later starts reuse the file and
// put its record back when etcd lost it (a fresh external etcd).

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatJoinToken, generateJoinToken, parseJoinToken, secretMatches, TokenFormatError } from '../../util/join-token';
import { newTokenRecord, USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE, type TokenStore } from './tokens';

export interface ServerToken {
  /** K10<hash>::<id>.<secret> */
  readonly text: string;
  readonly file: string;
  /** True on the start that made it. */
  readonly created: boolean;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeSecretFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${text}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** Loads or creates the server token in `file` and makes sure `store` knows it. Errors name the file. */
export async function ensureServerToken(opts: { file: string; caHash: string; store: TokenStore; now: Date }): Promise<ServerToken> {
  const { file, caHash, store, now } = opts;
  const usages = [USAGE_AUTHENTICATION, USAGE_CONTROL_PLANE] as const;
  const existing = await readIfExists(file);
  if (existing !== undefined) {
    let token;
    try {
      token = parseJoinToken(existing);
    } catch (err) {
      if (err instanceof TokenFormatError) throw new Error(`${file}: ${err.message}`, { cause: err });
      throw err;
    }
    if (token.caHash !== caHash) throw new Error(`${file}: the token's CA hash does not match the cluster CA; remove the file to make a new token`);
    const record = await store.get(token.id);
    if (record === undefined || !secretMatches(token.secret, record.secretHash)) {
      await store.put(newTokenRecord(token, { ttlSeconds: 0, description: 'the server token (<data-dir>/token)', usages, now }));
    }
    return { text: formatJoinToken(token), file, created: false };
  }
  const token = generateJoinToken(caHash);
  await store.put(newTokenRecord(token, { ttlSeconds: 0, description: 'the server token (<data-dir>/token)', usages, now }));
  const text = formatJoinToken(token);
  await writeSecretFile(file, text);
  return { text, file, created: true };
}
