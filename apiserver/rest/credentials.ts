// An HTTPS request's credentials in the shape the authenticator reads
// (auth/user.ts CallCredentials, shared with gRPC): the TLS peer certificate
// when it verified against the cluster CA, and the Authorization header. The
// authenticator then decides exactly as for a gRPC call.

import { Metadata } from '@grpc/grpc-js';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { CallCredentials } from '../auth/user';

export function requestCredentials(req: IncomingMessage): CallCredentials {
  const socket = req.socket as TLSSocket;
  const metadata = new Metadata();
  const authorization = req.headers.authorization;
  if (authorization !== undefined) metadata.set('authorization', authorization);
  // As grpc-js: a peer certificate only when the handshake verified it (a certificate of another CA makes the call anonymous).
  const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
  const peerCertificate = cert !== undefined && Object.keys(cert).length > 0 ? cert : undefined;
  return {
    getAuthContext: () => ({ transportSecurityType: 'ssl', sslPeerCertificate: peerCertificate }),
    metadata,
    getPeer: () => `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`,
  };
}
