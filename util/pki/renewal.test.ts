import test from 'ava';
import { createCA, issue } from './x509';
import { needsRenewal, coversSans } from './renewal';

const DAY = 86_400_000;

test('needsRenewal: a one-year certificate renews in its last 90 days', async (t) => {
  const ca = await createCA('ca');
  const leaf = await issue(ca, { commonName: 'x' }, { usage: 'server', validityDays: 365 });
  const now = Date.now();
  t.false(needsRenewal(leaf.certPem, new Date(now)));
  t.false(needsRenewal(leaf.certPem, new Date(now + 270 * DAY)));
  t.true(needsRenewal(leaf.certPem, new Date(now + 276 * DAY)));
  t.true(needsRenewal(leaf.certPem, new Date(now + 400 * DAY)));
});

test('needsRenewal: a short certificate renews in its last third', async (t) => {
  const ca = await createCA('ca');
  const leaf = await issue(ca, { commonName: 'x' }, { usage: 'client', validityDays: 3 });
  const now = Date.now();
  t.false(needsRenewal(leaf.certPem, new Date(now + 1.9 * DAY)));
  t.true(needsRenewal(leaf.certPem, new Date(now + 2.1 * DAY)));
});

test('needsRenewal: a certificate not yet valid is renewed', async (t) => {
  const ca = await createCA('ca');
  const leaf = await issue(ca, { commonName: 'x' }, { usage: 'client' });
  t.true(needsRenewal(leaf.certPem, new Date(Date.now() - DAY)));
});

test('coversSans: every wanted name must be present; IPv6 forms compare equal', async (t) => {
  const ca = await createCA('ca');
  const leaf = await issue(ca, { commonName: 'x' }, { usage: 'server', sans: { dns: ['Localhost', 'n1'], ips: ['127.0.0.1', '::1'] } });
  t.true(coversSans(leaf.certPem, { dns: ['localhost'], ips: ['0:0:0:0:0:0:0:1'] }));
  t.true(coversSans(leaf.certPem, {}));
  t.false(coversSans(leaf.certPem, { dns: ['n2'] }));
  t.false(coversSans(leaf.certPem, { ips: ['10.0.0.1'] }));
});
