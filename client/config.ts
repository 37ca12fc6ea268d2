// The client configuration file, ~/.tsk/config: where tsctl and the other
// components find the API server. `tsk` writes it when it starts a cluster;
// tsctl reads it when neither --server nor TSCTL_SERVER is given.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { load, dump, JSON_SCHEMA } from 'js-yaml';

export interface ClientConfig {
  /** The API server's gRPC address, HOST:PORT. */
  server: string;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['TSK_CONFIG'] ?? join(env['HOME'] ?? homedir(), '.tsk', 'config');
}

/** Reads the config file; undefined when it does not exist. Throws naming the file when it is malformed. */
export async function readClientConfig(path = defaultConfigPath()): Promise<ClientConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const doc = load(text, { schema: JSON_SCHEMA, filename: path }) as unknown;
  const server = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['server'] : undefined;
  if (typeof server !== 'string' || server === '') {
    throw new Error(`${path}: "server" must be set to the API server's HOST:PORT`);
  }
  return { server };
}

/** Writes the config file atomically (temp file + rename), mode 0600. */
export async function writeClientConfig(config: ClientConfig, path = defaultConfigPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `# Written by tsk. Read by tsctl.\n${dump(config)}`, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * The server address to use: the --server flag, else TSCTL_SERVER, else the
 * config file, else the API server's default address.
 */
export async function resolveServer(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (flag) return flag;
  const fromEnv = env['TSCTL_SERVER'];
  if (fromEnv) return fromEnv;
  const config = await readClientConfig(defaultConfigPath(env));
  return config?.server ?? '127.0.0.1:6443';
}
