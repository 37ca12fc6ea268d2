import test from 'ava';
import type * as core from '../../api/gen/tsk/v1/core';
import { columnsFor, labelColumnHeader, nodeStatus } from '../../api/printers/columns';
import { formatJson, formatYaml, toKubeJson, toKubeList } from './output';
import { podSummary } from '../../api/printers/pod-status';
import { TableWriter, formatTable } from './table';
import { DescribeWriter, describeObject, eventsSection } from './describe';

const now = Date.parse('2024-05-01T12:00:00Z');
const ts = (secondsAgo: number): string => new Date(now - secondsAgo * 1000).toISOString();

function table(kind: Parameters<typeof columnsFor>[0], objs: object[], opts: Parameters<typeof columnsFor>[1] = {}): string {
  const cols = columnsFor(kind, opts);
  return formatTable([[...cols.headers], ...objs.map((o) => cols.row(o, now))]);
}

const runningPod: core.Pod = {
  metadata: { name: 'web', namespace: 'default', creationTimestamp: ts(45), labels: { app: 'web' } },
  spec: { nodeName: 'node-1', containers: [{ name: 'httpd', image: 'busybox' }] },
  status: {
    phase: 'Running',
    podIP: '10.244.1.5',
    containerStatuses: [{ name: 'httpd', ready: true, restartCount: 0, state: { running: { startedAt: ts(40) } } }],
  },
};

test('pods table: kubectl columns and spacing', (t) => {
  const pending: core.Pod = {
    metadata: { name: 'db-7xk2p', creationTimestamp: ts(200) },
    spec: { containers: [{ name: 'a' }, { name: 'b' }] },
    status: { phase: 'Pending' },
  };
  t.is(
    table('Pod', [runningPod, pending]),
    'NAME       READY   STATUS    RESTARTS   AGE\n' + 'web        1/1     Running   0          45s\n' + 'db-7xk2p   0/2     Pending   0          3m20s\n',
  );
});

test('pods table: wide, all namespaces, labels', (t) => {
  t.is(
    table('Pod', [runningPod], { wide: true, withNamespace: true, showLabels: true }),
    'NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES   LABELS\n' +
      'default     web    1/1     Running   0          45s   10.244.1.5   node-1   <none>           <none>            app=web\n',
  );
});

test("-L columns after the kind's, LABELS last and sorted by key, as kubectl decorates tables", (t) => {
  const labelled: core.Pod = { ...runningPod, metadata: { ...runningPod.metadata, labels: { tier: 'front', app: 'web', 'app.kubernetes.io/name': 'shop' } } };
  t.is(
    table('Pod', [labelled, { ...runningPod, metadata: { name: 'bare', creationTimestamp: ts(45) } }], {
      labelColumns: ['app', 'app.kubernetes.io/name'],
      showLabels: true,
    }),
    'NAME   READY   STATUS    RESTARTS   AGE   APP   NAME   LABELS\n' +
      'web    1/1     Running   0          45s   web   shop   app.kubernetes.io/name=shop,app=web,tier=front\n' +
      'bare   1/1     Running   0          45s                <none>\n',
  );
  t.is(labelColumnHeader('example.com/zone-Name'), 'ZONE-NAME');
});

test('pod STATUS follows kubectl: waiting reason, terminated reason, exit code, terminating, init', (t) => {
  const base = (status: core.PodStatus, extra: Partial<core.Pod> = {}): core.Pod => ({
    metadata: { name: 'p', ...extra.metadata },
    spec: { containers: [{ name: 'c' }], initContainers: extra.spec?.initContainers },
    status,
  });
  t.is(
    podSummary(base({ phase: 'Pending', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] }), now).status,
    'ContainerCreating',
  );
  t.is(
    podSummary(base({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), now).status,
    'SchedulingGated',
  );
  t.is(
    podSummary(
      base({
        phase: 'Running',
        containerStatuses: [
          { name: 'c', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ts(90) } } },
        ],
      }),
      now,
    ).status,
    'CrashLoopBackOff',
  );
  t.is(
    podSummary(
      base({
        phase: 'Running',
        containerStatuses: [
          { name: 'c', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ts(90) } } },
        ],
      }),
      now,
    ).restarts,
    '4 (90s ago)',
  );
  t.is(
    podSummary(base({ phase: 'Succeeded', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }), now).status,
    'Completed',
  );
  t.is(podSummary(base({ phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 3 } } }] }), now).status, 'ExitCode:3');
  t.is(podSummary(base({ phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 137, signal: 9 } } }] }), now).status, 'Signal:9');
  t.is(podSummary(base({ phase: 'Running' }, { metadata: { deletionTimestamp: ts(1) } }), now).status, 'Terminating');
  t.is(
    podSummary(base({ phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { running: {} } }] }, { spec: { initContainers: [{ name: 'i' }] } }), now)
      .status,
    'Init:0/1',
  );
  t.is(
    podSummary(
      base({ phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { terminated: { exitCode: 2 } } }] }, { spec: { initContainers: [{ name: 'i' }] } }),
      now,
    ).status,
    'Init:ExitCode:2',
  );
  t.is(podSummary(base({}), now).status, 'Pending');
});

