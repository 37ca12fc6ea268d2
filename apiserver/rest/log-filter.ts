// sinceSeconds/sinceTime of pods/log, applied on the API server: the node is
// asked for timestamped lines (kubectl logs --timestamps' form, an RFC 3339
// time and a space before each line), lines older than the bound are
// dropped, and the timestamps are taken off again unless the client asked
// for them. Chunks may split lines anywhere, so a partial line is held back
// until its end arrives. Pure.

export class SinceFilter {
  private pending = '';

  constructor(
    /** Milliseconds since the epoch: lines stamped earlier are dropped. */
    private readonly sinceMs: number,
    private readonly keepTimestamps: boolean,
  ) {}

  /** The complete lines of `chunk` (and of what was held back) that pass. */
  push(chunk: Buffer): Buffer {
    const text = this.pending + chunk.toString('utf8');
    const cut = text.lastIndexOf('\n') + 1;
    this.pending = text.slice(cut);
    return this.lines(text.slice(0, cut));
  }

  /** What was held back, at the end of the stream. */
  flush(): Buffer {
    const rest = this.pending;
    this.pending = '';
    return this.lines(rest);
  }

  private lines(text: string): Buffer {
    if (text === '') return Buffer.alloc(0);
    const out: string[] = [];
    for (const line of text.split(/(?<=\n)/)) {
      const space = line.indexOf(' ');
      const stamp = Date.parse(space > 0 ? line.slice(0, space) : '');
      // A line without a readable stamp is kept: better shown than lost.
      if (!Number.isNaN(stamp) && stamp < this.sinceMs) continue;
      out.push(this.keepTimestamps || Number.isNaN(stamp) ? line : line.slice(space + 1));
    }
    return Buffer.from(out.join(''));
  }
}
