// The controller manager in-process for integration tests, against a
// control plane from startControlPlane: its own clientset and shared
// informers, stopped in t.teardown (also when the test fails).

import type { ExecutionContext } from 'ava';
import type { Pod, ReplicationController } from '../../api/gen/tsk/v1/core';
import { Clientset, SharedInformerFactory, trimForCache } from '../../client';
import { startControllerManager, type RunningControllerManager } from '../../controllers/manager';
import { testTls } from './pki';

export interface TestManager {
  readonly manager: RunningControllerManager;
  /** What the controllers logged (failed syncs show up here). */
  readonly log: string[];
  stop(): Promise<void>;
}

export async function startTestManager(t: ExecutionContext, address: string, controllers?: string[]): Promise<TestManager> {
  const clientset = new Clientset(address, (await testTls()).admin);
  // As tsk server's and tsk controller-manager's: cached objects trimmed.
  const informers = new SharedInformerFactory(clientset, { onError: () => undefined, transform: trimForCache });
  const log: string[] = [];
  const manager = await startControllerManager({ clientset, informers, ...(controllers ? { controllers } : {}), log: (line) => log.push(line) });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await manager.stop();
      clientset.close();
    })());
  t.teardown(stop);
  return { manager, log, stop };
}

/** An RC of `replicas` busybox pods labelled app=<name>, selected by that label. */
export function rcFixture(name: string, replicas: number): ReplicationController {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { app: name },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '3600'] }] } },
    },
  };
}

/** The pods labelled app=<app> in "default". */
export async function podsOfApp(cs: Clientset, app: string): Promise<Pod[]> {
  return (await cs.pods.list({ namespace: 'default', labelSelector: `app=${app}` })).items ?? [];
}
