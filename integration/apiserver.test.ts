// API server against a real etcd: CRUD of every kind, optimistic
// concurrency, validation and size limits, graceful pod deletion, bind,
// finalizers, namespaces, list pagination and selectors.

import test from 'ava';
import { Etcd3 } from 'etcd3';
import { ApiError } from '../api/errors';
import type { Event, Endpoints, Namespace, Node, Pod, ReplicationController, Service } from '../api/gen/tsk/v1/core';
import { CreatePodRequest } from '../api/gen/tsk/v1/api';
import { startTestEtcd } from './support/etcd';
import { pod, rejects, startTestApiServer } from './support/apiserver';

test('CRUD of every kind', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);

  // Namespace (cluster-scoped) first: the others live in it.
  const ns = await api.kind('Namespace').create({ metadata: { name: 'team-a' } } as Namespace);
  t.is(ns.status?.phase, 'Active');
  t.is(ns.kind, 'Namespace');
  t.is(ns.apiVersion, 'v1');

  const p = await api.kind('Pod').create(pod('web-1', { app: 'web' }, 'team-a'));
  t.regex(p.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
  t.regex(p.metadata?.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(p.metadata?.generation, 1);
  t.is(p.status?.phase, 'Pending');
  t.is(p.spec?.restartPolicy, 'Always');
  t.is(p.spec?.terminationGracePeriodSeconds, 30);
  t.true(Number(p.metadata?.resourceVersion) > 0);
  const got = await api.kind('Pod').get('team-a', 'web-1');
  t.is(got.metadata?.resourceVersion, p.metadata?.resourceVersion);
  t.is(got.kind, 'Pod');

  // Update bumps generation when the spec changes and ignores status.
  got.spec!.activeDeadlineSeconds = 100;
  got.status = { phase: 'Running' };
  const upd = await api.kind('Pod').update(got);
  t.is(upd.metadata?.generation, 2);
  t.is(upd.status?.phase, 'Pending');
  t.true(Number(upd.metadata?.resourceVersion) > Number(got.metadata?.resourceVersion));
  // UpdateStatus takes only status.
  upd.status = { phase: 'Running', podIP: '10.244.0.5' };
  upd.spec!.activeDeadlineSeconds = 200;
  const st = await api.kind('Pod').updateStatus(upd);
  t.is(st.status?.phase, 'Running');
  t.is(st.spec?.activeDeadlineSeconds, 100);
  t.is(st.metadata?.generation, 2);

  const rc = await api.kind('ReplicationController').create({
    metadata: { name: 'web', namespace: 'team-a' },
    spec: {
      replicas: 2,
      selector: { app: 'web' },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    },
  } as ReplicationController);
  t.is(rc.spec?.replicas, 2);
  const svc = await api
    .kind('Service')
    .create({ metadata: { name: 'web', namespace: 'team-a' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } as Service);
  t.regex(svc.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
  t.is(svc.spec?.ports?.[0]?.protocol, 'TCP');
  const ep = await api.kind('Endpoints').create({
    metadata: { name: 'web', namespace: 'team-a' },
    subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ port: 8080, protocol: 'TCP' }] }],
  } as Endpoints);
  t.is(ep.subsets?.[0]?.addresses?.[0]?.ip, '10.244.0.5');
  const node = await api.kind('Node').create({ metadata: { name: 'node-1' }, spec: {} } as Node);
  t.is(node.metadata?.namespace ?? '', '');
  const ev = await api.kind('Event').create({
    metadata: { name: 'web-1.1', namespace: 'team-a' },
    involvedObject: { kind: 'Pod', namespace: 'team-a', name: 'web-1' },
    reason: 'Scheduled',
    message: 'assigned',
    type: 'Normal',
  } as Event);
  t.is(ev.reason, 'Scheduled');

  for (const [kind, name, nsName] of [
    ['Pod', 'web-1', 'team-a'],
    ['ReplicationController', 'web', 'team-a'],
    ['Service', 'web', 'team-a'],
    ['Endpoints', 'web', 'team-a'],
    ['Node', 'node-1', ''],
    ['Event', 'web-1.1', 'team-a'],
  ] as const) {
    const list = await api.kind(kind).list({ namespace: nsName });
    t.is(list.items?.length, 1, kind);
    t.is(list.kind, `${kind}List`);
    t.true(Number(list.metadata?.resourceVersion) > 0);
    await api.kind(kind).delete({ namespace: nsName, name });
    const err = await rejects(api.kind(kind).get(nsName, name));
    t.is(err.reason, 'NotFound', kind);
  }
  const dup = await rejects(api.kind('Namespace').create({ metadata: { name: 'team-a' } } as Namespace));
  t.is(dup.reason, 'AlreadyExists');
  const missingNs = await rejects(api.kind('Pod').create(pod('x', {}, 'nowhere')));
  t.is(missingNs.reason, 'NotFound');
  t.regex(missingNs.message, /namespaces "nowhere" not found/);
  // default and kube-system exist from the start.
  const names = (await api.kind('Namespace').list()).items?.map((n) => n.metadata?.name);
  t.true(names?.includes('default') && names.includes('kube-system'));
});

