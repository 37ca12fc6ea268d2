// Joining a cluster with a token (k3s's secure token join): the joiner
//   1. asks the server for its CA over a TLS connection it does NOT verify,
//   2. compares the CA's sha256 with the hash in the token, and stops there
//      when they differ: the token is never sent to a server it cannot trust,
//   3. reconnects verifying the server against that CA and sends the token
//      with a CSR for a key that never leaves this machine (the one kept
//      from an earlier join, if any: the server binds a node's name to it),
//   4. keeps CA, key and certificate in its directory (0700, files 0600):
//      later starts need no token, and renew the certificate with itself.

import { Client, Metadata, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { join } from 'node:path';
import { ApiError } from '../api/errors';
import { BootstrapService, type IssuedCertificate, type IssueCertificateRequest, type JoinServerResponse } from '../api/gen/tsk/v1/bootstrap';
import type { MethodDef } from '../api/kinds';
import { parseJoinToken, TokenFormatError } from '../util/join-token';
import type * as Pki from '../util/pki';
import { resolveClient } from './config';
import { toApiError, type ClientCredentials as ConnectionCredentials } from './connection';
import { errorMessage } from '../util/errors';

/**
 * util/pki, loaded when first needed: it loads @peculiar/x509, 0.15-0.4 s of
 * start-up that every tsctl command paid (client/index.ts re-exports this
 * file), though only joining and renewal use it.
 */
function loadPki(): Promise<typeof Pki> {
  return import('../util/pki/index.js');
}

export type JoinIdentity = 'node' | 'scheduler' | 'controller-manager';

/** What a component connects with: the cluster CA and its own client certificate. */
export interface JoinedCredentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface JoinOptions {
  /** The API server: HOST:PORT, https://HOST:PORT or unix:/PATH. */
  readonly server: string;
  /** The join token; needed only when `dir` holds no credentials yet. */
  readonly token?: string | undefined;
  readonly identity: JoinIdentity;
  /** For identity "node". */
  readonly nodeName?: string;
  /** Where ca.crt, client.crt and client.key are kept. */
  readonly dir: string;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  /** Deadline of each call; default 30 s. */
  readonly deadlineMs?: number;
}

/** A join that cannot go on; the message is one line for the user. */
export class JoinError extends Error {
  override readonly name = 'JoinError';
}

export const CREDENTIAL_FILES = { ca: 'ca.crt', cert: 'client.crt', key: 'client.key' } as const;

/** The gRPC target for a server address: https:// is dropped (gRPC speaks TLS on its own). */
export function grpcTarget(server: string): string {
  return server.replace(/^https:\/\//, '').replace(/\/+$/, '');
}

function shortHash(h: string): string {
  return `sha256:${h.slice(0, 16)}…`;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JoinError(`cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** The credentials kept in `dir`, or undefined when there are none yet. */
export async function loadCredentials(dir: string): Promise<JoinedCredentials | undefined> {
  const [caPem, certPem, keyPem] = await Promise.all([
    readOptional(join(dir, CREDENTIAL_FILES.ca)),
    readOptional(join(dir, CREDENTIAL_FILES.cert)),
    readOptional(join(dir, CREDENTIAL_FILES.key)),
  ]);
  if (caPem === undefined || certPem === undefined || keyPem === undefined) return undefined;
  return { caPem, certPem, keyPem };
}

async function saveCredentials(dir: string, c: JoinedCredentials): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // All three are written aside first and then renamed back to back: a
  // running client re-reads the files (renewal) and must not catch a new key
  // with the old certificate for longer than that.
  const files = [
    [join(dir, CREDENTIAL_FILES.ca), c.caPem],
    [join(dir, CREDENTIAL_FILES.key), c.keyPem],
    [join(dir, CREDENTIAL_FILES.cert), c.certPem],
  ] as const;
  const tmp = (file: string): string => `${file}.tmp-${process.pid}`;
  for (const [file, data] of files) {
    await writeFile(tmp(file), data, { mode: 0o600 });
    await chmod(tmp(file), 0o600);
  }
  for (const [file] of files) await rename(tmp(file), file);
}

export type TlsParts = { verify: false } | { verify: true; caPem: string; keyPem?: string; certPem?: string };

/**
 * TLS credentials and channel options for `target`. Node warns (DEP0123) when
 * TLS's server name is an IP address, which grpc-js sets from the target; for
 * an IP, the name sent is "localhost" and the certificate is still checked
 * against the IP itself.
 */
function secureChannel(target: string, tls: TlsParts): { creds: ChannelCredentials; options: ChannelOptions } {
  const host = target.startsWith('unix:') ? 'localhost' : target.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const options: ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 200 };
  const verifyOptions = isIP(host) === 0 ? {} : { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert) };
  if (isIP(host) !== 0) options['grpc.ssl_target_name_override'] = 'localhost';
  if (!tls.verify) return { creds: credentials.createSsl(null, null, null, { ...verifyOptions, rejectUnauthorized: false }), options };
  const pem = (text: string | undefined): Buffer | null => (text === undefined ? null : Buffer.from(text));
  return { creds: credentials.createSsl(Buffer.from(tls.caPem), pem(tls.keyPem), pem(tls.certPem), verifyOptions), options };
}

/** One unary call on a throw-away channel; failures become ApiErrors phrased for `server`. */
function call<Req, Res>(server: string, tls: TlsParts, method: MethodDef<Req, Res>, req: Req, deadlineMs: number): Promise<Res> {
  const target = grpcTarget(server);
  const { creds, options } = secureChannel(target, tls);
  const client = new Client(target, creds, options);
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      req,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, res) => {
        client.close();
        if (err) reject(toApiError(err, server));
        else if (res === undefined) reject(new JoinError(`empty answer from ${server}`));
        else resolve(res);
      },
    );
  });
}

/** The cluster CA as the server presents it, over TLS that is not verified (there is nothing to verify against yet). */
export async function fetchClusterCa(server: string, deadlineMs = 30_000): Promise<string> {
  const info = await call(server, { verify: false }, BootstrapService.getClusterInfo, {}, deadlineMs);
  const ca = info.caCertificate ?? '';
  if (ca === '') throw new JoinError(`the server at ${server} sent no CA certificate`);
  return ca;
}

function failure(server: string, err: unknown): JoinError {
  if (err instanceof JoinError) return err;
  if (err instanceof ApiError) return new JoinError(`joining the cluster at ${server} failed: ${err.message}`);
  return new JoinError(`joining the cluster at ${server} failed: ${errorMessage(err)}`);
}

/** IssueCertificate on `server` over TLS as `creds` say (a client certificate for renewals and serving certificates). */
export async function requestCertificate(server: string, creds: TlsParts, req: IssueCertificateRequest, deadlineMs: number): Promise<IssuedCertificate> {
  return call(server, creds, BootstrapService.issueCertificate, req, deadlineMs);
}

/**
 * The key to join with: the one kept from an earlier join, else a new one.
 * The server binds a node's name to its key (k3s's node password), so a
 * node joining again (its certificate expired) must show the same key.
 */
async function joiningKey(dir: string): Promise<string> {
  return (await readOptional(join(dir, CREDENTIAL_FILES.key))) ?? (await (await loadPki()).generateKeyPem());
}

/** Joins with `token`: checks the server's CA against the token before sending it. */
async function joinWithToken(opts: JoinOptions, tokenText: string): Promise<JoinedCredentials> {
  const deadlineMs = opts.deadlineMs ?? 30_000;
  const caPem = await pinnedClusterCa(opts.server, tokenText, deadlineMs);
  const { createCsr } = await loadPki();
  const keyPem = await joiningKey(opts.dir);
  let csr;
  try {
    csr = await createCsr(keyPem, { commonName: opts.nodeName ? `system:node:${opts.nodeName}` : opts.identity });
  } catch (err) {
    throw new JoinError(`${join(opts.dir, CREDENTIAL_FILES.key)}: not a usable private key (${errorMessage(err)}); remove it to join with a new key`);
  }
  const issued = await requestCertificate(
    opts.server,
    { verify: true, caPem },
    { token: tokenText.trim(), csr, identity: opts.identity, nodeName: opts.nodeName ?? '' },
    deadlineMs,
  ).catch((err: unknown) => {
    throw failure(opts.server, err);
  });
  return { caPem, certPem: issued.certificate ?? '', keyPem };
}

/** The cluster a server joins: its CA (checked against the token) and what JoinServer answered. */
export interface ServerJoinAnswer {
  caPem: string;
  files: Record<string, string>;
  initialCluster: string[];
}

/**
 * The server's CA, checked against the token's hash before the token is
 * sent anywhere (refusing a server of another cluster). A joining server
 * also compares it with the CA its data directory may already hold.
 */
export async function pinnedClusterCa(server: string, tokenText: string, deadlineMs = 30_000): Promise<string> {
  let token;
  try {
    token = parseJoinToken(tokenText);
  } catch (err) {
    if (err instanceof TokenFormatError) throw new JoinError(`--token: ${err.message}`);
    throw err;
  }
  if (token.caHash === undefined) {
    throw new JoinError('--token: the short form <id>.<secret> cannot verify the server; use the K10<hash>::<id>.<secret> token that tsk server prints');
  }
  const caPem = await fetchClusterCa(server, deadlineMs).catch((err: unknown) => {
    throw failure(server, err);
  });
  const served = (await loadPki()).caHash(caPem);
  if (served !== token.caHash) {
    throw new JoinError(
      `the server at ${server} has CA ${shortHash(served)}, not the CA ${shortHash(token.caHash)} of the token: refusing to send the token (wrong server, or a token of another cluster)`,
    );
  }
  return caPem;
}

/** tsk server --server URL --token TOKEN: joins the cluster's etcd as member `name` at `peerUrl` (k3s's server join). */
export async function joinServerCluster(
  server: string,
  caPem: string,
  tokenText: string,
  name: string,
  peerUrl: string,
  deadlineMs = 30_000,
): Promise<ServerJoinAnswer> {
  const answer: JoinServerResponse = await call(
    server,
    { verify: true, caPem },
    BootstrapService.joinServer,
    { token: tokenText.trim(), name, peerUrl },
    deadlineMs,
  ).catch((err: unknown) => {
    throw failure(server, err);
  });
  return { caPem, files: answer.files ?? {}, initialCluster: answer.initialCluster ?? [] };
}

/** A new certificate for a new key, asked for with the current certificate. */
export async function renewCredentials(opts: JoinOptions, current: JoinedCredentials): Promise<JoinedCredentials> {
  const { certificateInfo, createCsr, generateKeyPem } = await loadPki();
  const keyPem = await generateKeyPem();
  const csr = await createCsr(keyPem, { commonName: certificateInfo(current.certPem).subject.commonName });
  const mtls: TlsParts = { verify: true, caPem: current.caPem, keyPem: current.keyPem, certPem: current.certPem };
  const issued = await requestCertificate(
    opts.server,
    mtls,
    { token: '', csr, identity: opts.identity, nodeName: opts.nodeName ?? '' },
    opts.deadlineMs ?? 30_000,
  );
  const renewed = { caPem: issued.caCertificate || current.caPem, certPem: issued.certificate ?? '', keyPem };
  await saveCredentials(opts.dir, renewed);
  return renewed;
}

/**
 * The component's credentials: those kept in `opts.dir` (renewed first when
 * they near their end), else new ones got with the join token. Throws a
 * JoinError with one line when there are none and no token, or the join fails.
 */
export async function loadOrJoin(opts: JoinOptions): Promise<JoinedCredentials> {
  const now = (opts.now ?? (() => new Date()))();
  const log = opts.log ?? (() => undefined);
  const saved = await loadCredentials(opts.dir);
  if (saved !== undefined) {
    const { certificateInfo, needsRenewal } = await loadPki();
    let info;
    try {
      info = certificateInfo(saved.certPem);
    } catch (err) {
      throw new JoinError(
        `${join(opts.dir, CREDENTIAL_FILES.cert)}: not a certificate (${errorMessage(err)}); remove the directory and join again with --token`,
      );
    }
    if (info.notAfter.getTime() <= now.getTime()) {
      if (opts.token) {
        log(`the certificate in ${opts.dir} expired on ${info.notAfter.toISOString()}; joining again with the token`);
        return joinAndSave(opts, opts.token);
      }
      throw new JoinError(`the certificate in ${join(opts.dir, CREDENTIAL_FILES.cert)} expired on ${info.notAfter.toISOString()}; give --token to join again`);
    }
    if (!needsRenewal(saved.certPem, now)) return saved;
    try {
      const renewed = await renewCredentials(opts, saved);
      log(`renewed the certificate of ${info.subject.commonName}; valid until ${certificateInfo(renewed.certPem).notAfter.toISOString()}`);
      return renewed;
    } catch (err) {
      log(`could not renew the certificate (valid until ${info.notAfter.toISOString()}): ${errorMessage(err)}`);
      return saved;
    }
  }
  if (!opts.token) throw new JoinError(`no credentials in ${opts.dir} yet: give --token (or TSK_TOKEN) to join the cluster`);
  return joinAndSave(opts, opts.token);
}

async function joinAndSave(opts: JoinOptions, token: string): Promise<JoinedCredentials> {
  const creds = await joinWithToken(opts, token);
  await saveCredentials(opts.dir, creds);
  const { certificateInfo } = await loadPki();
  opts.log?.(`joined the cluster at ${opts.server} as ${certificateInfo(creds.certPem).subject.commonName}; credentials in ${opts.dir}`);
  return creds;
}

/**
 * What a component started with `--token` (or $TSK_TOKEN, as k3s's
 * K3S_TOKEN) connects with: its joined credentials, made now if needed.
 * Undefined when it has neither a token nor credentials from an earlier
 * join: it then uses the client config as before.
 */
export async function joinedCredentials(opts: JoinOptions, env: NodeJS.ProcessEnv = process.env): Promise<JoinedCredentials | undefined> {
  const token = opts.token || env['TSK_TOKEN'] || undefined;
  if (token === undefined && (await loadCredentials(opts.dir)) === undefined) return undefined;
  return loadOrJoin({ ...opts, token });
}

/** Where a component connects and with what. */
export interface ComponentTarget {
  /** The first server: where a join, a certificate request and the node's serving certificate go. */
  readonly server: string;
  /** Every server the component was given (--server repeated), the first being `server`: the seeds of its ServerList. */
  readonly servers: readonly string[];
  readonly credentials: ConnectionCredentials;
}

/**
 * The server and credentials a component (kubelet, agent, scheduler,
 * controller manager) connects with: those it joined with (a token now, or
 * kept from an earlier join) first, else the client config's context.
 */
export async function resolveComponentClient(
  opts: Omit<JoinOptions, 'server'> & { server: string | undefined; servers?: readonly string[] | undefined; kubeconfig: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ComponentTarget> {
  const target = await resolveClient({ server: opts.server, kubeconfig: opts.kubeconfig, env });
  const servers = [target.server, ...(opts.servers ?? []).filter((s) => s !== target.server)];
  const joined = await joinedCredentials({ ...opts, server: target.server }, env);
  if (joined !== undefined) {
    keepRenewed({ ...opts, server: target.server });
    const files = { ca: join(opts.dir, CREDENTIAL_FILES.ca), cert: join(opts.dir, CREDENTIAL_FILES.cert), key: join(opts.dir, CREDENTIAL_FILES.key) };
    return { server: target.server, servers, credentials: { ...joined, files } };
  }
  if (target.warning !== undefined) opts.log?.(`warning: ${target.warning}`);
  return { server: target.server, servers, credentials: target.credentials };
}

/** The flags every component takes to reach the API server. */
export interface ComponentClientFlags {
  readonly server: string | undefined;
  /** --server repeated; `server` is its first. */
  readonly servers?: readonly string[];
  readonly kubeconfig: string | undefined;
  readonly token: string | undefined;
  readonly dataDir: string;
}

/** Where a component keeps its joined credentials: DATA-DIR/agent for a node (kubelet, proxy and agent share them), DATA-DIR/IDENTITY otherwise. */
export function credentialsDir(dataDir: string, identity: JoinIdentity): string {
  return join(dataDir, identity === 'node' ? 'agent' : identity);
}

/** resolveComponentClient from a component's --server, --kubeconfig, --token and --data-dir; nodeName for identity "node". */
export function resolveComponentClientFromFlags(
  flags: ComponentClientFlags,
  identity: JoinIdentity,
  log: (line: string) => void,
  nodeName?: string,
): Promise<ComponentTarget> {
  return resolveComponentClient({
    server: flags.server,
    servers: flags.servers,
    kubeconfig: flags.kubeconfig,
    token: flags.token,
    identity,
    ...(nodeName === undefined ? {} : { nodeName }),
    dir: credentialsDir(flags.dataDir, identity),
    log,
  });
}

/** How often a running component checks whether its certificate is due for renewal. */
export const RENEWAL_CHECK_MS = 60 * 60 * 1000;

/**
 * Renews the certificate in `opts.dir` when it nears its end, checked every
 * RENEWAL_CHECK_MS for as long as the process lives (the timer does not hold
 * it). The connection re-reads the files (ClientCredentials.files), so the
 * new certificate is used from the next reconnection on. A failed renewal is
 * logged and tried again at the next check.
 */
export function keepRenewed(opts: JoinOptions, everyMs = RENEWAL_CHECK_MS): { stop(): void } {
  const now = opts.now ?? (() => new Date());
  let running = false;
  const check = async (): Promise<void> => {
    const current = await loadCredentials(opts.dir);
    const { certificateInfo, needsRenewal } = await loadPki();
    if (current === undefined || !needsRenewal(current.certPem, now())) return;
    const renewed = await renewCredentials(opts, current);
    opts.log?.(
      `renewed the certificate of ${certificateInfo(renewed.certPem).subject.commonName}; valid until ${certificateInfo(renewed.certPem).notAfter.toISOString()}`,
    );
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    check()
      .catch((err: unknown) => opts.log?.(`could not renew the certificate in ${opts.dir}: ${errorMessage(err)}`))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
