// Encoding of the write requests (Create/Update/UpdateStatus) with one
// reused protobuf writer. The generated serializers build a new writer per
// call, grow it by doubling from 64 bytes and copy the result twice; for a
// ~1 KiB object that is most of the client's encoding cost. Every
// <Kind>Create/UpdateRequest is {1 object, 2 options}, so the kind's codec
// writes field 1 and the options codec field 2.

import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { CreateOptions, UpdateOptions } from '../api/gen/tsk/v1/meta';
import { InterningReader } from '../api/interning-reader';
import type { BinaryCodec, MethodDef } from '../api/kinds';

/** Generated codecs take the writer to append to (the BinaryCodec type leaves it out). */
type AppendingCodec<T> = { encode(message: T, writer: BinaryWriter): BinaryWriter };

/** Shared by every encode: encodes are synchronous and finish() copies the bytes out and resets it. */
const writer = new BinaryWriter();

/** The bytes of a <Kind>CreateRequest or <Kind>UpdateRequest. */
export function encodeWriteRequest<T>(codec: BinaryCodec<T>, object: T, options: CreateOptions | UpdateOptions, update: boolean): Buffer {
  (codec as unknown as AppendingCodec<T>).encode(object, writer.uint32(10).fork()).join();
  const opts: AppendingCodec<CreateOptions | UpdateOptions> = update ? UpdateOptions : CreateOptions;
  opts.encode(options, writer.uint32(18).fork()).join();
  const u8 = writer.finish();
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** The method with an already-encoded request. */
export function preEncoded<Req, Res>(method: MethodDef<Req, Res>): MethodDef<Buffer, Res> {
  return { ...method, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b };
}

/**
 * The method with its answers decoded through an InterningReader: what lists
 * and watches return ends up in informer caches, where every object would
 * otherwise hold its own copy of the strings all of them share. (Generated
 * deserializers pass their argument on to decode(), which takes a reader.)
 */
export function interningResponses<Req, Res>(method: MethodDef<Req, Res>): MethodDef<Req, Res> {
  return { ...method, responseDeserialize: (b: Buffer) => method.responseDeserialize(new InterningReader(b) as unknown as Buffer) };
}