test('two writers from one resourceVersion: exactly one wins, and no increment is lost', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const pods = api.kind('Pod');
  const p = await pods.create({ ...pod('counter'), metadata: { name: 'counter', namespace: 'default', annotations: { count: '0' } } });
  const a = { ...p, metadata: { ...p.metadata, labels: { writer: 'a' } } };
  const b = { ...p, metadata: { ...p.metadata, labels: { writer: 'b' } } };
  const results = await Promise.allSettled([pods.update(a), pods.update(b)]);
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.is((lost.reason as ApiError).reason, 'Conflict');
  t.regex((lost.reason as ApiError).message, /the object has been modified; please apply your changes to the latest version and try again/);

  // Read-modify-write increments with retries: 4 writers x 15.
  const increment = async (): Promise<void> => {
    for (;;) {
      const cur = await pods.get('default', 'counter');
      cur.metadata!.annotations = { ...cur.metadata!.annotations, count: String(Number(cur.metadata!.annotations?.['count']) + 1) };
      try {
        await pods.update(cur);
        return;
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'Conflict')) throw err;
      }
    }
  };
  await Promise.all(
    [0, 1, 2, 3].map(async () => {
      for (let i = 0; i < 15; i++) await increment();
    }),
  );
  t.is((await pods.get('default', 'counter')).metadata?.annotations?.['count'], '60');
});

test('updates start from the watch cache but never write over a newer object another API server stored', async (t) => {
  const etcd = await startTestEtcd(t);
  const a = await startTestApiServer(t, etcd);
  const b = await startTestApiServer(t, etcd);
  for (let i = 0; i < 20; i++) {
    const name = `p${i}`;
    await a.kind('Pod').create(pod(name));
    // Written through B: A's cache may not have it yet when A acts right after.
    const fromB = await b.kind('Pod').get('default', name);
    await b.kind('Pod').update({ ...fromB, metadata: { ...fromB.metadata, labels: { by: 'b' } } });
    await b.kind('Pod').bind({ metadata: { name, namespace: 'default' }, target: { kind: 'Node', name: 'node-b' } });
    const conflict = await rejects(a.kind('Pod').bind({ metadata: { name, namespace: 'default' }, target: { kind: 'Node', name: 'node-a' } }));
    t.is(conflict.reason, 'Conflict', `bind of ${name} through A after B bound it`);
    const cur = await a.kind('Pod').get('default', name);
    const status = await a
      .kind('Pod')
      .updateStatus({ ...cur, metadata: { ...cur.metadata, resourceVersion: '' }, status: { ...cur.status, podIP: '10.244.0.9' } });
    t.is(status.spec?.nodeName, 'node-b');
    t.is(status.metadata?.labels?.['by'], 'b');
    t.is(status.status?.podIP, '10.244.0.9');
  }
});

