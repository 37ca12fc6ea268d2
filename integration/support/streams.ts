// The API's streaming calls as a test makes them with a raw gRPC client:
// how a stream call ends, and the node tunnel's hello.

import type * as grpc from '@grpc/grpc-js';
import { ApiError, fromServiceError } from '../../api/errors';
import { NodeTunnelService, type TunnelMessage } from '../../api/gen/tsk/v1/stream';

/** The status a stream call ends with (undefined: it ended OK). */
export function streamEnd(call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>): Promise<ApiError | undefined> {
  return new Promise((resolve) => {
    call.on('data', () => undefined);
    call.on('error', (err: grpc.ServiceError) => resolve(fromServiceError(err)));
    call.on('end', () => resolve(undefined));
  });
}

/** Opens the tunnel of `nodeName`; `first` is the server's answer to the hello or the error it ends with. */
export function openTunnel(
  client: grpc.Client,
  nodeName: string,
): { call: grpc.ClientDuplexStream<TunnelMessage, TunnelMessage>; first: Promise<TunnelMessage | ApiError> } {
  const m = NodeTunnelService.connect;
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as grpc.ClientDuplexStream<TunnelMessage, TunnelMessage>;
  const first = new Promise<TunnelMessage | ApiError>((resolve) => {
    call.once('data', (msg: TunnelMessage) => resolve(msg));
    call.on('error', (err: grpc.ServiceError) => resolve(fromServiceError(err)));
  });
  call.write({ streamId: 0, hello: { nodeName } });
  return { call, first };
}
