// A kubeconfig (clientcmd's v1 Config) for kubectl and Kubernetes' client
// libraries: one cluster, one user with a client certificate, one context
// made current. The API server writes the admin's (--write-kubeconfig); the
// lab writes one pointing at its relay.

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { dump } from 'js-yaml';

export interface KubeconfigEntry {
  /** The name of the cluster and the context. */
  readonly name: string;
  /** https://HOST:PORT of the REST API. */
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The user entry's name; default "admin". */
  readonly user?: string;
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

export function kubeconfigYaml(e: KubeconfigEntry): string {
  const user = e.user ?? 'admin';
  return dump(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: e.name, cluster: { server: e.server, 'certificate-authority-data': b64(e.caPem) } }],
      users: [{ name: user, user: { 'client-certificate-data': b64(e.certPem), 'client-key-data': b64(e.keyPem) } }],
      contexts: [{ name: e.name, context: { cluster: e.name, user } }],
      'current-context': e.name,
      preferences: {},
    },
    { lineWidth: -1 },
  );
}

/** https://HOST:PORT for a listen address: a wildcard host is reached on loopback. */
export function kubeconfigServer(listenAddress: string): string {
  const m = /^(.*):(\d+)$/.exec(listenAddress);
  if (!m) throw new Error(`invariant: "${listenAddress}" is not HOST:PORT`);
  const host = m[1] === '0.0.0.0' || m[1] === '' ? '127.0.0.1' : m[1] === '[::]' ? '[::1]' : m[1]!;
  return `https://${host}:${m[2]!}`;
}

/** Writes the file with mode 0600 (it holds a private key), also over an existing file. */
export async function writeKubeconfig(path: string, e: KubeconfigEntry): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, kubeconfigYaml(e), { mode: 0o600 });
  await chmod(path, 0o600);
}
