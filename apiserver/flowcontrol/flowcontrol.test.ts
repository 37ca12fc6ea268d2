import test from 'ava';
import { Registry } from 'prom-client';
import { TooManyRequestsError } from '../../api/errors';
import type { UserInfo } from '../auth/user';
import { EXEMPT_ONLY, PRIORITY_LEVELS, classify, nominalSeats, type PriorityLevel } from './config';
import { FlowControl } from './dispatcher';

const user = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });
const kubelet = user('system:node:n1', 'system:nodes');
const cm = user('system:kube-controller-manager');

test('requests are classified as the suggested flow schemas of Kubernetes do', (t) => {
  const level = (u: UserInfo, a: Parameters<typeof classify>[1]): string => classify(u, a).priorityLevel;
  t.is(level(user('admin', 'system:masters'), { verb: 'create', resource: 'pods' }), 'exempt');
  t.is(level(cm, { verb: 'update', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' }), 'leader-election');
  t.is(level(user('system:kube-scheduler'), { verb: 'get', resource: 'leases', namespace: 'kube-system' }), 'leader-election');
  t.is(level(cm, { verb: 'update', resource: 'nodes' }), 'workload-high', 'the controllers outside their lock');
  t.is(level(kubelet, { verb: 'update', resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }), 'node-high');
  t.is(level(kubelet, { verb: 'update', resource: 'nodes', subresource: 'status', name: 'n1' }), 'node-high');
  t.is(level(kubelet, { verb: 'update', resource: 'pods', subresource: 'status', namespace: 'default' }), 'system');
  t.is(level(user('alice'), { verb: 'list', resource: 'pods' }), 'global-default');
  t.is(level({ name: 'system:anonymous', groups: [] }, { verb: 'get', path: '/version' }), 'catch-all');
  t.is(classify(cm, { verb: 'create', resource: 'pods', namespace: 'web' }).flow, 'web', 'the controllers are fair by namespace');
  t.is(classify(kubelet, { verb: 'update', resource: 'nodes' }).flow, 'system:node:n1', 'nodes by user');
});

test('the seats of the server are split by shares, rounded up', (t) => {
  const seats = nominalSeats(PRIORITY_LEVELS, 600);
  // Kubernetes' defaults at 600: shares 30/40/10/40/100/20/5 of 245.
  t.deepEqual(Object.fromEntries(seats), {
    system: 74,
    'node-high': 98,
    'leader-election': 25,
    'workload-high': 98,
    'workload-low': 245,
    'global-default': 49,
    'catch-all': 13,
  });
});

/** A request whose end the test decides. */
function held(): { done: () => void; run: () => Promise<string> } {
  let done = (): void => undefined;
  const gate = new Promise<void>((r) => (done = r));
  return { done: () => done(), run: () => gate.then(() => 'ok') };
}

const tiny = (queueCapacity = 4, flowQueueLimit = 2): PriorityLevel[] => [
  { name: 'exempt', exempt: true, shares: 0, queueCapacity: 0, flowQueueLimit: 0 },
  { name: 'a', exempt: false, shares: 1, queueCapacity, flowQueueLimit },
  { name: 'b', exempt: false, shares: 1, queueCapacity, flowQueueLimit },
];

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a level runs as many requests as it has seats; the rest wait and run as seats free up', async (t) => {
  const fc = new FlowControl({ levels: tiny(), serverConcurrency: 2 });
  const reqs = [held(), held(), held()];
  const order: number[] = [];
  const results = reqs.map((r, i) => fc.execute({ flowSchema: 's', priorityLevel: 'a', flow: 'u' }, () => (order.push(i), r.run())));
  await flush();
  t.deepEqual(fc.state('a'), { executing: 1, waiting: 2, seats: 1 });
  t.deepEqual(order, [0]);
  reqs[0]!.done();
  await flush();
  t.deepEqual(order, [0, 1]);
  reqs[1]!.done();
  reqs[2]!.done();
  t.deepEqual(await Promise.all(results), ['ok', 'ok', 'ok']);
  t.deepEqual(fc.state('a'), { executing: 0, waiting: 0, seats: 1 });
});

test('levels are isolated: a full level does not hold up another one', async (t) => {
  const fc = new FlowControl({ levels: tiny(), serverConcurrency: 2 });
  const busy = held();
  void fc.execute({ flowSchema: 's', priorityLevel: 'a', flow: 'u' }, busy.run);
  void fc.execute({ flowSchema: 's', priorityLevel: 'a', flow: 'u' }, () => Promise.resolve('queued'));
  t.is(await fc.execute({ flowSchema: 's', priorityLevel: 'b', flow: 'u' }, () => Promise.resolve('b ran')), 'b ran');
  t.is(await fc.execute({ flowSchema: 'exempt', priorityLevel: 'exempt', flow: 'root' }, () => Promise.resolve('exempt ran')), 'exempt ran');
  busy.done();
});

test('a freed seat goes to the flows in turn: a flooding flow waits behind its own requests', async (t) => {
  const fc = new FlowControl({ levels: tiny(10, 10), serverConcurrency: 2 });
  const first = held();
  const order: string[] = [];
  const run = (flow: string, tag: string): Promise<string> =>
    fc.execute({ flowSchema: 's', priorityLevel: 'a', flow }, () => {
      order.push(tag);
      return Promise.resolve(tag);
    });
  const all = [
    fc.execute({ flowSchema: 's', priorityLevel: 'a', flow: 'flood' }, first.run),
    run('flood', 'f1'),
    run('flood', 'f2'),
    run('flood', 'f3'),
    run('other', 'o1'),
  ];
  await flush();
  first.done();
  await Promise.all(all);
  t.deepEqual(order, ['f1', 'o1', 'f2', 'f3']);
});

test('a level whose queues are full, or a flow over its queue limit, is refused with 429 TooManyRequests and counted', async (t) => {
  const registry = new Registry();
  const fc = new FlowControl({ levels: tiny(3, 2), serverConcurrency: 2, registry });
  const busy = held();
  const c = (flow: string) => ({ flowSchema: 's', priorityLevel: 'a', flow });
  const running = fc.execute(c('u'), busy.run);
  const waiting = [fc.execute(c('u'), () => Promise.resolve('1')), fc.execute(c('u'), () => Promise.resolve('2'))];
  const err = await t.throwsAsync(() => fc.execute(c('u'), () => Promise.resolve('3')), { instanceOf: TooManyRequestsError });
  t.is(err?.httpCode, 429);
  t.is(err?.details.retryAfterSeconds, 1);
  waiting.push(fc.execute(c('v'), () => Promise.resolve('4')));
  await t.throwsAsync(() => fc.execute(c('w'), () => Promise.resolve('5')), { instanceOf: TooManyRequestsError });
  busy.done();
  t.deepEqual(await Promise.all([running, ...waiting]), ['ok', '1', '2', '4']);
  const text = await registry.metrics();
  t.regex(text, /apiserver_flowcontrol_rejected_requests_total\{priority_level="a",flow_schema="s",reason="queue-full"\} 2/);
  t.regex(text, /apiserver_flowcontrol_nominal_limit_seats\{priority_level="a"\} 1/);
  t.regex(text, /apiserver_flowcontrol_current_inqueue_requests\{priority_level="a",flow_schema="s"\} 0/);
});

test('--enable-priority-and-fairness=false: nothing waits', async (t) => {
  const fc = new FlowControl({ levels: EXEMPT_ONLY, serverConcurrency: 1 });
  const reqs = Array.from({ length: 50 }, () => held());
  let started = 0;
  const all = reqs.map((r) => fc.execute(classify(user('alice'), { verb: 'get', resource: 'pods' }), () => (started++, r.run())));
  await flush();
  t.is(started, 50);
  for (const r of reqs) r.done();
  await Promise.all(all);
});

test('a request that throws frees its seat', async (t) => {
  const fc = new FlowControl({ levels: tiny(), serverConcurrency: 2 });
  await t.throwsAsync(() => fc.execute({ flowSchema: 's', priorityLevel: 'a', flow: 'u' }, () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.deepEqual(fc.state('a'), { executing: 0, waiting: 0, seats: 1 });
});