test('pod READY, STATUS and RESTARTS with a sidecar, as kubectl', (t) => {
  const pod = (status: core.PodStatus): core.Pod => ({
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c' }], initContainers: [{ name: 'sc', restartPolicy: 'Always' }, { name: 'i' }] },
    status,
  });
  const starting = podSummary(
    pod({
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'sc', started: false, state: { running: {} } },
        { name: 'i', state: { waiting: {} } },
      ],
    }),
    now,
  );
  t.deepEqual([starting.ready, starting.status], ['0/2', 'Init:0/2']);
  const initRunning = podSummary(
    pod({
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'sc', started: true, ready: true, state: { running: {} } },
        { name: 'i', state: { running: {} } },
      ],
    }),
    now,
  );
  t.deepEqual([initRunning.ready, initRunning.status], ['1/2', 'Init:1/2']);
  const running = podSummary(
    pod({
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
      initContainerStatuses: [
        { name: 'sc', started: true, ready: true, restartCount: 2, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ts(30) } } },
        { name: 'i', restartCount: 5, state: { terminated: { exitCode: 0 } } },
      ],
      containerStatuses: [{ name: 'c', ready: true, restartCount: 1, state: { running: {} } }],
    }),
    now,
  );
  t.deepEqual(
    [running.ready, running.status, running.restarts],
    ['2/2', 'Running', '3 (30s ago)'],
    'restarts of the sidecar and the app, not of the finished init container',
  );
});

test('rc, service, endpoints, node, namespace and event tables', (t) => {
  t.is(
    table('ReplicationController', [
      { metadata: { name: 'web', creationTimestamp: ts(3 * 3600) }, spec: { replicas: 3 }, status: { replicas: 3, readyReplicas: 2 } },
    ]),
    'NAME   DESIRED   CURRENT   READY   AGE\nweb    3         3         2       3h\n',
  );
  t.is(
    table('Service', [
      {
        metadata: { name: 'web', creationTimestamp: ts(60) },
        spec: {
          type: 'NodePort',
          clusterIP: '10.96.0.12',
          ports: [
            { port: 80, protocol: 'TCP', nodePort: 30080 },
            { port: 53, protocol: 'UDP' },
          ],
        },
      },
      {
        metadata: { name: 'kubernetes', creationTimestamp: ts(2 * 86400 + 3 * 3600) },
        spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ port: 443, protocol: 'TCP' }] },
      },
    ]),
    'NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)               AGE\n' +
      'web          NodePort    10.96.0.12   <none>        80:30080/TCP,53/UDP   60s\n' +
      'kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP               2d3h\n',
  );
  t.is(
    table('Endpoints', [
      {
        metadata: { name: 'web', creationTimestamp: ts(5) },
        subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }], ports: [{ port: 80 }] }],
      },
      { metadata: { name: 'empty', creationTimestamp: ts(5) } },
    ]),
    'NAME    ENDPOINTS                                         AGE\n' +
      'web     10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...   5s\n' +
      'empty   <none>                                            5s\n',
  );
  t.is(
    table('Node', [
      {
        metadata: { name: 'node-1', creationTimestamp: ts(600), labels: { 'node-role.kubernetes.io/control-plane': '' } },
        spec: { unschedulable: true },
        status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v0.1.0' } },
      },
    ]),
    'NAME     STATUS                     ROLES           AGE   VERSION\nnode-1   Ready,SchedulingDisabled   control-plane   10m   v0.1.0\n',
  );
  t.is(
    table('Namespace', [{ metadata: { name: 'default', creationTimestamp: ts(30) }, status: { phase: 'Active' } }]),
    'NAME      STATUS   AGE\ndefault   Active   30s\n',
  );
  t.is(
    table('Event', [
      {
        metadata: { name: 'web.1' },
        lastTimestamp: ts(12),
        type: 'Normal',
        reason: 'Scheduled',
        involvedObject: { kind: 'Pod', name: 'web' },
        message: 'Successfully assigned default/web to node-1',
      },
    ]),
    'LAST SEEN   TYPE     REASON      OBJECT    MESSAGE\n12s         Normal   Scheduled   pod/web   Successfully assigned default/web to node-1\n',
  );
});

