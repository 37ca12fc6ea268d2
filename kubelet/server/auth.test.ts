import test from 'ava';
import { authorize, forbiddenMessage, subresourceOf, userOfCertificate, verbOf } from './auth';

test('paths map to the nodes subresources as the kubelet maps them', (t) => {
  t.is(subresourceOf('/metrics'), 'metrics');
  t.is(subresourceOf('/metrics/cadvisor'), 'metrics');
  t.is(subresourceOf('/metrics/resource'), 'metrics');
  t.is(subresourceOf('/metricsx'), 'proxy');
  t.is(subresourceOf('/stats/summary'), 'stats');
  t.is(subresourceOf('/logs/'), 'log');
  t.is(subresourceOf('/healthz'), 'healthz');
  t.is(subresourceOf('/pods'), 'proxy');
  t.is(verbOf('GET'), 'get');
  t.is(verbOf('HEAD'), 'get');
  t.is(verbOf('POST'), 'create');
});

test('admins may do anything; the monitoring group may only read metrics, stats and health; others nothing', (t) => {
  const admin = { name: 'admin', groups: ['system:masters'] };
  const prom = { name: 'prometheus', groups: ['system:monitoring'] };
  const bob = { name: 'bob', groups: ['system:authenticated'] };
  const metrics = { verb: 'get', subresource: 'metrics', name: 'n1' } as const;
  t.true(authorize(admin, metrics));
  t.true(authorize(admin, { verb: 'create', subresource: 'proxy', name: 'n1' }));
  t.true(authorize(prom, metrics));
  t.true(authorize(prom, { verb: 'get', subresource: 'healthz', name: 'n1' }));
  t.false(authorize(prom, { verb: 'get', subresource: 'proxy', name: 'n1' }));
  t.false(authorize(prom, { verb: 'create', subresource: 'metrics', name: 'n1' }));
  t.false(authorize(bob, metrics));
  t.is(forbiddenMessage(bob, metrics), 'Forbidden (user=bob, verb=get, resource=nodes, subresource=metrics)');
});

test('a certificate subject names the user (CN) and its groups (O, one or several), always authenticated', (t) => {
  t.deepEqual(userOfCertificate({ CN: 'admin', O: 'system:masters' }), { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  t.deepEqual(userOfCertificate({ CN: 'p', O: ['a', 'b'] }), { name: 'p', groups: ['a', 'b', 'system:authenticated'] });
  t.deepEqual(userOfCertificate({ CN: 'x' }), { name: 'x', groups: ['system:authenticated'] });
  t.is(userOfCertificate({ O: 'g' }), undefined);
  t.is(userOfCertificate(undefined), undefined);
});
