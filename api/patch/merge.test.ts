import test from 'ava';
import { jsonEqual, threeWayMerge, type JsonMap } from './merge';

interface Case {
  name: string;
  type: string;
  original?: JsonMap;
  modified: JsonMap;
  live: JsonMap;
  want: JsonMap;
}

const pod = (spec: JsonMap, meta: JsonMap = {}, extra: JsonMap = {}): JsonMap => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', ...meta },
  spec,
  ...extra,
});

const cases: Case[] = [
  {
    name: 'first apply onto an existing object removes nothing',
    type: 'tsk.v1.Pod',
    modified: pod({ containers: [{ name: 'c', image: 'busybox' }] }, { labels: { app: 'web' } }),
    live: pod({ containers: [{ name: 'c', image: 'old', imagePullPolicy: 'Always' }], nodeName: 'n1' }, { labels: { extra: 'x' }, uid: 'u1' }),
    want: pod({ containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'Always' }], nodeName: 'n1' }, { labels: { extra: 'x', app: 'web' }, uid: 'u1' }),
  },
  {
    name: 'a label removed from the file is removed; labels others set are kept',
    type: 'tsk.v1.Pod',
    original: pod({}, { labels: { app: 'web', tier: 'front' } }),
    modified: pod({}, { labels: { app: 'web' } }),
    live: pod({}, { labels: { app: 'web', tier: 'front', team: 'ops' }, resourceVersion: '7' }),
    want: pod({}, { labels: { app: 'web', team: 'ops' }, resourceVersion: '7' }),
  },
  {
    name: 'status and system-set fields are kept',
    type: 'tsk.v1.Pod',
    original: pod({ containers: [{ name: 'c', image: 'a' }] }),
    modified: pod({ containers: [{ name: 'c', image: 'b' }] }),
    live: pod(
      { containers: [{ name: 'c', image: 'a', imagePullPolicy: 'IfNotPresent' }], nodeName: 'n1', restartPolicy: 'Always' },
      { uid: 'u', creationTimestamp: 't' },
      { status: { phase: 'Running', podIP: '10.0.0.2' } },
    ),
    want: pod(
      { containers: [{ name: 'c', image: 'b', imagePullPolicy: 'IfNotPresent' }], nodeName: 'n1', restartPolicy: 'Always' },
      { uid: 'u', creationTimestamp: 't' },
      { status: { phase: 'Running', podIP: '10.0.0.2' } },
    ),
  },
  {
    name: 'containers merge by name: removed ones go, added ones come, others keep their place',
    type: 'tsk.v1.Pod',
    original: pod({
      containers: [
        { name: 'a', image: 'x' },
        { name: 'b', image: 'y' },
      ],
    }),
    modified: pod({
      containers: [
        { name: 'a', image: 'x' },
        { name: 'c', image: 'z' },
      ],
    }),
    live: pod({
      containers: [
        { name: 'a', image: 'x', tty: true },
        { name: 'b', image: 'y' },
        { name: 'sidecar', image: 's' },
      ],
    }),
    want: pod({
      containers: [
        { name: 'a', image: 'x', tty: true },
        { name: 'c', image: 'z' },
        { name: 'sidecar', image: 's' },
      ],
    }),
  },
  {
    name: 'container ports merge by containerPort, keeping the defaulted protocol',
    type: 'tsk.v1.Pod',
    original: pod({ containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 81 }] }] }),
    modified: pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'http' }] }] }),
    live: pod({
      containers: [
        {
          name: 'a',
          ports: [
            { containerPort: 80, protocol: 'TCP' },
            { containerPort: 81, protocol: 'TCP' },
          ],
        },
      ],
    }),
    want: pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }] }),
  },
  {
    name: 'env by name, volumeMounts by mountPath, volumes by name',
    type: 'tsk.v1.Pod',
    original: pod({
      volumes: [{ name: 'v1', emptyDir: {} }],
      containers: [
        {
          name: 'a',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
          volumeMounts: [{ name: 'v1', mountPath: '/d' }],
        },
      ],
    }),
    modified: pod({
      volumes: [{ name: 'v2', emptyDir: {} }],
      containers: [{ name: 'a', env: [{ name: 'B', value: '3' }], volumeMounts: [{ name: 'v2', mountPath: '/e' }] }],
    }),
    live: pod({
      volumes: [{ name: 'v1', emptyDir: {} }],
      containers: [
        {
          name: 'a',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
          volumeMounts: [{ name: 'v1', mountPath: '/d' }],
        },
      ],
    }),
    want: pod({
      volumes: [{ name: 'v2', emptyDir: {} }],
      containers: [{ name: 'a', env: [{ name: 'B', value: '3' }], volumeMounts: [{ name: 'v2', mountPath: '/e' }] }],
    }),
  },
  {
    name: 'lists without a merge key (command, args) are replaced',
    type: 'tsk.v1.Pod',
    original: pod({ containers: [{ name: 'a', command: ['sh', '-c', 'x'] }] }),
    modified: pod({ containers: [{ name: 'a', command: ['httpd'] }] }),
    live: pod({ containers: [{ name: 'a', command: ['sh', '-c', 'x'] }] }),
    want: pod({ containers: [{ name: 'a', command: ['httpd'] }] }),
  },
  {
    name: 'service: clusterIP and nodePort kept, ports merge by port, removed selector key goes',
    type: 'tsk.v1.Service',
    original: { metadata: { name: 's' }, spec: { type: 'NodePort', selector: { app: 'web', tier: 'x' }, ports: [{ port: 80 }] } },
    modified: { metadata: { name: 's' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    live: {
      metadata: { name: 's', uid: 'u' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.0.10',
        selector: { app: 'web', tier: 'x' },
        ports: [{ port: 80, targetPort: 80, protocol: 'TCP', nodePort: 30080 }],
        sessionAffinity: 'None',
      },
    },
    want: {
      metadata: { name: 's', uid: 'u' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.0.10',
        selector: { app: 'web' },
        ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }],
        sessionAffinity: 'None',
      },
    },
  },
  {
    name: 'rc: template containers merge by name deep inside, replicas replaced, status kept',
    type: 'tsk.v1.ReplicationController',
    original: { metadata: { name: 'r' }, spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image: 'a' }] } } } },
    modified: { metadata: { name: 'r' }, spec: { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'b' }] } } } },
    live: {
      metadata: { name: 'r' },
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image: 'a', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always' } } },
      status: { replicas: 2 },
    },
    want: {
      metadata: { name: 'r' },
      spec: { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'b', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always' } } },
      status: { replicas: 2 },
    },
  },
  {
    name: 'a whole section removed from the file is removed',
    type: 'tsk.v1.Pod',
    original: pod({ nodeSelector: { disk: 'ssd' }, containers: [{ name: 'a' }] }, { annotations: { note: 'x' } }),
    modified: pod({ containers: [{ name: 'a' }] }),
    live: pod({ nodeSelector: { disk: 'ssd' }, containers: [{ name: 'a' }] }, { annotations: { note: 'x', other: 'y' } }),
    want: pod({ containers: [{ name: 'a' }] }, { annotations: { other: 'y' } }),
  },
  {
    name: 'int-or-string values are replaced as scalars',
    type: 'tsk.v1.Service',
    original: { metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 'http' }] } },
    modified: { metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } },
    live: { metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 'http', protocol: 'TCP' }] } },
    want: { metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] } },
  },
];

for (const c of cases) {
  test(`three-way merge: ${c.name}`, (t) => {
    const before = JSON.stringify(c.live);
    const got = threeWayMerge(c.type, c.original, c.modified, c.live);
    t.deepEqual(got, c.want);
    t.is(JSON.stringify(c.live), before, 'live is not mutated');
  });
}

test('applying the same file twice changes nothing', (t) => {
  const file = pod({ containers: [{ name: 'a', image: 'x' }] }, { labels: { app: 'web' } });
  const live = pod(
    { containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Always' }] },
    { labels: { app: 'web' }, uid: 'u' },
    { status: { phase: 'Running' } },
  );
  const merged = threeWayMerge('tsk.v1.Pod', file, file, live);
  t.true(jsonEqual(merged, live));
});

test('jsonEqual ignores key order but not list order', (t) => {
  t.true(jsonEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }));
  t.false(jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
  t.false(jsonEqual({ a: 1 }, { a: 1, b: null }));
});
