import test from 'ava';
import { escapeFieldValue, fieldValue, FieldSelectorParseError, parseFieldSelector, supportedFields } from './fields';
import type { KindName, KindObjects } from './kinds';

const pod: KindObjects['Pod'] = {
  metadata: { name: 'web-1', namespace: 'default' },
  spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', hostNetwork: false },
  status: { phase: 'Running', podIP: '10.244.0.5' },
};
const pendingPod: KindObjects['Pod'] = { metadata: { name: 'web-2', namespace: 'prod' }, spec: {}, status: { phase: 'Pending' } };

test('valid selectors print canonically', (t) => {
  const cases: Array<[string, string]> = [
    ['', ''],
    ['spec.nodeName=node-a', 'spec.nodeName=node-a'],
    ['spec.nodeName==node-a', 'spec.nodeName=node-a'],
    ['status.phase!=Failed,metadata.name=x', 'metadata.name=x,status.phase!=Failed'],
    ['spec.nodeName=', 'spec.nodeName='],
    ['metadata.name=a,', 'metadata.name=a'],
    [' metadata.name = a ', 'metadata.name=a'],
    ['metadata.name=a\\,b', 'metadata.name=a\\,b'],
  ];
  for (const [sel, canonical] of cases) t.is(parseFieldSelector(sel, 'Pod').toString(), canonical, sel);
});

test("unsupported fields are refused in Kubernetes' words", (t) => {
  const err = t.throws(() => parseFieldSelector('spec.foo=bar', 'Pod'), { instanceOf: FieldSelectorParseError });
  t.is(err.message, 'field label not supported: spec.foo');
  t.throws(() => parseFieldSelector('spec.nodeName=x', 'Service'), { message: 'field label not supported: spec.nodeName' });
  t.throws(() => parseFieldSelector('status.phase=Active', 'Node'), { message: 'field label not supported: status.phase' });
});

test('malformed terms and escapes are refused', (t) => {
  const cases: Array<[string, string]> = [
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['a=b,c', "can't understand 'c'"],
    ['=b', "can't understand '=b'"],
    ['metadata.name=a=b', 'invalid field selector: unescaped character in value: ='],
    ['metadata.name=a\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['metadata.name=a\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [sel, message] of cases) {
    const err = t.throws(() => parseFieldSelector(sel, 'Pod'), { instanceOf: FieldSelectorParseError }, sel);
    t.true(err.message.includes(message), `${sel}: ${err.message}`);
  }
});

test('matches pods', (t) => {
  const cases: Array<[string, KindObjects['Pod'], boolean]> = [
    ['', pod, true],
    ['spec.nodeName=node-a', pod, true],
    ['spec.nodeName=node-b', pod, false],
    ['spec.nodeName=', pendingPod, true],
    ['spec.nodeName=', pod, false],
    ['spec.nodeName!=', pod, true],
    ['status.phase!=Running', pod, false],
    ['status.phase!=Running', pendingPod, true],
    ['metadata.namespace=prod,status.phase=Pending', pendingPod, true],
    ['metadata.namespace=prod,status.phase=Running', pendingPod, false],
    ['metadata.name=web-1,metadata.namespace=default', pod, true],
    ['spec.hostNetwork=false', pod, true],
    ['spec.hostNetwork=false', pendingPod, true],
    ['status.podIP=10.244.0.5', pod, true],
    ['spec.restartPolicy=Always,spec.schedulerName=default-scheduler', pod, true],
  ];
  for (const [sel, obj, expected] of cases) t.is(parseFieldSelector(sel, 'Pod').matches(obj), expected, sel);
});

test('escaped values match the unescaped field', (t) => {
  const odd: KindObjects['Event'] = { metadata: { name: 'e' }, reason: 'a,b=c\\d' };
  const sel = parseFieldSelector(`reason=${escapeFieldValue('a,b=c\\d')}`, 'Event');
  t.is(sel.requirements[0]?.value, 'a,b=c\\d');
  t.true(sel.matches(odd));
});

test('event, node, namespace, service and rc fields', (t) => {
  const ev: KindObjects['Event'] = {
    metadata: { name: 'web-1.abc', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{web}' },
    reason: 'Scheduled',
    source: { component: 'default-scheduler' },
    type: 'Normal',
  };
  const evSel = parseFieldSelector(
    'involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u1,involvedObject.apiVersion=v1,involvedObject.resourceVersion=7,involvedObject.fieldPath=spec.containers{web},reason=Scheduled,source=default-scheduler,type=Normal',
    'Event',
  );
  t.true(evSel.matches(ev));
  t.false(parseFieldSelector('type=Warning', 'Event').matches(ev));

  const node: KindObjects['Node'] = { metadata: { name: 'n1' }, spec: { unschedulable: true } };
  t.true(parseFieldSelector('spec.unschedulable=true', 'Node').matches(node));
  t.false(parseFieldSelector('spec.unschedulable=false', 'Node').matches(node));
  t.true(parseFieldSelector('spec.unschedulable=false', 'Node').matches({ metadata: { name: 'n2' } }));

  const ns: KindObjects['Namespace'] = { metadata: { name: 'prod' }, status: { phase: 'Terminating' } };
  t.true(parseFieldSelector('status.phase=Terminating,metadata.name=prod', 'Namespace').matches(ns));

  const svc: KindObjects['Service'] = { metadata: { name: 's', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', type: 'ClusterIP' } };
  t.true(parseFieldSelector('spec.clusterIP=10.96.0.1,spec.type=ClusterIP', 'Service').matches(svc));

  const rc: KindObjects['ReplicationController'] = { metadata: { name: 'r' }, status: { replicas: 3 } };
  t.true(parseFieldSelector('status.replicas=3', 'ReplicationController').matches(rc));
  t.true(parseFieldSelector('status.replicas=0', 'ReplicationController').matches({ metadata: { name: 'r' } }));
});

test('every kind supports metadata.name and metadata.namespace', (t) => {
  const kinds: KindName[] = ['Pod', 'ReplicationController', 'Service', 'Endpoints', 'Node', 'Namespace', 'Event'];
  for (const k of kinds) {
    t.true(supportedFields(k).includes('metadata.name'), k);
    t.true(supportedFields(k).includes('metadata.namespace'), k);
  }
});

test('fieldValue reads values and reports unsupported fields as undefined', (t) => {
  t.is(fieldValue('Pod', pod, 'spec.nodeName'), 'node-a');
  t.is(fieldValue('Pod', pendingPod, 'spec.nodeName'), '');
  t.is(fieldValue('Pod', pod, 'spec.foo'), undefined);
  t.is(fieldValue('Pod', pod, 'toString'), undefined);
});

test('requiresExactMatch', (t) => {
  const s = parseFieldSelector('spec.nodeName=n1,status.phase!=Failed', 'Pod');
  t.is(s.requiresExactMatch('spec.nodeName'), 'n1');
  t.is(s.requiresExactMatch('status.phase'), undefined);
  t.true(parseFieldSelector('', 'Pod').empty());
});
