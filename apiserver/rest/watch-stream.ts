// A REST watch's output: Kubernetes' chunked stream of JSON lines,
// {"type":"ADDED","object":{...}}, one per event; a failure after the start
// is an ERROR event carrying the Status (a 410 for an expired
// resourceVersion) and the end of the stream.

import type { ServerResponse } from 'node:http';
import type { JsonObject } from '../../api/codec';
import type { ApiError } from '../../api/errors';
import type { ApiObject } from '../../api/kinds';
import type { WatchOutput } from '../grpc/watch';
import type { WatchEventType } from '../storage/wire';
import { statusOf } from './status';

export interface JsonWatchDeps {
  /** An event's object as sent (the object's JSON, or a Table row). */
  encode(obj: ApiObject): JsonObject;
  /** A BOOKMARK's object: only metadata.resourceVersion set. */
  bookmark(revision: number): JsonObject;
}

export class JsonWatchOutput implements WatchOutput {
  private queued = 0;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly deps: JsonWatchDeps,
  ) {}

  private write(type: WatchEventType | 'ERROR', object: JsonObject): boolean {
    if (this.ended) return false;
    this.start();
    this.queued++;
    return this.res.write(`${JSON.stringify({ type, object })}\n`, () => this.queued--);
  }

  /** The 200 and the headers, once: a watch's answer is the event stream. */
  private start(): void {
    if (this.res.headersSent) return;
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    this.res.flushHeaders();
  }

  send(type: WatchEventType, obj: { obj: ApiObject }): boolean {
    return this.write(type, this.deps.encode(obj.obj));
  }

  bookmark(revision: number): void {
    this.write('BOOKMARK', this.deps.bookmark(revision));
  }

  get pending(): number {
    return this.queued;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  fail(err: ApiError): void {
    this.write('ERROR', statusOf(err));
    this.end();
  }

  /** Ends the stream (timeoutSeconds passed, or the server stops): the client watches again. */
  end(): void {
    if (this.ended) return;
    this.start();
    this.ended = true;
    this.res.end();
  }

  onClose(f: () => void): void {
    this.res.on('close', f);
  }

  registered(): void {
    this.start();
  }
}
