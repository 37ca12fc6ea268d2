import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJoinToken } from '../../util/join-token';
import { ensureServerToken } from './server-token';
import { checkToken, USAGE_CONTROL_PLANE, type TokenRecord, type TokenStore } from './tokens';

class MemoryTokens implements TokenStore {
  readonly map = new Map<string, TokenRecord>();
  async get(id: string): Promise<TokenRecord | undefined> {
    return this.map.get(id);
  }
  async list(): Promise<TokenRecord[]> {
    return [...this.map.values()];
  }
  async put(r: TokenRecord): Promise<void> {
    this.map.set(r.id, r);
  }
  async delete(id: string): Promise<boolean> {
    return this.map.delete(id);
  }
}

const HASH = 'd'.repeat(64);
const now = new Date('2026-01-01T00:00:00Z');

test('the server token is made once (0600, never expiring, control-plane) and reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  const store = new MemoryTokens();
  const first = await ensureServerToken({ file, caHash: HASH, store, now });
  t.true(first.created);
  t.regex(first.text, /^K10d{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
  t.is((await stat(file)).mode & 0o777, 0o600);
  t.is((await readFile(file, 'utf8')).trim(), first.text);
  const token = parseJoinToken(first.text);
  const record = checkToken(token, await store.get(token.id), HASH, new Date('2099-01-01T00:00:00Z'));
  t.true(record.usages.includes(USAGE_CONTROL_PLANE));

  const second = await ensureServerToken({ file, caHash: HASH, store, now });
  t.false(second.created);
  t.is(second.text, first.text);
  t.is(store.map.size, 1);

  // A datastore that lost the record (a fresh etcd) gets it back from the file.
  store.map.clear();
  await ensureServerToken({ file, caHash: HASH, store, now });
  t.truthy(await store.get(token.id));
});

test('a token file of another CA or malformed is an error naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await ensureServerToken({ file, caHash: HASH, store: new MemoryTokens(), now });
  await t.throwsAsync(ensureServerToken({ file, caHash: 'e'.repeat(64), store: new MemoryTokens(), now }), {
    message: `${file}: the token's CA hash does not match the cluster CA; remove the file to make a new token`,
  });
  await writeFile(file, 'garbage\n');
  await t.throwsAsync(ensureServerToken({ file, caHash: HASH, store: new MemoryTokens(), now }), { message: new RegExp(`^${file}: the token has no`) });
});
