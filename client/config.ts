// The client configuration file, ~/.tsk/config (or $TSK_CONFIG, or
// --kubeconfig): kubectl's model of named contexts, flattened. Each context
// is one cluster and one identity: the server's address, the CA that signs
// the server's certificate, and a client credential. `tsk server` writes its
// own context (named by --cluster-name); tsctl and the components pick one.
//
//   # Written by tsk. Read by tsctl and tsk's components. Keep it private (mode 0600).
//   current-context: default
//   contexts:
//   - name: default
//     server: 127.0.0.1:6443
//     certificate-authority-data: BASE64 PEM
//     client-certificate-data: BASE64 PEM
//     client-key-data: BASE64 PEM
//     token: TOKEN                       # instead of the client certificate
//     servers: [10.0.0.2:6443, ...]      # optional: the cluster's other API servers (failover)
//
// A file of the old form (`server: HOST:PORT` alone) reads as one context
// "default" without credentials.

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { load, dump, JSON_SCHEMA } from 'js-yaml';
import type { ClientCredentials } from './connection';
import { errorMessage } from '../util/errors';

export interface ContextEntry {
  readonly name: string;
  /** The API server's gRPC address: HOST:PORT or unix:/PATH. */
  readonly server: string;
  /**
   * The cluster's other API servers, tried in turn when `server` cannot be
   * reached (kubeconfig has one `server` per cluster; this list beside it is
   * tsk's own, and `server` stays the one every tool reads).
   */
  readonly servers?: readonly string[];
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly token?: string;
}

export interface ClientConfig {
  readonly currentContext?: string;
  readonly contexts: readonly ContextEntry[];
}

export const DEFAULT_SERVER = '127.0.0.1:6443';

/** The file `tsk server` writes at every start with its admin context alone (root's tools and agents on that machine use it with --kubeconfig). */
export function adminConfigPath(dataDir: string): string {
  return join(dataDir, 'admin.conf');
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['TSK_CONFIG'] ?? join(env['HOME'] ?? homedir(), '.tsk', 'config');
}

/** Reads the config file; undefined when it does not exist. Throws naming the file and field when it is malformed. */
export async function readClientConfig(path = defaultConfigPath()): Promise<ClientConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseClientConfig(text, path);
}

export function parseClientConfig(text: string, path: string): ClientConfig {
  let doc: unknown;
  try {
    doc = load(text, { schema: JSON_SCHEMA, filename: path });
  } catch (err) {
    throw new Error(`${path}: not valid YAML: ${errorMessage(err).split('\n')[0] ?? ''}`, { cause: err });
  }
  if (doc === undefined || doc === null) return { contexts: [] };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: must be a mapping with "contexts"`);
  const obj = doc as Record<string, unknown>;
  if (obj['contexts'] === undefined && typeof obj['server'] === 'string') {
    return { currentContext: 'default', contexts: [{ name: 'default', server: obj['server'] }] };
  }
  const raw = obj['contexts'] ?? [];
  if (!Array.isArray(raw)) throw new Error(`${path}: "contexts" must be a list`);
  const contexts = raw.map((c, i) => parseContext(c, `${path}: contexts[${i}]`));
  const names = new Set<string>();
  for (const c of contexts) {
    if (names.has(c.name)) throw new Error(`${path}: context "${c.name}" appears twice`);
    names.add(c.name);
  }
  const current = obj['current-context'];
  if (current !== undefined && typeof current !== 'string') throw new Error(`${path}: "current-context" must be a string`);
  return current === undefined || current === '' ? { contexts } : { currentContext: current, contexts };
}

function parseContext(raw: unknown, where: string): ContextEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: must be a mapping`);
  const o = raw as Record<string, unknown>;
  const str = (key: string): string | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new Error(`${where}.${key}: must be a non-empty string`);
    return v;
  };
  const pem = (key: string): string | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const text = Buffer.from(v, 'base64').toString('utf8');
    if (!text.includes('-----BEGIN ')) throw new Error(`${where}.${key}: must be base64 of a PEM block`);
    return text;
  };
  const name = str('name');
  const server = str('server');
  const servers = o['servers'];
  if (servers !== undefined && (!Array.isArray(servers) || !servers.every((v) => typeof v === 'string' && v !== ''))) {
    throw new Error(`${where}.servers: must be a list of HOST:PORT addresses`);
  }
  if (name === undefined) throw new Error(`${where}.name: must be set`);
  if (server === undefined) throw new Error(`${where}.server: must be set to the API server's HOST:PORT`);
  const entry: ContextEntry = withoutUndefined({
    name,
    server,
    servers: servers === undefined || servers.length === 0 ? undefined : (servers as string[]),
    caPem: pem('certificate-authority-data'),
    certPem: pem('client-certificate-data'),
    keyPem: pem('client-key-data'),
    token: str('token'),
  });
  if ((entry.certPem === undefined) !== (entry.keyPem === undefined)) {
    throw new Error(`${where}: client-certificate-data and client-key-data go together`);
  }
  return entry;
}