test('table widths are remembered: later rows line up, wider cells widen', (t) => {
  const w = new TableWriter();
  t.deepEqual(
    w.format([
      ['NAME', 'STATUS'],
      ['a', 'Running'],
    ]),
    ['NAME   STATUS', 'a      Running'],
  );
  t.deepEqual(w.format([['b', 'Pending']]), ['b      Pending']);
  t.deepEqual(w.format([['a-much-longer-name', 'x']]), ['a-much-longer-name   x']);
});

test('-o yaml: sorted keys, sequences unindented as kubectl, v1 List for several', (t) => {
  const pod: core.Pod = {
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }] }] },
  };
  t.is(
    formatYaml(toKubeJson('Pod', pod)),
    'apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    app: web\n  name: web\nspec:\n  containers:\n  - image: busybox\n    name: c\n    ports:\n    - containerPort: 80\n',
  );
  const list = formatYaml(toKubeList('Pod', [pod]));
  t.true(list.startsWith('apiVersion: v1\nitems:\n- apiVersion: v1\n'));
  t.true(list.endsWith('kind: List\nmetadata:\n  resourceVersion: ""\n') || list.endsWith("kind: List\nmetadata:\n  resourceVersion: ''\n"));
  t.is(
    formatJson(toKubeJson('Namespace', { metadata: { name: 'x' } })),
    '{\n    "apiVersion": "v1",\n    "kind": "Namespace",\n    "metadata": {\n        "name": "x"\n    }\n}\n',
  );
});

test('describe: aligned fields, containers, events table', (t) => {
  const w = describeObject('Pod', runningPod, now);
  eventsSection(
    w,
    [
      {
        type: 'Normal',
        reason: 'Scheduled',
        lastTimestamp: ts(30),
        source: { component: 'default-scheduler' },
        message: 'Successfully assigned default/web to node-1',
      },
    ],
    now,
  );
  const text = w.toString();
  t.regex(text, /^Name:\s+web\nNamespace:\s+default\n/);
  t.regex(text, /\nNode:\s+node-1\n/);
  t.regex(text, /\nStatus:\s+Running\n/);
  t.regex(text, /\nIP:\s+10\.244\.1\.5\n/);
  t.regex(text, /\nContainers:\n {2}httpd:\n {4}Image:\s+busybox\n/);
  t.regex(text, /\n {4}State:\s+Running\n {6}Started:/);
  t.regex(text, /\n {4}Restart Count:\s+0\n/);
  t.regex(
    text,
    /\nEvents:\n {2}Type {4}Reason {5}Age {3}From {15}Message\n {2}---- {4}------ {5}---- {2}---- {15}-------\n {2}Normal {2}Scheduled {2}30s {3}default-scheduler {2}Successfully assigned default\/web to node-1\n$/,
  );
  t.regex(text, /\n {4}Image: {10}busybox\n/, 'values of one block start in one column');
  const none = new DescribeWriter();
  eventsSection(none, [], now);
  t.is(none.toString(), 'Events:  <none>\n');
});

test('node STATUS as kubectl: Ready only when True; False and Unknown (a silent node) are NotReady', (t) => {
  const node = (status?: string, unschedulable = false): core.Node => ({
    metadata: { name: 'n' },
    spec: { unschedulable },
    status: { conditions: status ? [{ type: 'Ready', status }] : [] },
  });
  t.is(nodeStatus(node('True')), 'Ready');
  t.is(nodeStatus(node('False')), 'NotReady');
  t.is(nodeStatus(node('Unknown')), 'NotReady');
  t.is(nodeStatus(node()), 'Unknown');
  t.is(nodeStatus(node('True', true)), 'Ready,SchedulingDisabled');
});

