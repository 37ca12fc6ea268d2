// API Priority and Fairness on a real API server and etcd: each caller's
// requests are dispatched in the priority level its identity and request
// select (a kubelet's Lease in node-high, its pod reads in system, the
// admin exempt), as /metrics shows, and with it turned off nothing is.

import test, { type ExecutionContext } from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NAMESPACE_NODE_LEASE } from '../api/namespaces';
import { startApiServer } from '../apiserver/server';
import { Clientset } from '../client/clientset';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { tempDir } from './support/temp';

async function serve(t: ExecutionContext, enabled: boolean) {
  const dir = tempDir(t, 'tsk-flowcontrol-');
  const tokens = join(dir, 'tokens.csv');
  await writeFile(tokens, 'kubelet-n1-token,system:node:n1,n1,system:nodes\n');
  const etcd = await startTestEtcd(t);
  const tls = await testTls();
  const server = await startApiServer({
    tls: tls.serving,
    tokenAuthFile: tokens,
    etcdServers: [etcd.etcd.clientUrl],
    address: '127.0.0.1:0',
    httpAddress: '127.0.0.1:0',
    flowControl: { enabled, serverConcurrency: 600 },
    log: () => undefined,
  });
  t.teardown(() => server.stop());
  const open = (creds: ConstructorParameters<typeof Clientset>[1]): Clientset => {
    const cs = new Clientset(server.grpcAddress, { ...creds, deadlineMs: 10_000 });
    t.teardown(() => cs.close());
    return cs;
  };
  const kubelet = open({ caPem: tls.admin.caPem, token: 'kubelet-n1-token' });
  const admin = open(tls.admin);
  const metrics = async (): Promise<string> => (await fetch(`http://${server.httpAddress}/metrics`)).text();
  const dispatched = async (level: string, schema: string): Promise<number> => {
    const text = await metrics();
    const m = new RegExp(`^apiserver_flowcontrol_dispatched_requests_total\\{priority_level="${level}",flow_schema="${schema}"\\} (\\d+)$`, 'm').exec(text);
    return Number(m?.[1] ?? 0);
  };
  return { kubelet, admin, dispatched, metrics };
}

test('the heartbeat of a kubelet runs in node-high, its other calls in system, the admin exempt', async (t) => {
  const { kubelet, admin, dispatched } = await serve(t, true);
  await kubelet.leases.create({
    metadata: { name: 'n1', namespace: NAMESPACE_NODE_LEASE },
    spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 },
  });
  const lease = await kubelet.leases.get('n1', NAMESPACE_NODE_LEASE);
  await kubelet.leases.update({ ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString().replace('Z', '000Z') } });
  t.is(await dispatched('node-high', 'system-node-high'), 3, 'create, get and update of its own Lease');
  await kubelet.pods.list({ fieldSelector: 'spec.nodeName=n1' });
  t.is(await dispatched('system', 'system-nodes'), 1);
  const before = await dispatched('exempt', 'exempt');
  await admin.namespaces.get('default');
  t.is(await dispatched('exempt', 'exempt'), before + 1);
});

test('--enable-priority-and-fairness=false: no level has seats, requests are still served and counted', async (t) => {
  const on = await serve(t, true);
  t.regex(await on.metrics(), /^apiserver_flowcontrol_nominal_limit_seats\{priority_level="node-high"\} 98$/m);
  const { kubelet, dispatched, metrics } = await serve(t, false);
  await kubelet.pods.list({ fieldSelector: 'spec.nodeName=n1' });
  t.is(await dispatched('system', 'system-nodes'), 1);
  t.notRegex(await metrics(), /^apiserver_flowcontrol_nominal_limit_seats\{/m, 'every level exempt: none is limited');
});
