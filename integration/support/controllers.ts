// Running controllers in-process for an integration test, without the
// controller manager: a ControllerContext over a real API server (own
// clientset, shared informers, real clock), started the way the manager
// starts controllers (informers after every controller asked for its own,
// run() once they have synced), and stopped in t.teardown.

import type { ExecutionContext } from 'ava';
import { Registry } from 'prom-client';
import { ApiEventRecorder, Clientset, SharedInformerFactory, realClock, trimForCache } from '../../client';
import type { Controller, ControllerContext } from '../../controllers/controller';
import { testTls } from './pki';

export interface RunningControllers {
  readonly clientset: Clientset;
  readonly ctx: ControllerContext;
  readonly controllers: Controller[];
  /** Stops the controllers and informers (idempotent); teardown does it too. */
  stop(): Promise<void>;
}

/** Builds controllers with `build` on a fresh context, starts informers, waits for sync, runs them with `workers`. */
export async function runControllers(
  t: ExecutionContext,
  address: string,
  build: (ctx: ControllerContext) => Controller[],
  workers = 2,
): Promise<RunningControllers> {
  const clientset = new Clientset(address, (await testTls()).admin);
  // As tsk server's and tsk controller-manager's: cached objects trimmed.
  const informers = new SharedInformerFactory(clientset, { onError: () => undefined, transform: trimForCache });
  const recorders: ApiEventRecorder[] = [];
  const ctx: ControllerContext = {
    clientset,
    informers,
    recorder: (component) => {
      const r = new ApiEventRecorder(clientset.events, { component }, { onError: () => undefined });
      recorders.push(r);
      return r;
    },
    registry: new Registry(),
    clock: realClock,
    log: (line) => {
      // t.log after the test ended throws; a late line is dropped.
      try {
        t.log(line);
      } catch {
        /* the test is over */
      }
    },
  };
  const controllers = build(ctx);
  informers.start();
  await informers.waitForSync();
  for (const c of controllers) c.run(workers);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      await informers.stop();
      await Promise.all(recorders.map((r) => r.stop()));
      clientset.close();
    })());
  t.teardown(stop);
  return { clientset, ctx, controllers, stop };
}
