// A watch as an async iterable of typed events. It wraps a gRPC server
// stream: events are yielded strictly in the order the server sent them; the
// stream is paused while the consumer lags so memory stays bounded.

import type { ClientReadableStream } from '@grpc/grpc-js';
import type { ApiError } from '../api/errors';
import type { ApiObject } from '../api/kinds';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T> {
  readonly type: WatchEventType;
  /** For BOOKMARK only metadata.resourceVersion is meaningful. */
  readonly object: T;
}

/**
 * An open watch. Iterate it once. Iteration ends normally when the server
 * closes the stream or after cancel(); it throws an ApiError when the stream
 * fails (ExpiredError when the requested resourceVersion was compacted).
 */
export interface Watch<T> extends AsyncIterable<WatchEvent<T>> {
  /** Stops the watch; a pending or later next() ends the iteration. Idempotent. */
  cancel(): void;
}

const EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);
/** Pause the stream when this many events wait for the consumer. */
const HIGH_WATER = 256;

type Waiter<T> = { resolve: (r: IteratorResult<WatchEvent<T>>) => void; reject: (e: unknown) => void };

/** Adapts a grpc-js stream of {type, object} messages. */
export class StreamWatch<T extends ApiObject> implements Watch<T> {
  private readonly buffer: WatchEvent<T>[] = [];
  private waiter: Waiter<T> | undefined;
  private ended = false;
  private failure: ApiError | undefined;
  private cancelled = false;
  private iterated = false;

  constructor(
    private readonly stream: ClientReadableStream<{ type?: string | undefined; object?: T | undefined }>,
    toError: (err: unknown) => ApiError,
  ) {
    stream.on('data', (msg: { type?: string | undefined; object?: T | undefined }) => {
      const type = msg.type ?? '';
      if (!EVENT_TYPES.has(type)) {
        this.fail(toError(new Error(`watch sent an event of unknown type "${type}"`)));
        return;
      }
      this.push({ type: type as WatchEventType, object: msg.object ?? ({} as T) });
    });
    stream.on('error', (err: unknown) => {
      if (this.cancelled) this.finish();
      else this.fail(toError(err));
    });
    stream.on('end', () => this.finish());
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.buffer.length = 0;
    this.stream.cancel();
    this.finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.iterated) throw new Error('invariant: a watch can be iterated only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.cancel();
        return { done: true, value: undefined };
      },
    };
  }

  private next(): Promise<IteratorResult<WatchEvent<T>>> {
    const ev = this.buffer.shift();
    if (ev) {
      if (this.buffer.length < HIGH_WATER / 2 && this.stream.isPaused()) this.stream.resume();
      return Promise.resolve({ done: false, value: ev });
    }
    if (this.failure) {
      const f = this.failure;
      return Promise.reject(f);
    }
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private push(ev: WatchEvent<T>): void {
    if (this.cancelled || this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve({ done: false, value: ev });
      return;
    }
    this.buffer.push(ev);
    if (this.buffer.length >= HIGH_WATER) this.stream.pause();
  }

  private fail(err: ApiError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    const w = this.waiter;
    // Buffered events are still delivered first; the error comes after them.
    if (w && this.buffer.length === 0) {
      this.waiter = undefined;
      w.reject(err);
    }
  }

  private finish(): void {
    if (this.ended) {
      // A cancel after a failure: the consumer asked to stop, so end quietly.
      if (this.cancelled) this.failure = undefined;
    }
    this.ended = true;
    const w = this.waiter;
    if (w && this.buffer.length === 0) {
      this.waiter = undefined;
      w.resolve({ done: true, value: undefined });
    }
  }
}