test('invalid and oversized input is refused with the right error and stores nothing', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const pods = api.kind('Pod');
  const bad = pod('bad');
  bad.spec!.containers!.push({ name: 'side', image: 'busybox', ports: [{ containerPort: 70000 }] });
  const invalid = await rejects(pods.create(bad));
  t.is(invalid.reason, 'Invalid');
  t.true(
    invalid.causes.some((c) => c.field === 'spec.containers[1].ports[0].containerPort'),
    JSON.stringify(invalid.causes),
  );
  const badName = await rejects(pods.create(pod('Not_A_Name')));
  t.is(badName.reason, 'Invalid');
  t.true(badName.causes.some((c) => c.field === 'metadata.name'));

  const big = pod('big');
  // Under Kubernetes' 3 MiB request limit: decoded, and refused by the field's limit.
  big.metadata!.annotations = { blob: 'x'.repeat(1.6 * 1024 * 1024) };
  const overField = await rejects(pods.create(big));
  t.is(overField.reason, 'Invalid');
  t.regex(overField.message, /metadata\.annotations: Too long: must have at most 262144 bytes/);
  // Over the request limit: refused before decoding, with a clear error.
  big.metadata!.annotations = { blob: 'x'.repeat(3 * 1024 * 1024) };
  const tooLarge = await rejects(pods.create(big));
  t.is(tooLarge.reason, 'RequestEntityTooLarge');
  t.regex(tooLarge.message, /the limit is 3145728 bytes \(3 MiB\)/);

  // Garbage bytes are not a valid request.
  const garbage = await rejects(pods.createRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])));
  t.not(garbage.reason, undefined);
  // A well-formed request carrying no object.
  const empty = await rejects(pods.createRaw(Buffer.from(CreatePodRequest.encode({}).finish())));
  t.is(empty.reason, 'BadRequest');

  t.is((await pods.list({ namespace: 'default' })).items?.length, 0);
});

test('graceful deletion of a bound pod; unbound pods and grace 0 go at once; bind conflicts', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const pods = api.kind('Pod');
  await pods.create(pod('unbound'));
  const gone = await pods.delete({ namespace: 'default', name: 'unbound' });
  t.is(gone.metadata?.name, 'unbound');
  t.is((await rejects(pods.get('default', 'unbound'))).reason, 'NotFound');

  await pods.create(pod('bound'));
  const bound = await pods.bind({ metadata: { name: 'bound', namespace: 'default' }, target: { kind: 'Node', name: 'node-1' } });
  t.is(bound.spec?.nodeName, 'node-1');
  t.true(bound.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True'));
  const again = await rejects(pods.bind({ metadata: { name: 'bound', namespace: 'default' }, target: { kind: 'Node', name: 'node-2' } }));
  t.is(again.reason, 'Conflict');
  t.regex(again.message, /pod bound is already assigned to node "node-1"/);

  const before = Date.now();
  const deleting = await pods.delete({ namespace: 'default', name: 'bound' });
  t.is(deleting.metadata?.deletionGracePeriodSeconds, 30);
  const deadline = Date.parse(deleting.metadata?.deletionTimestamp ?? '');
  t.true(deadline >= Math.floor(before / 1000) * 1000 + 29_000, deleting.metadata?.deletionTimestamp);
  const still = await pods.get('default', 'bound');
  t.truthy(still.metadata?.deletionTimestamp);
  // A second delete with a shorter grace period shortens it; grace 0 (what the kubelet sends) removes it.
  const shorter = await pods.delete({ namespace: 'default', name: 'bound', gracePeriodSeconds: 5 });
  t.is(shorter.metadata?.deletionGracePeriodSeconds, 5);
  await pods.delete({ namespace: 'default', name: 'bound', gracePeriodSeconds: 0 });
  t.is((await rejects(pods.get('default', 'bound'))).reason, 'NotFound');

  // Preconditions.
  const p = await pods.create(pod('pre'));
  const wrongUid = await rejects(pods.delete({ namespace: 'default', name: 'pre', preconditions: { uid: 'nope' } }));
  t.is(wrongUid.reason, 'Conflict');
  const wrongRv = await rejects(pods.delete({ namespace: 'default', name: 'pre', preconditions: { resourceVersion: '1' } }));
  t.is(wrongRv.reason, 'Conflict');
  await pods.delete({ namespace: 'default', name: 'pre', preconditions: { uid: p.metadata?.uid, resourceVersion: p.metadata?.resourceVersion } });
});

