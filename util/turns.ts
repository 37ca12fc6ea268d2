// Work that takes turns with the event loop: jobs run one at a time, each in
// its own turn of the loop, so sockets and timers are served between two of
// them. Thousands of hollow nodes' proxies in one process, woken by the same
// Endpoints change, otherwise ran every sync in one turn: seconds without
// reading a socket, heartbeats late and keepalive pings unanswered.

export class Turns {
  private readonly waiting: (() => void)[] = [];
  private running = false;

  /** Runs `job` after the jobs queued before it, in a later turn of the event loop; settles as `job` does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push(() => {
        job()
          .then(resolve, reject)
          .finally(() => this.next());
      });
      if (!this.running) {
        this.running = true;
        this.next();
      }
    });
  }

  /** Jobs queued and not yet started. */
  get pending(): number {
    return this.waiting.length;
  }

  private next(): void {
    const job = this.waiting.shift();
    if (!job) {
      this.running = false;
      return;
    }
    // setImmediate: after the I/O that arrived meanwhile, not before it as a microtask would be.
    setImmediate(job);
  }
}
