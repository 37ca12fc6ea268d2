// A cluster PKI for integration tests, made once per test process (in
// memory, no files): the API server serves with it and clients use its
// admin credential, as `tsk server` and ~/.tsk/config do.

import { createCA, issue, type CertKey } from '../../util/pki';
import type { ServingTls } from '../../apiserver/grpc/tls';
import type { ClientCredentials } from '../../client/connection';
import { writeClientConfig } from '../../client/config';

export interface TestTls {
  readonly ca: CertKey;
  /** For startApiServer's `tls`. */
  readonly serving: ServingTls;
  /** CN=admin, O=system:masters. */
  readonly admin: ClientCredentials;
  /** A client certificate of the CA for any user. */
  credentialsFor(user: string, groups?: string[]): Promise<ClientCredentials>;
}

let made: Promise<TestTls> | undefined;

export function testTls(): Promise<TestTls> {
  made ??= makeTestTls();
  return made;
}

async function makeTestTls(): Promise<TestTls> {
  const ca = await createCA('tsk-test-ca');
  const server = await issue(ca, { commonName: 'kube-apiserver' }, { usage: 'server', sans: { dns: ['localhost'], ips: ['127.0.0.1', '::1'] } });
  const credentialsFor = async (user: string, groups?: string[]): Promise<ClientCredentials> => {
    const c = await issue(ca, { commonName: user, organizations: groups }, { usage: 'client' });
    return { caPem: ca.certPem, certPem: c.certPem, keyPem: c.keyPem };
  };
  return { ca, serving: { caPem: ca.certPem, server }, admin: await credentialsFor('admin', ['system:masters']), credentialsFor };
}

/**
 * Writes a client config holding the admin context for `server` (mode 0600)
 * and returns its path, for the programs a test runs: pass it as
 * `--kubeconfig`, and their `--server` then uses its credentials.
 */
export async function writeTestKubeconfig(path: string, server: string): Promise<string> {
  const tls = await testTls();
  await writeClientConfig({ currentContext: 'test', contexts: [{ name: 'test', server, ...tls.admin }] }, path);
  return path;
}