test('finalizers hold a deleted object until they are removed; generateName', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const rcs = api.kind('ReplicationController');
  const rc = await rcs.create({
    metadata: { name: 'held', namespace: 'default', finalizers: ['example.com/cleanup'] },
    spec: { replicas: 0, selector: { app: 'x' }, template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  } as ReplicationController);
  const marked = await rcs.delete({ namespace: 'default', name: 'held' });
  t.truthy(marked.metadata?.deletionTimestamp);
  const cur = await rcs.get('default', 'held');
  t.is(cur.metadata?.uid, rc.metadata?.uid);
  cur.metadata!.finalizers = [];
  await rcs.update(cur);
  t.is((await rejects(rcs.get('default', 'held'))).reason, 'NotFound');

  const pods = api.kind('Pod');
  const gen = await pods.create({ ...pod(''), metadata: { generateName: 'web-', namespace: 'default' } });
  t.regex(gen.metadata?.name ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

test('list: label and field selectors, limit and continue, expired continue', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const pods = api.kind('Pod');
  for (let i = 0; i < 25; i++) await pods.create(pod(`p${String(i).padStart(2, '0')}`, { app: i % 2 === 0 ? 'even' : 'odd', tier: i < 5 ? 'front' : 'back' }));
  await pods.bind({ metadata: { name: 'p03', namespace: 'default' }, target: { name: 'node-a' } });

  t.is((await pods.list({ labelSelector: 'app=even' })).items?.length, 13);
  t.is((await pods.list({ labelSelector: 'app!=even,tier in (front)' })).items?.length, 2);
  t.is((await pods.list({ labelSelector: 'tier notin (front,back)' })).items?.length, 0);
  t.is((await pods.list({ labelSelector: 'tier' })).items?.length, 25);
  t.is((await pods.list({ fieldSelector: 'spec.nodeName=node-a' })).items?.[0]?.metadata?.name, 'p03');
  t.is((await pods.list({ fieldSelector: 'metadata.name=p07' })).items?.length, 1);
  t.is((await pods.list({ fieldSelector: 'status.phase=Pending', namespace: 'default' })).items?.length, 25);
  t.is((await rejects(pods.list({ fieldSelector: 'spec.bogus=1' }))).reason, 'BadRequest');
  t.is((await rejects(pods.list({ labelSelector: 'a in (' }))).reason, 'BadRequest');

  // Pages of 10 at one revision, even while writes happen between pages.
  const first = await pods.list({ limit: 10 });
  t.is(first.items?.length, 10);
  t.truthy(first.metadata?.continue);
  t.is(first.metadata?.remainingItemCount, 15);
  await pods.create(pod('zz-late'));
  const second = await pods.list({ limit: 10, continue: first.metadata?.continue });
  const third = await pods.list({ limit: 10, continue: second.metadata?.continue });
  t.is(third.items?.length, 5);
  t.is(third.metadata?.continue ?? '', '');
  t.is(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
  const names = [...(first.items ?? []), ...(second.items ?? []), ...(third.items ?? [])].map((p) => p.metadata?.name);
  t.is(new Set(names).size, 25);
  t.false(names.includes('zz-late'));
  // Selector with limit: pages hold only matches.
  const evenPage = await pods.list({ labelSelector: 'app=even', limit: 5 });
  t.is(evenPage.items?.length, 5);
  const evenRest = await pods.list({ labelSelector: 'app=even', limit: 100, continue: evenPage.metadata?.continue });
  t.is(evenRest.items?.length, 8);

  // Compaction past the token's revision: Expired. The server keeps recent
  // list snapshots; after a restart a token is served from etcd at its
  // revision: fine until that revision is compacted.
  const page = await pods.list({ limit: 5 });
  await pods.create(pod('zz-later'));
  const rev = Number((await pods.get('default', 'zz-later')).metadata?.resourceVersion);
  await api.restart();
  const fromEtcd = await api.kind('Pod').list({ limit: 30, continue: page.metadata?.continue });
  t.is(fromEtcd.items?.length, 21);
  t.is(fromEtcd.metadata?.resourceVersion, page.metadata?.resourceVersion);
  t.false(fromEtcd.items?.some((p) => p.metadata?.name === 'zz-later'));
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  await raw.kv.compact({ revision: rev, physical: true });
  raw.close();
  const expired = await rejects(api.kind('Pod').list({ limit: 5, continue: page.metadata?.continue }));
  t.is(expired.reason, 'Expired');
});

test('deleting a namespace deletes its contents, then itself; system namespaces stay', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  await api.kind('Namespace').create({ metadata: { name: 'doomed' } } as Namespace);
  for (let i = 0; i < 5; i++) await api.kind('Pod').create(pod(`p${i}`, {}, 'doomed'));
  await api.kind('Service').create({ metadata: { name: 's', namespace: 'doomed' }, spec: { ports: [{ port: 80 }], type: 'NodePort' } } as Service);
  const del = await api.kind('Namespace').delete({ name: 'doomed' });
  t.is(del.status?.phase, 'Terminating');
  // Nothing new may be created in a terminating namespace.
  const refused = await rejects(api.kind('Pod').create(pod('late', {}, 'doomed')));
  t.true(refused.reason === 'Forbidden' || refused.reason === 'NotFound', refused.message);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const err = await api
      .kind('Namespace')
      .get('', 'doomed')
      .then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    if (err?.reason === 'NotFound') break;
    if (Date.now() > deadline) t.fail('namespace was not removed');
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is((await api.kind('Pod').list({ namespace: 'doomed' })).items?.length, 0);
  t.is((await api.kind('Service').list({ namespace: 'doomed' })).items?.length, 0);
  const forbidden = await rejects(api.kind('Namespace').delete({ name: 'default' }));
  t.is(forbidden.reason, 'Forbidden');
});

test('a namespace left Terminating is finished after an API server restart', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  await api.kind('Namespace').create({ metadata: { name: 'half' } } as Namespace);
  const p = pod('bound', {}, 'half');
  p.spec!.terminationGracePeriodSeconds = 1;
  await api.kind('Pod').create(p);
  await api.kind('Pod').bind({ metadata: { name: 'bound', namespace: 'half' }, target: { name: 'gone-node' } });
  await api.kind('Namespace').delete({ name: 'half' });
  // Restart at once: the bound pod is still being deleted gracefully.
  await api.restart();
  t.is((await api.kind('Namespace').get('', 'half')).status?.phase, 'Terminating');
  // Its node's kubelet never finishes the pod: it stays Terminating, and so does the namespace (Kubernetes' rule).
  await new Promise((r) => setTimeout(r, 3000));
  t.truthy((await api.kind('Pod').get('half', 'bound')).metadata?.deletionTimestamp);
  t.is((await api.kind('Namespace').get('', 'half')).status?.phase, 'Terminating');
  // The kubelet (or the pod GC, once the Node is deleted) removes it: the resumed deletion finishes.
  await api.kind('Pod').delete({ namespace: 'half', name: 'bound', gracePeriodSeconds: 0 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const err = await api
      .kind('Namespace')
      .get('', 'half')
      .then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    if (err?.reason === 'NotFound') break;
    if (Date.now() > deadline) t.fail('namespace was not removed after the restart');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.is((await api.kind('Pod').list({ namespace: 'half' })).items?.length, 0);
});

test('dryRun: defaulting, validation and admission run, the would-be object is returned, nothing is stored or allocated', async (t) => {
  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const raw = new Etcd3({ hosts: etcd.etcd.clientUrl });
  t.teardown(() => raw.close());
  const etcdRevision = async (): Promise<string> => (await raw.kv.range({ key: Buffer.from('/') })).header.revision;
  /**
   * Every change etcd recorded after `rev` (puts and deletes, from its watch
   * history), as "put KEY @REV" lines: a dry run that wrote and then deleted
   * would show here too.
   */
  const historySince = async (rev: string): Promise<string[]> => {
    const upTo = Number(await etcdRevision());
    const seen: string[] = [];
    if (upTo <= Number(rev)) return seen;
    const watcher = await raw
      .watch()
      .prefix('/')
      .startRevision(String(Number(rev) + 1))
      .create();
    try {
      await new Promise<void>((resolve) => {
        watcher.on('data', (res) => {
          for (const e of res.events) seen.push(`${e.type.toLowerCase()} ${e.kv.key.toString()} @${Number(e.kv.mod_revision) - Number(rev)}`);
          if (Number(res.header.revision) >= upTo && seen.length > 0) resolve();
        });
      });
    } finally {
      await watcher.cancel();
    }
    return seen.sort();
  };
  const pods = api.kind('Pod');
  const services = api.kind('Service');
  const taken = await services.create({ metadata: { name: 'taken' }, spec: { ports: [{ port: 80 }], type: 'NodePort' } } as Service);
  const before = await etcdRevision();

  // Create: defaulted and validated, with server-set fields, but not stored.
  const dry = await pods.create(pod('dry'), { dryRun: true });
  t.is(dry.metadata?.name, 'dry');
  t.regex(dry.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
  t.is(dry.metadata?.resourceVersion ?? '', '');
  t.is(dry.status?.phase, 'Pending');
  t.is(dry.spec?.restartPolicy, 'Always');
  t.is(dry.spec?.terminationGracePeriodSeconds, 30);
  t.is(dry.spec?.containers?.[0]?.imagePullPolicy, 'IfNotPresent');
  t.is((await rejects(pods.get('default', 'dry'))).reason, 'NotFound');
  const generated = await pods.create({ ...pod(''), metadata: { generateName: 'gen-' } } as Pod, { dryRun: true });
  t.regex(generated.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);

  // The same refusals as a real create.
  const invalid = await rejects(pods.create({ metadata: { name: 'bad' }, spec: { containers: [{ name: 'c' }] } } as Pod, { dryRun: true }));
  t.is(invalid.reason, 'Invalid');
  t.regex(invalid.message, /spec\.containers\[0\]\.image: Required value/);
  const noNs = await rejects(pods.create(pod('x', {}, 'missing'), { dryRun: true }));
  t.is(noNs.reason, 'NotFound');
  t.regex(noNs.message, /namespaces? "missing" not found/i);
  const exists = await rejects(services.create({ metadata: { name: 'taken' }, spec: { ports: [{ port: 80 }] } } as Service, { dryRun: true }));
  t.is(exists.reason, 'AlreadyExists');

  // Services: allocation checked, never taken.
  const svc = await services.create({ metadata: { name: 'web' }, spec: { ports: [{ port: 80 }], type: 'NodePort' } } as Service, { dryRun: true });
  t.regex(svc.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
  t.true((svc.spec?.ports?.[0]?.nodePort ?? 0) >= 30000);
  const ipTaken = await rejects(
    services.create({ metadata: { name: 'dup' }, spec: { clusterIP: taken.spec?.clusterIP, ports: [{ port: 80 }] } } as Service, { dryRun: true }),
  );
  t.is(ipTaken.reason, 'Invalid');
  t.regex(ipTaken.message, /spec\.clusterIP: Invalid value: .*already allocated/);
  const portTaken = await rejects(
    services.create({ metadata: { name: 'dup' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: taken.spec?.ports?.[0]?.nodePort }] } } as Service, {
      dryRun: true,
    }),
  );
  t.regex(portTaken.message, /spec\.ports\[0\]\.nodePort: Invalid value: \d+: provided port is already allocated/);
  // What the dry run showed is still free: a real create can take exactly it.
  const real = await services.create({
    metadata: { name: 'web' },
    spec: { clusterIP: svc.spec?.clusterIP, type: 'NodePort', ports: [{ port: 80, nodePort: svc.spec?.ports?.[0]?.nodePort }] },
  } as Service);
  t.is(real.spec?.clusterIP, svc.spec?.clusterIP);
  // Everything etcd recorded since `before` is the real create: the service
  // and the two allocation ranges, in one transaction.
  t.deepEqual(
    await historySince(before),
    ['put /registry/ranges/serviceips @1', 'put /registry/ranges/servicenodeports @1', 'put /registry/services/default/web @1'],
    'only the real create wrote to etcd',
  );

  // Update and UpdateStatus: the result is returned, the stored object is untouched.
  const live = await services.get('default', 'web');
  const changed = { ...live, metadata: { ...live.metadata, labels: { tier: 'front' } } } as Service;
  const dryUpd = await services.update(changed, { dryRun: true });
  t.deepEqual(dryUpd.metadata?.labels, { tier: 'front' });
  t.is(dryUpd.metadata?.resourceVersion, live.metadata?.resourceVersion);
  const badUpd = await rejects(services.update({ ...live, spec: { ...live.spec, clusterIP: '10.96.0.99' } } as Service, { dryRun: true }));
  t.is(badUpd.reason, 'Invalid');
  const p1 = await pods.create(pod('p1'));
  const dryStatus = await pods.updateStatus({ ...p1, status: { phase: 'Running' } } as Pod, { dryRun: true });
  t.is(dryStatus.status?.phase, 'Running');
  const stale = await rejects(pods.update({ ...p1, metadata: { ...p1.metadata, resourceVersion: '1' } } as Pod, { dryRun: true }));
  t.is(stale.reason, 'Conflict');
  t.deepEqual(
    await historySince(before),
    [
      'put /registry/pods/default/p1 @2',
      'put /registry/ranges/serviceips @1',
      'put /registry/ranges/servicenodeports @1',
      'put /registry/services/default/web @1',
    ],
    'dry-run updates wrote nothing: only the real service and pod creates did',
  );
  t.deepEqual((await services.get('default', 'web')).metadata?.labels ?? {}, {});
  t.is((await pods.get('default', 'p1')).status?.phase, 'Pending');
  t.deepEqual(
    ((await pods.list()).items ?? []).map((p) => p.metadata?.name),
    ['p1'],
  );
});
