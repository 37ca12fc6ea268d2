// Keeping an agent's list of API servers current, as k3s's agent load
// balancer does: the servers published in the `default/kubernetes` Endpoints
// are added to the --server seeds, and kept in DATA-DIR/agent/servers.json so
// that a restart while every seed is down still finds a server.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NotFoundError } from '../api/errors';
import type { Endpoints } from '../api/gen/tsk/v1/core';
import type { ResourceClient } from './resource';
import { errorMessage } from '../util/errors';
import type { ComponentTarget } from './bootstrap';
import { Clientset } from './clientset';
import type { ConnectionOptions } from './connection';
import { serversFromEndpoints } from './failover';
import { ServerList } from './server-list';

/** How often the kubernetes Endpoints are read again. */
export const SERVER_LEARNING_PERIOD_MS = 15_000;

/** The file of learned servers in a component's credentials directory. */
export function serversFile(credentialsDir: string): string {
  return join(credentialsDir, 'servers.json');
}

/** The learned servers kept in `file`; [] when there is none. Throws naming the file when it is not what this module writes. */
export async function readLearnedServers(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${file}: ${errorMessage(err)}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON; remove it (the servers are learned again from the kubernetes Endpoints)`);
  }
  const servers = (parsed as { servers?: unknown }).servers;
  if (!Array.isArray(servers) || !servers.every((s): s is string => typeof s === 'string')) {
    throw new Error(`${file}: "servers" must be a list of HOST:PORT strings`);
  }
  return servers;
}

/** Writes the learned servers atomically (temp file + rename). */
export async function writeLearnedServers(file: string, servers: readonly string[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ servers }, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The seeds plus the servers kept from an earlier run. */
export async function loadServerList(seeds: readonly string[], file: string): Promise<ServerList> {
  return new ServerList(seeds, await readLearnedServers(file));
}

export interface ServerLearning {
  /** Reads the Endpoints once now (tests, start-up). */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Reads `default/kubernetes` every `periodMs` and makes its servers the
 * list's learned ones, saving them to `file` when they change. A missing
 * Endpoints (a server that does not publish it) leaves the list as it is;
 * errors are logged and the next period tries again.
 */
export function startServerLearning(
  clientset: { readonly endpoints: Pick<ResourceClient<Endpoints>, 'get'> },
  list: ServerList,
  file: string,
  log: (line: string) => void,
  periodMs = SERVER_LEARNING_PERIOD_MS,
): ServerLearning {
  const refresh = async (): Promise<void> => {
    let servers: string[];
    try {
      servers = serversFromEndpoints(await clientset.endpoints.get('kubernetes', 'default'));
    } catch (err) {
      if (!(err instanceof NotFoundError)) log(`could not read the API servers from default/kubernetes: ${errorMessage(err)}`);
      return;
    }
    if (servers.length === 0 || !list.learn(servers)) return;
    log(`API servers: ${list.all().join(', ')}`);
    await writeLearnedServers(file, list.learnedAddresses()).catch((err: unknown) => log(`could not save the API servers to ${file}: ${errorMessage(err)}`));
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void refresh().finally(() => (running = false));
  }, periodMs);
  timer.unref();
  return { refresh, stop: () => clearInterval(timer) };
}

/** A node component's clientset over every server it knows, learning more from the Endpoints. */
export interface FailoverClient {
  readonly clientset: Clientset;
  readonly learning: ServerLearning;
}

/**
 * The clientset of a component that fails over: `target.servers` (the seeds)
 * plus the servers kept in `dir`/servers.json, learning the published ones
 * from now on. Stop `learning` and close the clientset when done.
 */
export async function openFailoverClient(
  target: ComponentTarget,
  dir: string,
  log: (line: string) => void,
  options: ConnectionOptions = {},
): Promise<FailoverClient> {
  const file = serversFile(dir);
  const list = await loadServerList(target.servers, file);
  if (list.size > 1) log(`API servers: ${list.all().join(', ')} (failing over in this order)`);
  const clientset = new Clientset(list, { ...target.credentials, ...options });
  const learning = startServerLearning(clientset, list, file, log);
  return { clientset, learning };
}
