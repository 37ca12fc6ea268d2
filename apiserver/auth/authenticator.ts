// Who a call comes from, as kube-apiserver's union of authenticators: the TLS
// client certificate (verified here against the cluster CA: CN = user,
// O = groups), else an `authorization: Bearer TOKEN` header looked up in the
// static token file. No credential at all is anonymous (undefined); a
// credential that fails is an UnauthorizedError with one line saying why.
//
// The TLS layer requests a client certificate but does not require it (bearer
// tokens and the bootstrap call come without one). It verifies what it gets
// against the cluster CA, and grpc-js reports a peer certificate only when
// that succeeded; a certificate that failed makes the call anonymous. The
// checks here repeat the verification (so this class is safe whatever the
// transport reports) and catch a certificate that expired after the
// handshake of a long-lived connection.

import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { UnauthorizedError } from '../../api/errors';
import { GROUP_AUTHENTICATED, type Authenticator, type CallCredentials, type UserInfo } from './user';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
/** Verified certificates remembered by fingerprint, so a call costs a map lookup, not an ECDSA verify. */
const CACHE_LIMIT = 1024;

export interface AuthenticatorOptions {
  /** PEM of the CA client certificates must chain to (the cluster CA); absent on a plaintext server, which has no peer certificates. */
  readonly clientCaPem?: string;
  /** --token-auth-file's tokens. */
  readonly tokens?: ReadonlyMap<string, UserInfo>;
  readonly now?: () => Date;
}

interface Verified {
  readonly user: UserInfo;
  readonly notBefore: number;
  readonly notAfter: number;
}

export class RequestAuthenticator implements Authenticator {
  private readonly ca: X509Certificate | undefined;
  private readonly tokens: ReadonlyMap<string, UserInfo>;
  private readonly now: () => Date;
  private readonly verified = new Map<string, Verified>();

  constructor(opts: AuthenticatorOptions) {
    this.ca = opts.clientCaPem === undefined ? undefined : new X509Certificate(opts.clientCaPem);
    this.tokens = opts.tokens ?? new Map();
    this.now = opts.now ?? (() => new Date());
  }

  authenticate(call: CallCredentials): UserInfo | undefined {
    const peer = call.getAuthContext()?.sslPeerCertificate;
    if (peer !== undefined) return this.fromCertificate(peer);
    const header = call.metadata.get('authorization')[0];
    if (header !== undefined) return this.fromBearer(typeof header === 'string' ? header : header.toString('utf8'));
    return undefined;
  }

  private fromCertificate(peer: PeerCertificate): UserInfo {
    const key = peer.fingerprint256;
    let entry = this.verified.get(key);
    if (entry === undefined) {
      entry = this.verify(peer);
      if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
      this.verified.set(key, entry);
    }
    const now = this.now();
    const t = now.getTime();
    if (t < entry.notBefore || t > entry.notAfter) {
      const bound = t < entry.notBefore ? `before ${new Date(entry.notBefore).toISOString()}` : `after ${new Date(entry.notAfter).toISOString()}`;
      throw new UnauthorizedError(`x509: certificate has expired or is not yet valid: current time ${now.toISOString()} is ${bound}`);
    }
    return entry.user;
  }

  /** Go's crypto/x509 words, as kube-apiserver reports them. */
  private verify(peer: PeerCertificate): Verified {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(peer.raw);
    } catch {
      throw new UnauthorizedError('x509: malformed certificate');
    }
    if (this.ca === undefined || !cert.checkIssued(this.ca) || !cert.verify(this.ca.publicKey)) {
      throw new UnauthorizedError('x509: certificate signed by unknown authority');
    }
    if (cert.keyUsage !== undefined && !cert.keyUsage.includes(CLIENT_AUTH_OID)) {
      throw new UnauthorizedError('x509: certificate specifies an incompatible key usage');
    }
    const name = first(peer.subject?.CN);
    if (name === undefined || name === '') throw new UnauthorizedError('x509: certificate has no common name (the user name)');
    const groups = all(peer.subject?.O).filter((g) => g !== GROUP_AUTHENTICATED);
    return {
      user: { name, groups: [...groups, GROUP_AUTHENTICATED] },
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
    };
  }

  private fromBearer(header: string): UserInfo {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) throw new UnauthorizedError('invalid authorization header: expected "Bearer TOKEN"');
    const user = this.tokens.get(m[1] ?? '');
    if (user === undefined) throw new UnauthorizedError('invalid bearer token');
    return user;
  }
}

/** Node gives a repeated subject attribute as an array, a single one as a string. */
function all(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function first(v: string | string[] | undefined): string | undefined {
  return all(v)[0];
}
