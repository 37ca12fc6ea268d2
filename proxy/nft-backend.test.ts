import test from 'ava';
import type { Service } from '../api/gen/tsk/v1/core';
import { IptablesBackend } from './iptables-backend';
import { FakeIptables } from './fake-iptables';
import { NftablesBackend } from './nft-backend';
import type { Nftables } from './nftables';
import { buildServicePorts } from './service-ports';

/** Records what it is asked to run; fails while failWith is set. */
class RecordingNftables implements Nftables {
  readonly runs: string[] = [];
  lists = 0;
  failWith: string | undefined;

  run(input: string): Promise<void> {
    this.runs.push(input);
    return this.failWith ? Promise.reject(new Error(this.failWith)) : Promise.resolve();
  }

  list(): Promise<string> {
    this.lists++;
    return Promise.resolve('table ip tsk-proxy {\n\tchain service-AAAAAAAA-default/old/tcp/ {\n\t}\n}\n');
  }
}

function service(name: string, ip: string): Service {
  return { metadata: { namespace: 'default', name }, spec: { clusterIP: ip, ports: [{ port: 80, protocol: 'TCP' }] } };
}

test('nftables backend: full first (listing the table, removing the other mode once), partial next, full again after a failure', async (t) => {
  const nft = new RecordingNftables();
  let removed = 0;
  const backend = new NftablesBackend(nft, { nodeIPs: [] }, async () => {
    removed++;
  });
  t.false(backend.synced);
  const one = buildServicePorts([service('a', '10.96.0.1')], () => undefined);
  const full = await backend.sync(one, false);
  t.is(removed, 1);
  t.is(nft.lists, 1);
  t.regex(full.input, /^add table ip tsk-proxy .*\nflush table ip tsk-proxy\n/);
  t.regex(full.input, /delete chain ip tsk-proxy service-AAAAAAAA-default\/old\/tcp\/\n$/);
  t.true(backend.synced);
  t.is(backend.ruleCounts()['nftables'], (full.input.match(/^add rule /gm) ?? []).length);

  t.is((await backend.sync(one, false)).input, '', 'nothing changed: nothing written');
  const two = buildServicePorts([service('a', '10.96.0.1'), service('b', '10.96.0.2')], () => undefined);
  const partial = await backend.sync(two, false);
  t.is(partial.input, 'add element ip tsk-proxy no-endpoint-services { 10.96.0.2 . tcp . 80 : goto reject-chain }\n');
  t.is(nft.lists, 1, 'a partial sync does not list the table');

  nft.failWith = 'nft -f failed';
  await t.throwsAsync(
    backend.sync(
      buildServicePorts([service('a', '10.96.0.1')], () => undefined),
      false,
    ),
    { message: 'nft -f failed' },
  );
  t.false(backend.synced, 'after a failure only a full sync is valid');
  nft.failWith = undefined;
  await backend.sync(one, false);
  t.is(nft.lists, 2);
  t.is(removed, 1, 'the other mode is removed once');
});

test('iptables backend: the first full sync removes the nftables mode first, once', async (t) => {
  const iptables = new FakeIptables();
  const order: string[] = [];
  const backend = new IptablesBackend(iptables, { nodeIPs: [] }, async () => {
    order.push(`remove other (restores so far: ${iptables.restores.length})`);
  });
  const ports = buildServicePorts([service('a', '10.96.0.1')], () => undefined);
  await backend.sync(ports, true);
  await backend.sync(ports, true);
  t.deepEqual(order, ['remove other (restores so far: 0)']);
  t.deepEqual(backend.ruleCounts(), { filter: 3, nat: 5 }, 'filter: REJECT and two forward rules; nat: the fixed four and the NodePorts jump');
});

test('nftables backend: a restarted helper (a new generation) makes the next sync full', async (t) => {
  const nft = new (class extends RecordingNftables {
    generation = 1;
  })();
  const backend = new NftablesBackend(nft, { nodeIPs: [] });
  await backend.sync(
    buildServicePorts([service('a', '10.96.0.1')], () => undefined),
    true,
  );
  t.true(backend.synced);
  nft.generation = 2;
  t.false(backend.synced, 'what the kernel holds is unknown: the proxier makes the next sync full');
  await backend.sync(
    buildServicePorts([service('a', '10.96.0.1')], () => undefined),
    true,
  );
  t.true(backend.synced);
});
