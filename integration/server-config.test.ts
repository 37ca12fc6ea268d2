// `tsk server` and the client config: each server writes its own named
// context; a second server with the same --cluster-name replaces it and says
// so; tsctl reaches each cluster through its context; the in-process
// scheduler acts under its own certificate.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminConfigPath, readClientConfig } from '../client/config';
import { startTskServer } from './support/tsk-server';
import { runTsctl, type Run } from './support/run';

function tsctl(config: string, args: string[], stdin?: string): Promise<Run> {
  return runTsctl(args, { env: { TSK_CONFIG: config, TSCTL_SERVER: '' }, timeoutMs: 30_000, ...(stdin === undefined ? {} : { stdin }) });
}

test('two servers on one machine: named contexts, a replaced one said loudly, tsctl picks by --context; the scheduler writes as itself', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-server-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'home', '.tsk', 'config');

  const a = await startTskServer(t, join(dir, 'a'), config, ['--cluster-name', 'alpha']);
  const b = await startTskServer(t, join(dir, 'b'), config, ['--cluster-name', 'beta']);
  const contexts = await readClientConfig(config);
  t.is(contexts?.currentContext, 'beta', 'the last server started is current');
  t.deepEqual(
    contexts?.contexts.map((c) => c.name),
    ['alpha', 'beta'],
  );
  const [alpha, beta] = contexts?.contexts ?? [];
  t.not(alpha?.caPem, beta?.caPem, 'each cluster its own CA');

  // tsctl: the current context, --context, and a --server of the other context uses that context's credentials.
  t.is((await tsctl(config, ['get', 'ns', 'default', '-o', 'name'])).stdout, 'namespace/default\n');
  const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'only-in-alpha' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  t.is((await tsctl(config, ['apply', '-f', '-', '--context', 'alpha'], pod)).stdout, 'pod/only-in-alpha created\n');
  t.is((await tsctl(config, ['get', 'pods', '-o', 'name', '--server', alpha?.server ?? ''])).stdout, 'pod/only-in-alpha\n');
  t.is((await tsctl(config, ['get', 'pods', '-o', 'name'])).stdout, '', 'beta has no such pod');

  // The scheduler of alpha reports, as itself, that the pod fits nowhere.
  let events = '';
  const deadline = Date.now() + 20_000;
  while (!/FailedScheduling/.test(events) && Date.now() < deadline) {
    events = (await tsctl(config, ['get', 'events', '--context', 'alpha'])).stdout;
    await new Promise((r) => setTimeout(r, 300));
  }
  t.regex(events, /FailedScheduling\s+pod\/only-in-alpha/);

  // A third server named like the first replaces its context, and says so.
  const c = await startTskServer(t, join(dir, 'c'), config, ['--cluster-name', 'alpha']);
  t.regex(c.output(), /WARNING: .*config: context "alpha" belonged to another cluster \(another CA\) and now points at this one/);
  t.notRegex(a.output() + b.output(), /WARNING/);
  // The first cluster stays reachable through its own admin.conf.
  const viaAdminConf = await tsctl(config, ['get', 'pods', '-o', 'name', '--kubeconfig', adminConfigPath(join(dir, 'a'))]);
  t.is(viaAdminConf.stdout, 'pod/only-in-alpha\n', viaAdminConf.stderr);
});
