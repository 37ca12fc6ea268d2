import test from 'ava';
import type { Service } from '../api/gen/tsk/v1/core';
import { ForbiddenError, NotFoundError, UnavailableError } from '../api/errors';
import { Backoff } from '../util/backoff';
import { resolveClusterDNS } from './cluster-dns';

const kubeDns = { metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { clusterIP: '10.96.0.10' } } as Service;
const flags = { clusterDNS: undefined, clusterDomain: undefined };

function services(answers: (Service | Error)[]): { services: { get: () => Promise<Service> }; calls: () => number } {
  let n = 0;
  return {
    services: {
      get: () => {
        const a = answers[Math.min(n++, answers.length - 1)];
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a as Service);
      },
    },
    calls: () => n,
  };
}

const noWait = () => ({ backoff: new Backoff({ initialMs: 500, maxMs: 10_000 }), sleep: (): Promise<void> => Promise.resolve() });

// Regression (chaos suite): an agent started while the servers' etcd changed
// leader read "etcd request failed (range of services): etcdserver: leader
// changed" here and exited for good.
test('an Unavailable answer is retried, and logged, until the Service is read', async (t) => {
  const cs = services([
    new UnavailableError('etcd request failed (range of services): etcdserver: leader changed'),
    new UnavailableError('cannot reach the API server'),
    kubeDns,
  ]);
  const lines: string[] = [];
  const dns = await resolveClusterDNS(cs as never, flags, (l) => lines.push(l), noWait());
  t.deepEqual(dns, { ip: '10.96.0.10', domain: 'cluster.local' });
  t.is(cs.calls(), 3);
  t.is(lines.length, 2);
  t.regex(lines[0] ?? '', /^reading service kube-system\/kube-dns: etcd request failed .*leader changed; trying again in 0\.5s$/);
});

test('no kube-dns Service: no cluster DNS, at once; another error fails the start', async (t) => {
  t.is(await resolveClusterDNS(services([new NotFoundError('Service', 'kube-dns')]) as never, flags, () => undefined, noWait()), undefined);
  await t.throwsAsync(
    resolveClusterDNS(services([new ForbiddenError('services', 'kube-dns', 'no')]) as never, flags, () => undefined, noWait()),
    { instanceOf: ForbiddenError },
  );
});

test('flags win without reading the Service', async (t) => {
  const cs = services([new UnavailableError('down')]);
  t.deepEqual(await resolveClusterDNS(cs as never, { clusterDNS: '10.0.0.10', clusterDomain: 'example.org' }, () => undefined, noWait()), {
    ip: '10.0.0.10',
    domain: 'example.org',
  });
  t.is(cs.calls(), 0);
});
