// A node's serving certificate for the HTTPS endpoints of its kubelet and
// proxy (Kubernetes' kubelet serving certificate, from the kubelet-serving
// signer): system:node:NAME with the node's name and IP addresses as SANs,
// asked for with the component's own client certificate, kept beside the
// join credentials (DIR/serving.crt, DIR/serving.key; 0600) and renewed like
// them: in its last third, or at once when the wanted names changed.

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { errorMessage } from '../util/errors';
import { needsHttps } from '../util/health-server';
import { certificateInfo, createCA, createCsr, generateKeyPem, issue, needsRenewal } from '../util/pki';
import { JoinError, requestCertificate } from './bootstrap';
import type { ClientCredentials } from './connection';

export const SERVING_FILES = { cert: 'serving.crt', key: 'serving.key' } as const;

/** What an HTTPS endpoint serves with, and the CA whose client certificates it accepts. */
export interface ServingTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServingOptions {
  /** The API server the component talks to. */
  readonly server: string;
  /** The component's credentials: a client certificate (a node's, or an admin's) and the cluster CA. */
  readonly credentials: ClientCredentials;
  readonly nodeName: string;
  /** IP addresses for the certificate besides the node's name. */
  readonly ips: readonly string[];
  /** Where serving.crt and serving.key are kept (the node's DATA-DIR/agent). */
  readonly dir: string;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  readonly deadlineMs?: number;
}

/** The names the certificate must hold: the node's name, then its IPs, without repeats. */
export function wantedSans(nodeName: string, ips: readonly string[]): string[] {
  return [...new Set([nodeName, ...ips])];
}

/** Whether `certPem` can be served as is: it holds exactly the wanted names and is not due for renewal. */
export function servingCertCurrent(certPem: string, sans: readonly string[], now: Date): boolean {
  const info = certificateInfo(certPem);
  const have = [...(info.sans.dns ?? []), ...(info.sans.ips ?? [])].sort();
  const want = [...sans].sort();
  return have.length === want.length && have.every((n, i) => n === want[i]) && !needsRenewal(certPem, now);
}

