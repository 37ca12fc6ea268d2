// The node tunnel's framing, shared by its two ends (the API server's
// tunnel registry and the kubelet's tunnel client): sessions multiplexed by
// stream id with credit flow control. Layered on api/ only.

export { Credit, TUNNEL_CHUNK_BYTES, TUNNEL_WINDOW_BYTES, TunnelMux, chunks, dataBytes, type SessionHandler } from './framing';
