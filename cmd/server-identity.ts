// The leader-election identity of a `tsk server`: HOST_ID, where ID is kept
// in DATA_DIR/server-id from the first start on. Kubernetes' components take
// a fresh HOST_UUID at every start, so a restarted leader waits out its own
// lease like any other candidate (15 s without a scheduler). With an
// identity that survives the restart, client-go's rule "the holder renews"
// lets a server killed and started again take its leases back at once.
// That is safe only because two live processes never share the identity: a
// server's embedded etcd owns DATA_DIR (a second server on it refuses to
// start, util/etcd-process.ts), so the stable identity is used only then;
// with --etcd-servers nothing guards the directory and each start gets a
// fresh identity, as in Kubernetes.

import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { leaderIdentity } from '../client';

const ID_FILE = 'server-id';

/** A UUID as this file holds it; anything else is rewritten. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** DATA_DIR/server-id's UUID, created (mode 0600) on first use. */
export async function persistentServerId(dataDir: string): Promise<string> {
  const file = join(dataDir, ID_FILE);
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (UUID.test(existing)) return existing;
  const id = randomUUID();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** The identity this server campaigns with; `embeddedEtcd` says whether DATA_DIR is exclusively this process's. */
export async function serverLeaderIdentity(dataDir: string, embeddedEtcd: boolean, host: string = hostname()): Promise<string> {
  if (!embeddedEtcd) return leaderIdentity(host);
  return `${host}_${await persistentServerId(dataDir)}`;
}
