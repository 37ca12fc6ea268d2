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

/** Why a server process stops: a signal (a clean stop, exit 0) or a part that died on its own (exit 1). */
export type StopReason = { readonly ok: true; readonly signal: NodeJS.Signals } | { readonly ok: false; readonly died: string };

/**
 * Waits for SIGINT/SIGTERM or for `died` (resolving with what died, as the
 * embedded etcd's exit), whichever comes first: k3s's "if a part dies, say
 * so and exit non-zero rather than limp on".
 */
export function untilStopped(shutdown: ShutdownSignals, died: Promise<string>): Promise<StopReason> {
  return Promise.race([shutdown.received.then((signal) => ({ ok: true, signal }) as const), died.then((m) => ({ ok: false, died: m }) as const)]);
}

/** Prints why the process stops: a log line for a signal, "NAME: what died; shutting down" on stderr otherwise. */
export function reportStop(reason: StopReason, name: string, log: (line: string) => void): void {
  if (reason.ok) log(`received ${reason.signal}, shutting down`);
  else console.error(`${name}: ${reason.died}; shutting down`);
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
