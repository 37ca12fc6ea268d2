// Cleanups of a test.before environment. ava's t.teardown belongs to one
// test; what a whole file shares (an API server, a registry, a kubelet) is
// pushed here as it is made and undone in test.after.always, last first.

import { errorMessage } from '../../util/errors';

export type Cleanup = () => Promise<void> | void;

export class CleanupStack {
  private readonly fns: Cleanup[] = [];

  push(fn: Cleanup): void {
    this.fns.push(fn);
  }

  /** The same as push: lets the stack stand for a test's `t` in helpers that only need its teardown (startTestEtcd). */
  teardown(fn: Cleanup): void {
    this.push(fn);
  }

  /** Runs every cleanup once, last first, also after one fails; then throws "cleanup: ..." naming every failure. */
  async run(): Promise<void> {
    const errors: string[] = [];
    for (let fn = this.fns.pop(); fn !== undefined; fn = this.fns.pop()) {
      try {
        await fn();
      } catch (err) {
        errors.push(errorMessage(err));
      }
    }
    if (errors.length > 0) throw new Error(`cleanup: ${errors.join('; ')}`);
  }
}