async function readPem(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JoinError(`cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** The client certificate the request goes with: the renewed files when the component has them, else the PEMs. */
async function askingCredentials(c: ClientCredentials): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  if (c.files) {
    const [caPem, certPem, keyPem] = await Promise.all([readFile(c.files.ca, 'utf8'), readFile(c.files.cert, 'utf8'), readFile(c.files.key, 'utf8')]);
    return { caPem, certPem, keyPem };
  }
  if (c.caPem === undefined || c.certPem === undefined || c.keyPem === undefined) {
    throw new JoinError('a serving certificate is asked for with a client certificate: join with --token, or use a client config whose context has one');
  }
  return { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem };
}

async function issueServing(opts: ServingOptions, sans: readonly string[]): Promise<ServingTls> {
  const asking = await askingCredentials(opts.credentials);
  const keyPem = await generateKeyPem();
  const csr = await createCsr(keyPem, { commonName: `system:node:${opts.nodeName}` });
  const issued = await requestCertificate(
    opts.server,
    { verify: true, ...asking },
    { token: '', csr, identity: 'node', nodeName: opts.nodeName, usage: 'serving', sans: [...sans] },
    opts.deadlineMs ?? 30_000,
  ).catch((err: unknown) => {
    throw new JoinError(`cannot get a serving certificate for ${opts.nodeName} (${sans.join(', ')}) from ${opts.server}: ${errorMessage(err)}`);
  });
  const tls = { caPem: issued.caCertificate || asking.caPem, certPem: issued.certificate ?? '', keyPem };
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const tmp = (file: string): string => `${file}.tmp-${process.pid}`;
  const files = [
    [join(opts.dir, SERVING_FILES.key), keyPem],
    [join(opts.dir, SERVING_FILES.cert), tls.certPem],
  ] as const;
  for (const [file, data] of files) {
    await writeFile(tmp(file), data, { mode: 0o600 });
    await chmod(tmp(file), 0o600);
  }
  for (const [file] of files) await rename(tmp(file), file);
  return tls;
}

/**
 * The serving certificate kept in `opts.dir` when it is current, else a new
 * one (new key) from the API server. Throws a JoinError with one line when
 * none can be had.
 */
export async function loadOrIssueServing(opts: ServingOptions): Promise<ServingTls> {
  const now = (opts.now ?? (() => new Date()))();
  const sans = wantedSans(opts.nodeName, opts.ips);
  const [certPem, keyPem] = await Promise.all([readPem(join(opts.dir, SERVING_FILES.cert)), readPem(join(opts.dir, SERVING_FILES.key))]);
  if (certPem !== undefined && keyPem !== undefined) {
    let current = false;
    try {
      current = servingCertCurrent(certPem, sans, now);
    } catch {
      // Unreadable: replaced below.
    }
    if (current) return { caPem: (await askingCredentials(opts.credentials)).caPem, certPem, keyPem };
  }
  const tls = await issueServing(opts, sans);
  opts.log?.(`got a serving certificate for ${sans.join(', ')}; valid until ${certificateInfo(tls.certPem).notAfter.toISOString()}`);
  return tls;
}

/**
 * Renews the serving certificate when it nears its end, checked every
 * `everyMs` (the timer does not hold the process); `onRenewed` swaps it into
 * the running server. A failed renewal is logged and tried at the next check.
 */
export function keepServingRenewed(opts: ServingOptions, served: ServingTls, onRenewed: (tls: ServingTls) => void, everyMs = 60 * 60 * 1000): { stop(): void } {
  let running = false;
  let last = served.certPem;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    loadOrIssueServing(opts)
      .then((tls) => {
        if (tls.certPem !== last) onRenewed(tls);
        last = tls.certPem;
      })
      .catch((err: unknown) => opts.log?.(`could not renew the serving certificate in ${opts.dir}: ${errorMessage(err)}`))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * A serving certificate of the node's own, for when the API server signs
 * none (it has no cluster CA key): as the kubelet without --tls-cert-file
 * makes one, a throwaway CA "NAME-ca@UNIXTIME" signs a certificate for the
 * node's name and IPs, and both are served as the chain. Clients cannot
 * check it against the cluster CA; client certificates are still checked
 * against `caPem` (the cluster CA).
 */
export async function selfSignedServing(nodeName: string, ips: readonly string[], caPem: string, now: () => Date = () => new Date()): Promise<ServingTls> {
  const ca = await createCA(`${nodeName}-ca@${Math.floor(now().getTime() / 1000)}`, 365);
  const leaf = await issue(
    ca,
    { commonName: `${nodeName}@${Math.floor(now().getTime() / 1000)}` },
    { usage: 'server', sans: { dns: [nodeName], ips: [...ips] } },
  );
  return { caPem, certPem: `${leaf.certPem.trimEnd()}\n${ca.certPem}`, keyPem: leaf.keyPem };
}

/** The IPs a serving certificate for `address` names: the node's IP and the bound one when specific (not 0.0.0.0 or ::). */
export function servingIps(address: string, nodeIPs: readonly string[]): string[] {
  const host = address.slice(0, address.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
  const bound = isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::' ? [host] : [];
  return [...new Set([...nodeIPs.filter((ip) => ip !== ''), ...bound])];
}

/** The certificate a kubelet's or proxy's port serves with (none: plain HTTP on loopback), and its renewal. */
export interface NodeServing {
  readonly tls: ServingTls | undefined;
  /** Renews the certificate while the process lives and hands each new one to `apply`; nothing for plain HTTP. */
  keepRenewed(apply: (tls: ServingTls) => void): { stop(): void };
}

/**
 * What a kubelet's or proxy's HTTP port at `address` serves with: nothing
 * (plain HTTP) on loopback, else the node's serving certificate. Throws a
 * JoinError naming the flag when it is beyond loopback and no certificate
 * can be had: such a port is never served in plaintext.
 */
export async function nodeServing(flag: string, address: string, opts: Omit<ServingOptions, 'ips'> & { nodeIPs: readonly string[] }): Promise<NodeServing> {
  if (!needsHttps(address, flag)) return { tls: undefined, keepRenewed: () => ({ stop: () => undefined }) };
  const full: ServingOptions = { ...opts, ips: servingIps(address, opts.nodeIPs) };
  let tls: ServingTls;
  try {
    tls = await loadOrIssueServing(full);
  } catch (err) {
    throw new JoinError(`${flag} ${address} is beyond loopback, so it is served over HTTPS only, and no serving certificate can be had: ${errorMessage(err)}`);
  }
  return { tls, keepRenewed: (apply) => keepServingRenewed(full, tls, apply) };
}
