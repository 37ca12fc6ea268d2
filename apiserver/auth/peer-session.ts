// The HTTP/2 session (one client connection) a grpc-js server call came on.
// The authenticator remembers each connection's verified client certificate
// by it: grpc-js's public getAuthContext() calls TLSSocket.getPeerCertificate()
// on every call, which parses the certificate and hashes it three times
// (sha1/256/512 fingerprints): about 0.1-0.26 ms, on every API call.
//
// grpc-js does not expose the session, so it is found through its internals
// (ServerUnaryCallImpl.call -> ServerInterceptingCall.nextCall ... ->
// BaseServerInterceptingCall.stream.session); when their shape differs (a
// grpc-js upgrade) this answers undefined and callers take the public way.

const MAX_DEPTH = 8;

function field(o: unknown, name: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[name] : undefined;
}

/** The session of a grpc-js server call (unary or stream): the key of per-connection caches; undefined when not found. */
export function peerSession(call: object): object | undefined {
  let c: unknown = field(call, 'call');
  for (let depth = 0; depth < MAX_DEPTH && c !== undefined; depth++) {
    const stream = field(c, 'stream');
    if (stream !== undefined) {
      const session = field(stream, 'session');
      return typeof session === 'object' && session !== null && field(session, 'destroyed') !== true ? session : undefined;
    }
    c = field(c, 'nextCall');
  }
  return undefined;
}

/** Whether the session is TLS 1.3, which has no renegotiation: its peer certificate is the one of its handshake. */
export function isTls13(session: object): boolean {
  const socket = field(session, 'socket') as { getProtocol?: () => string | null } | undefined;
  return typeof socket?.getProtocol === 'function' && socket.getProtocol() === 'TLSv1.3';
}