export function formatClientConfig(config: ClientConfig): string {
  const b64 = (pem: string | undefined): string | undefined => (pem === undefined ? undefined : Buffer.from(pem).toString('base64'));
  const doc = {
    'current-context': config.currentContext,
    contexts: config.contexts.map((c) => ({
      name: c.name,
      server: c.server,
      servers: c.servers !== undefined && c.servers.length > 0 ? [...c.servers] : undefined,
      'certificate-authority-data': b64(c.caPem),
      'client-certificate-data': b64(c.certPem),
      'client-key-data': b64(c.keyPem),
      token: c.token,
    })),
  };
  return `# Written by tsk. Read by tsctl and tsk's components. Keep it private (mode 0600).\n${dump(doc, { skipInvalid: true, lineWidth: -1 })}`;
}

/** Writes the config file atomically (temp file + rename), mode 0600 in a 0700 directory. */
export async function writeClientConfig(config: ClientConfig, path = defaultConfigPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, formatClientConfig(config), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export type ContextChange = 'created' | 'updated' | 'replaced-other-cluster';

/**
 * Adds or updates one context and makes it current. Returns what happened:
 * a context of the same name with another CA belonged to another cluster;
 * the caller must say so (it is replaced, never silently).
 */
export async function upsertContext(entry: ContextEntry, path = defaultConfigPath()): Promise<ContextChange> {
  const config = (await readClientConfig(path)) ?? { contexts: [] };
  const old = config.contexts.find((c) => c.name === entry.name);
  const change: ContextChange = old === undefined ? 'created' : old.caPem !== undefined && old.caPem !== entry.caPem ? 'replaced-other-cluster' : 'updated';
  const contexts = old === undefined ? [...config.contexts, entry] : config.contexts.map((c) => (c.name === entry.name ? entry : c));
  await writeClientConfig({ currentContext: entry.name, contexts }, path);
  return change;
}

export interface ClientTarget {
  /** The server tried first. */
  readonly server: string;
  /** Every server of the cluster, `server` first: the context's `servers` follow it when it is the context's. */
  readonly servers: readonly string[];
  readonly credentials: ClientCredentials;
  /** The context used, if any. */
  readonly context?: string;
  /** Something the user should read (no credentials, no config): print it on stderr. */
  readonly warning?: string;
}

export interface ResolveOptions {
  /** --server */
  readonly server?: string;
  /** --kubeconfig: the config file, instead of $TSK_CONFIG or ~/.tsk/config. */
  readonly kubeconfig?: string;
  /** --context */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Which server, with which credentials. The server is --server, else
 * TSCTL_SERVER, else the context's. The context is --context, else the
 * file's current one. A server given by flag or environment that is not the
 * chosen context's gets that context's credentials only when the user chose
 * them (--context or --kubeconfig); otherwise the context whose server it is,
 * or none at all, and a warning, so one cluster's credentials never go to
 * another by accident.
 */
export async function resolveClient(opts: ResolveOptions = {}): Promise<ClientTarget> {
  const env = opts.env ?? process.env;
  const path = opts.kubeconfig ?? defaultConfigPath(env);
  const config = await readClientConfig(path);
  if (opts.kubeconfig !== undefined && config === undefined) throw new Error(`--kubeconfig: ${path} does not exist`);
  const explicit = opts.server || env['TSCTL_SERVER'] || undefined;
  const contexts = config?.contexts ?? [];
  if (opts.context !== undefined) {
    const chosen = contexts.find((c) => c.name === opts.context);
    if (chosen === undefined) throw new Error(`--context: context "${opts.context}" not found in ${path}`);
    return target(chosen, explicit ?? chosen.server);
  }
  const currentName = config?.currentContext ?? (contexts.length === 1 ? contexts[0]?.name : undefined);
  const current = contexts.find((c) => c.name === currentName);
  if (currentName !== undefined && current === undefined) throw new Error(`${path}: current-context "${currentName}" is not one of its contexts`);
  if (explicit === undefined) {
    if (current !== undefined) return target(current, current.server);
    return {
      server: DEFAULT_SERVER,
      servers: [DEFAULT_SERVER],
      credentials: {},
      warning: `${config === undefined ? `${path} does not exist` : `${path} has no current context`}: connecting to ${DEFAULT_SERVER} without credentials`,
    };
  }
  if (current !== undefined && (serves(current, explicit) || opts.kubeconfig !== undefined)) return target(current, explicit);
  const match = contexts.find((c) => serves(c, explicit));
  if (match !== undefined) return target(match, explicit);
  return {
    server: explicit,
    servers: [explicit],
    credentials: {},
    warning: `no context in ${path} has server ${explicit}: connecting without credentials and verifying the server against the system's CAs (choose one with --context)`,
  };
}

/** Whether `server` is one of the context's servers. */
function serves(ctx: ContextEntry, server: string): boolean {
  return ctx.server === server || (ctx.servers ?? []).includes(server);
}

function target(ctx: ContextEntry, server: string): ClientTarget {
  const all = [ctx.server, ...(ctx.servers ?? [])];
  return {
    server,
    servers: all.includes(server) ? [server, ...all.filter((s) => s !== server)] : [server],
    context: ctx.name,
    credentials: withoutUndefined({ caPem: ctx.caPem, certPem: ctx.certPem, keyPem: ctx.keyPem, token: ctx.token }),
  };
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
