// SIGINT/SIGTERM as a promise and an AbortSignal: every long-running tsk
// command stops cleanly on either, also while it is still starting up.

export interface ShutdownSignals {
  /** Aborted on the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Resolves with the signal's name. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the handlers (a second signal then kills the process as usual). */
  dispose(): void;
}

export function onShutdownSignals(): ShutdownSignals {
  const controller = new AbortController();
  let resolve: (s: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (sig: NodeJS.Signals): void => {
    controller.abort();
    resolve(sig);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    signal: controller.signal,
    received,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
