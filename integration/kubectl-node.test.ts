// Debian's kubectl against tsk's REST API with a real node (a `tsk kubelet`
// in a network namespace of its own, integration/support/node-env.ts):
// `kubectl wait --for=condition=Ready` and `kubectl logs` with -f, --tail,
// --timestamps and --since, proxied from the node through its tunnel.

import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { kubeconfigServer, writeKubeconfig } from '../client/kubeconfig';
import { testTls } from './support/pki';
import { newNodeEnv, startNodeEnv, type NodeEnv } from './support/node-env';
import { runProcess, type Run } from './support/run';
import { eventually } from './support/wait';

type Env = NodeEnv & { kubectlConfig: string };
const test = anyTest as TestFn<Env>;

test.before(async (t) => {
  t.context = newNodeEnv('kc') as Env;
  await startNodeEnv(t.context, { rest: true });
  const admin = (await testTls()).admin as { caPem: string; certPem: string; keyPem: string };
  t.context.kubectlConfig = join(t.context.dir, 'kubectl.kubeconfig');
  await writeKubeconfig(t.context.kubectlConfig, { name: 'test', server: kubeconfigServer(t.context.api.restAddress!), ...admin });
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

function kubectlArgs(env: Env, args: readonly string[]): string[] {
  return ['--kubeconfig', env.kubectlConfig, '--cache-dir', join(env.dir, 'kube-cache'), ...args];
}

function kubectl(env: Env, args: readonly string[], stdin?: string): Promise<Run> {
  return runProcess('kubectl', kubectlArgs(env, args), {
    env: { HOME: env.dir, KUBECONFIG: '' },
    timeoutMs: 120_000,
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

test.serial('wait --for=condition=Ready, then logs with --tail, --timestamps, --since and -f', async (t) => {
  const env = t.context;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'talker' },
    spec: {
      nodeName: env.nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'main', image: env.image, command: ['sh', '-c', 'echo one; echo two; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done'] },
      ],
    },
  };
  const created = await kubectl(env, ['create', '--validate=false', '-f', '-'], JSON.stringify(pod));
  t.is(created.stdout.trim(), 'pod/talker created', created.stderr);
  const waited = await kubectl(env, ['wait', '--for=condition=Ready', 'pod/talker', '--timeout=90s']);
  t.is(waited.stdout.trim(), 'pod/talker condition met', waited.stderr);

  const nodes = (await kubectl(env, ['get', 'nodes'])).stdout.split('\n');
  t.regex(nodes[0] ?? '', /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
  t.regex(nodes[1] ?? '', new RegExp(`^${env.nodeName}\\s+Ready\\s+<none>\\s+\\S+\\s+\\S+$`));
  const wideNodes = (await kubectl(env, ['get', 'nodes', '-o', 'wide'])).stdout.split('\n');
  t.regex(wideNodes[0] ?? '', /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME$/);
  t.is((await kubectl(env, ['get', 'node', env.nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout, 'True');
  const table = await kubectl(env, ['get', 'pod', 'talker', '-o', 'wide']);
  t.regex(table.stdout.split('\n')[1] ?? '', new RegExp(`^talker\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+\\S+\\s+${env.nodeName}\\s+<none>\\s+<none>$`));

  await eventually(async () => /tick 5/.test((await kubectl(env, ['logs', 'talker'])).stdout), 30_000, 'five ticks');
  const all = (await kubectl(env, ['logs', 'talker'])).stdout;
  t.true(all.startsWith('one\ntwo\ntick 1\n'), all);
  const tail = (await kubectl(env, ['logs', 'talker', '--tail=1'])).stdout;
  t.regex(tail, /^tick \d+\n$/);
  const stamped = (await kubectl(env, ['logs', 'talker', '--timestamps', '--tail=2'])).stdout;
  t.regex(stamped, /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z tick \d+\n){2}$/);
  const recent = (await kubectl(env, ['logs', 'talker', '--since=2s'])).stdout;
  t.false(recent.includes('one\n'), 'the first lines are older than 2 s');
  t.regex(recent, /^(tick \d+\n){1,3}$/);
  const container = await kubectl(env, ['logs', 'talker', '-c', 'nope']);
  // kubectl checks the name itself, as against Kubernetes.
  t.is(container.stderr.trim(), 'error: container nope is not valid for pod talker');

  // -f: lines keep coming until kubectl is stopped.
  const follow = spawn('kubectl', kubectlArgs(env, ['logs', '-f', 'talker', '--tail=1']), {
    env: { ...process.env, HOME: env.dir, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => follow.kill('SIGKILL'));
  let out = '';
  follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => out.split('\n').filter((l) => l.startsWith('tick')).length >= 3, 20_000, 'three followed lines');
  follow.kill('SIGTERM');

  const deleted = await kubectl(env, ['delete', 'pod', 'talker', '--wait=true', '--timeout=60s']);
  t.is(deleted.stdout.trim(), 'pod "talker" deleted', deleted.stderr);
  t.is((await kubectl(env, ['get', 'pods', '-o', 'name'])).stdout, '');
});
