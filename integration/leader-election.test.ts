// Two `tsk server`s on one external etcd, as an HA control plane: both serve
// the API, exactly one schedules (it holds the kube-scheduler Lease, its
// leader_election_master_status is 1 and the other's 0); after the leader is
// killed (SIGKILL, no release) the other takes over within lease duration +
// retry period and binds new pods; a clean stop releases the Lease, so the
// hand-over is immediate. No node processes: the Node is an API object, which
// is all the scheduler reads.

import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lease, Pod } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client';
import { adminConfigPath, resolveClient } from '../client/config';
import { startTestEtcd } from './support/etcd';
import { startTskServer, type TskServer } from './support/tsk-server';
import { eventually } from './support/wait';
import { ConflictError } from '../api/errors';

const LEASE_S = 4;
const RETRY_S = 1;
const ELECTION_FLAGS = [`--leader-elect-lease-duration=${LEASE_S}s`, '--leader-elect-renew-deadline=3s', `--leader-elect-retry-period=${RETRY_S}s`];

interface Member {
  readonly server: TskServer;
  readonly client: Clientset;
  /** HOSTNAME_UUID of its scheduler's candidate. */
  readonly schedulerIdentity: string;
  readonly httpAddress: string;
}

async function member(t: Parameters<typeof startTskServer>[0], dir: string, name: string, etcd: string): Promise<Member> {
  const dataDir = join(dir, name);
  const server = await startTskServer(t, dataDir, join(dir, 'config'), [
    '--etcd-servers',
    etcd,
    '--write-config=false',
    // No kubelet posts heartbeats for the test's Node: keep the node lifecycle from tainting it.
    '--disable',
    'nodelifecycle',
    ...ELECTION_FLAGS,
  ]);
  const out = server.output();
  const schedulerIdentity = /scheduler: leader election for kube-system\/kube-scheduler as (\S+)/.exec(out)?.[1] ?? '';
  const httpAddress = /HTTP on ([^\s,]+)[ ,]/.exec(out)?.[1] ?? '';
  const target = await resolveClient({ kubeconfig: adminConfigPath(dataDir), env: {} });
  const client = new Clientset(target.server, target.credentials);
  t.teardown(async () => client.close());
  return { server, client, schedulerIdentity, httpAddress };
}

async function masterStatus(m: Member, lease: string): Promise<string> {
  const text = await (await fetch(`http://${m.httpAddress}/metrics`)).text();
  return new RegExp(`^leader_election_master_status\\{name="${lease}"\\} (\\d)`, 'm').exec(text)?.[1] ?? 'absent';
}

async function holder(c: Clientset, name: string): Promise<Lease> {
  return c.leases.get(name, 'kube-system');
}

function pod(name: string): Pod {
  return { metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

async function boundNode(c: Clientset, name: string): Promise<string> {
  return (await c.pods.get(name, 'default')).spec?.nodeName ?? '';
}

test('two servers on one etcd: one scheduler binds; a killed leader is replaced within lease duration + retry period; a clean stop hands over at once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsk-leader-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const etcd = await startTestEtcd(t);
  const url = etcd.etcd.clientUrl;

  const a = await member(t, dir, 'a', url);
  await eventually(
    async () => (await holder(a.client, 'kube-scheduler').catch(() => undefined))?.spec?.holderIdentity === a.schedulerIdentity,
    20_000,
    'a to lead',
  );
  const b = await member(t, dir, 'b', url);
  t.not(a.schedulerIdentity, b.schedulerIdentity);
  t.regex(a.schedulerIdentity, /^[^_]+_[0-9a-f-]{36}$/, 'HOSTNAME_UUID');

  // The Node the scheduler binds to: an API object only.
  await a.client.nodes.create({ metadata: { name: 'n1' } });
  // The leader's controllers (node IPAM, node lifecycle) write the new Node too: read again on a conflict.
  await eventually(
    async () => {
      const node = await a.client.nodes.get('n1');
      try {
        await a.client.nodes.updateStatus({
          ...node,
          status: {
            capacity: { cpu: '4', memory: '8Gi', pods: '110' },
            allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
            conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
          },
        });
        return true;
      } catch (err) {
        if (err instanceof ConflictError) return false;
        throw err;
      }
    },
    10_000,
    'the Node to take its Ready status',
  );

  await a.client.pods.create(pod('p1'));
  await eventually(async () => (await boundNode(a.client, 'p1')) === 'n1', 20_000, 'p1 to be bound');
  const lease = await holder(b.client, 'kube-scheduler');
  t.is(lease.apiVersion, 'coordination.k8s.io/v1');
  t.is(lease.spec?.holderIdentity, a.schedulerIdentity, 'the first server leads');
  t.is(lease.spec?.leaseDurationSeconds, LEASE_S);
  t.is(await masterStatus(a, 'kube-scheduler'), '1');
  t.is(await masterStatus(b, 'kube-scheduler'), '0');
  t.is(await masterStatus(a, 'kube-controller-manager'), '1');
  t.is(await masterStatus(b, 'kube-controller-manager'), '0');
  t.notRegex(b.server.output(), /successfully acquired lease kube-system\/kube-scheduler/, 'the standby never led');
  const events = await a.client.events.list({ namespace: 'kube-system', fieldSelector: 'involvedObject.kind=Lease,involvedObject.name=kube-scheduler' });
  t.true(
    (events.items ?? []).some((e) => e.reason === 'LeaderElection' && e.message === `${a.schedulerIdentity} became leader`),
    'a LeaderElection event on the Lease',
  );

  // kill -9: no release; b waits out the lease on its own clock, then binds.
  a.server.child.kill('SIGKILL');
  const killedAt = Date.now();
  await b.client.pods.create(pod('p2'));
  await eventually(async () => (await holder(b.client, 'kube-scheduler')).spec?.holderIdentity === b.schedulerIdentity, 30_000, 'b to take over');
  const tookOver = (Date.now() - killedAt) / 1000;
  // Lease duration + retry period (+ jitter of up to 1.2 retry periods, and slack for a loaded machine).
  t.true(tookOver <= LEASE_S + RETRY_S + 1.2 * RETRY_S + 3, `took over after ${tookOver} s`);
  await eventually(async () => (await boundNode(b.client, 'p2')) === 'n1', 20_000, 'p2 to be bound by the new leader');
  const after = await holder(b.client, 'kube-scheduler');
  t.true((after.spec?.leaseTransitions ?? 0) >= 1, 'a change of holder counts a transition');
  t.is(await masterStatus(b, 'kube-scheduler'), '1');
  await eventually(async () => (await masterStatus(b, 'kube-controller-manager')) === '1', 30_000, 'b to run the controllers');

  // A third server stands by; b stops cleanly and releases: c takes over without waiting out the lease.
  const c = await member(t, dir, 'c', url);
  t.is(await masterStatus(c, 'kube-scheduler'), '0');
  const stoppedAt = Date.now();
  await b.server.stop();
  t.regex(b.server.output(), /released lease kube-system\/kube-scheduler/);
  await eventually(async () => (await holder(c.client, 'kube-scheduler')).spec?.holderIdentity === c.schedulerIdentity, 30_000, 'c to take over');
  const handOver = (Date.now() - stoppedAt) / 1000;
  t.true(handOver < LEASE_S + RETRY_S, `a released lease is taken at the next retry, not after the lease duration (${handOver} s)`);
  await c.client.pods.create(pod('p3'));
  await eventually(async () => (await boundNode(c.client, 'p3')) === 'n1', 20_000, 'p3 to be bound');
});