test('services: EXTERNAL-IP as kubectl (<pending>, ingress IPs sorted and cut without -o wide, the externalName)', (t) => {
  const lb = (name: string, ingress: core.LoadBalancerIngress[]): core.Service => ({
    metadata: { name, creationTimestamp: ts(60) },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.20', ports: [{ port: 80, protocol: 'TCP', nodePort: 31234 }] },
    status: { loadBalancer: { ingress } },
  });
  const services = [
    lb('pending', []),
    lb('one', [{ ip: '172.30.0.2', ipMode: 'VIP' }]),
    lb('two', [{ ip: '172.30.0.3' }, { ip: '172.30.0.2' }]),
    { metadata: { name: 'db', creationTimestamp: ts(60) }, spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [] } },
  ];
  t.is(
    table('Service', services),
    'NAME      TYPE           CLUSTER-IP   EXTERNAL-IP        PORT(S)        AGE\n' +
      'pending   LoadBalancer   10.96.0.20   <pending>          80:31234/TCP   60s\n' +
      'one       LoadBalancer   10.96.0.20   172.30.0.2         80:31234/TCP   60s\n' +
      'two       LoadBalancer   10.96.0.20   172.30.0.2,17...   80:31234/TCP   60s\n' +
      'db        ExternalName   <none>       db.example.com     <none>         60s\n',
  );
  t.regex(table('Service', [services[2]!], { wide: true }), /172\.30\.0\.2,172\.30\.0\.3/);
  const text = describeObject('Service', services[2]!, now).toString();
  t.regex(text, /\nLoadBalancer Ingress:\s+172\.30\.0\.3, 172\.30\.0\.2\n/);
  t.regex(text, /\nExternal Traffic Policy:\s+Cluster\n/);
  t.regex(describeObject('Service', services[3]!, now).toString(), /\nExternal Name:\s+db\.example\.com\n/);
});

test('describe secret: keys with byte sizes as kubectl, never the values', (t) => {
  const secret: core.Secret = {
    metadata: { name: 'db-user-pass', namespace: 'default' },
    type: 'Opaque',
    data: { username: Buffer.from('admin'), password: Buffer.from('S!B\\*d$zDsb=') },
  };
  const text = describeObject('Secret', secret, now).toString();
  t.is(
    text,
    'Name:         db-user-pass\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\nType:  Opaque\n\nData\n====\npassword:  12 bytes\nusername:  5 bytes\n',
  );
  t.false(text.includes('admin'));
});

test('describe configmap: each value under its key, binaryData by size, as kubectl', (t) => {
  const cm: core.ConfigMap = {
    metadata: { name: 'game-config', namespace: 'default' },
    data: { 'ui.properties': 'color.good=purple\n', 'game.properties': 'lives=3' },
    binaryData: { logo: Buffer.alloc(3) },
  };
  const w = describeObject('ConfigMap', cm, now);
  eventsSection(w, [], now);
  t.is(
    w.toString(),
    'Name:         game-config\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\nData\n====\ngame.properties:\n----\nlives=3\n\nui.properties:\n----\ncolor.good=purple\n\n\n\nBinaryData\n====\nlogo: 3 bytes\n\nEvents:  <none>\n',
  );
});

test('get secret -o yaml: data in base64, as kubectl', (t) => {
  const s: core.Secret = { metadata: { name: 's' }, type: 'Opaque', data: { password: Buffer.from('hunter2') } };
  const yaml = formatYaml(toKubeJson('Secret', s));
  t.is(yaml, 'apiVersion: v1\ndata:\n  password: aHVudGVyMg==\nkind: Secret\nmetadata:\n  name: s\ntype: Opaque\n');
});

test("leases: kubectl's NAME HOLDER AGE, and describe's spec block", (t) => {
  const lease: core.Lease = {
    apiVersion: 'coordination.k8s.io/v1',
    metadata: { name: 'kube-scheduler', namespace: 'kube-system', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: { holderIdentity: 'host-1_abc', leaseDurationSeconds: 15, leaseTransitions: 2, renewTime: '2024-05-01T11:59:58.000000Z' },
  };
  const cols = columnsFor('Lease', { withNamespace: true });
  t.deepEqual(cols.headers, ['NAMESPACE', 'NAME', 'HOLDER', 'AGE']);
  t.deepEqual(cols.row(lease, now), ['kube-system', 'kube-scheduler', 'host-1_abc', '60m']);
  t.deepEqual(
    columnsFor('Lease')
      .row({ metadata: { name: 'free' } }, now)
      .slice(0, 2),
    ['free', ''],
  );
  const text = describeObject('Lease', lease, now).toString();
  t.regex(text, /^Name: +kube-scheduler\nNamespace: +kube-system\n/);
  t.regex(
    text,
    /\nAPI Version: +coordination\.k8s\.io\/v1\nKind: +Lease\nSpec:\n {2}Holder Identity: +host-1_abc\n {2}Lease Duration Seconds: +15\n {2}Lease Transitions: +2\n {2}Renew Time: +2024-05-01T11:59:58\.000000Z\n/,
  );
});
