// An HTTPS request's credentials in the shape the authenticator reads
// (auth/user.ts CallCredentials, shared with gRPC): the TLS peer certificate
// when it verified against the cluster CA, and the Authorization header. The
// authenticator then decides exactly as for a gRPC call.

import { Metadata } from '@grpc/grpc-js';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { CallCredentials } from '../auth/user';

/**
 * Each connection's verified peer certificate, read once: a keep-alive
 * connection carries many requests, and getPeerCertificate() builds a new
 * object each time (TLS 1.3 has no renegotiation: the peer cannot change).
 */
const peerCertificates = new WeakMap<TLSSocket, PeerCertificate | undefined>();

function peerCertificateOf(socket: TLSSocket): PeerCertificate | undefined {
  if (peerCertificates.has(socket)) return peerCertificates.get(socket);
  // As grpc-js: a peer certificate only when the handshake verified it (a certificate of another CA makes the call anonymous).
  const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
  const peer = cert !== undefined && Object.keys(cert).length > 0 ? cert : undefined;
  peerCertificates.set(socket, peer);
  return peer;
}

export function requestCredentials(req: IncomingMessage): CallCredentials {
  const socket = req.socket as TLSSocket;
  const metadata = new Metadata();
  const authorization = req.headers.authorization;
  if (authorization !== undefined) metadata.set('authorization', authorization);
  const peerCertificate = peerCertificateOf(socket);
  return {
    getAuthContext: () => ({ transportSecurityType: 'ssl', sslPeerCertificate: peerCertificate }),
    metadata,
    getPeer: () => `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`,
  };
}
