// A real etcd for one test: temp data dir, free 127.0.0.1 ports, removed at
// the end of the test (also when it fails).

import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdProcess } from '../../util/etcd-process';

export interface TestEtcd {
  etcd: EtcdProcess;
  dir: string;
  /** Restarts etcd on the same ports and data (after kill() or stop()). */
  restart(): Promise<EtcdProcess>;
}

/** `t`: the test, or anything with its teardown (a CleanupStack for a test.before environment). */
export async function startTestEtcd(t: Pick<ExecutionContext, 'teardown'>): Promise<TestEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-etcd-'));
  const state: TestEtcd = {
    etcd: await EtcdProcess.start({ dataDir: dir }),
    dir,
    async restart() {
      const { clientPort, peerPort } = state.etcd;
      await state.etcd.stop();
      state.etcd = await EtcdProcess.start({ dataDir: dir, clientPort, peerPort });
      return state.etcd;
    },
  };
  t.teardown(async () => {
    await state.etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return state;
}
