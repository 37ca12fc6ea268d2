import test from 'ava';
import type { Pod, ReplicationController } from '../api/gen/tsk/v1/core';
import type { KindName, KindObjects } from '../api/kinds';
import { applyDefaults, defaultPullPolicy, imageTag } from './defaults';
import { raw } from './validation/fixtures';

function defaulted<K extends KindName>(kind: K, obj: KindObjects[K]): KindObjects[K] {
  applyDefaults(kind, obj);
  return obj;
}

const IMAGES: Array<[string, string, string]> = [
  ['nginx', 'latest', 'Always'],
  ['nginx:latest', 'latest', 'Always'],
  ['nginx:1.25', '1.25', 'IfNotPresent'],
  ['docker.io/library/nginx', 'latest', 'Always'],
  ['registry:5000/team/app', 'latest', 'Always'],
  ['registry:5000/team/app:v2', 'v2', 'IfNotPresent'],
  ['nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '', 'IfNotPresent'],
  ['nginx:1.25@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '1.25', 'IfNotPresent'],
  ['localhost:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', '', 'IfNotPresent'],
];

for (const [image, tag, policy] of IMAGES) {
  test(`image ${image}: tag ${JSON.stringify(tag)}, pull policy ${policy}`, (t) => {
    t.is(imageTag(image), tag);
    t.is(defaultPullPolicy(image), policy);
  });
}

test('pod defaults', (t) => {
  const pod = defaulted('Pod', raw('Pod'));
  const spec = pod.spec!;
  t.is(spec.restartPolicy, 'Always');
  t.is(spec.terminationGracePeriodSeconds, 30);
  t.is(spec.dnsPolicy, 'ClusterFirst');
  t.is(spec.schedulerName, 'default-scheduler');
  const web = spec.containers![0]!;
  t.is(web.imagePullPolicy, 'IfNotPresent');
  t.is(spec.containers![1]!.imagePullPolicy, 'Always');
  t.is(spec.initContainers![0]!.imagePullPolicy, 'IfNotPresent');
  t.is(spec.initContainers![0]!.terminationMessagePath, '/dev/termination-log');
  t.is(web.terminationMessagePath, '/dev/termination-log');
  t.is(web.ports![0]!.protocol, 'TCP');
  t.is(web.ports![0]!.hostPort, undefined);
  t.is(web.env![1]!.valueFrom!.fieldRef!.apiVersion, 'v1');
  t.like(web.livenessProbe, { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  t.like(web.livenessProbe!.httpGet, { path: '/', scheme: 'HTTP' });
  t.like(web.readinessProbe, { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
});

test("lifecycle hooks' httpGet gets the path and scheme defaults of a probe's, as Kubernetes' SetDefaults_HTTPGetAction", (t) => {
  const pod = raw('Pod');
  pod.spec!.containers![0]!.lifecycle = {
    postStart: { httpGet: { port: { type: 0, intVal: 80 } } },
    preStop: { httpGet: { path: '/quit', scheme: 'HTTPS', port: { type: 0, intVal: 80 } } },
  };
  const c = defaulted('Pod', pod).spec!.containers![0]!;
  t.like(c.lifecycle?.postStart?.httpGet, { path: '/', scheme: 'HTTP' });
  t.like(c.lifecycle?.preStop?.httpGet, { path: '/quit', scheme: 'HTTPS' });
});

test('pod defaults keep what the user set', (t) => {
  const pod: Pod = {
    metadata: { name: 'p' },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      dnsPolicy: 'Default',
      schedulerName: 'mine',
      containers: [
        {
          name: 'c',
          image: 'nginx',
          imagePullPolicy: 'Never',
          ports: [{ containerPort: 53, protocol: 'UDP' }],
          livenessProbe: { httpGet: { path: '/healthz', scheme: 'HTTPS', port: { type: 0, intVal: 8443 } }, periodSeconds: 3, failureThreshold: 1 },
        },
      ],
    },
  };
  applyDefaults('Pod', pod);
  const spec = pod.spec!;
  t.is(spec.restartPolicy, 'Never');
  t.is(spec.terminationGracePeriodSeconds, 0);
  t.is(spec.dnsPolicy, 'Default');
  t.is(spec.schedulerName, 'mine');
  const c = spec.containers![0]!;
  t.is(c.imagePullPolicy, 'Never');
  t.is(c.ports![0]!.protocol, 'UDP');
  t.like(c.livenessProbe, { periodSeconds: 3, failureThreshold: 1, timeoutSeconds: 1, successThreshold: 1 });
  t.like(c.livenessProbe!.httpGet, { path: '/healthz', scheme: 'HTTPS' });
});

test('pod requests default to limits; host network ports become host ports; sourceless volumes are emptyDir', (t) => {
  const pod: Pod = {
    metadata: { name: 'p' },
    spec: {
      hostNetwork: true,
      volumes: [{ name: 'scratch' }],
      containers: [
        { name: 'c', image: 'x:1', ports: [{ containerPort: 8080 }], resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '250m' } } },
      ],
    },
  };
  applyDefaults('Pod', pod);
  const c = pod.spec!.containers![0]!;
  t.deepEqual(c.resources!.requests, { cpu: '250m', memory: '1Gi' });
  t.is(c.ports![0]!.hostPort, 8080);
  t.deepEqual(pod.spec!.volumes![0]!.emptyDir, {});
});

test('configMap, secret, downwardAPI and projected volumes keep their source and get defaultMode 0644', (t) => {
  const pod: Pod = {
    metadata: { name: 'p' },
    spec: {
      volumes: [
        { name: 'c', configMap: { name: 'cfg' } },
        { name: 's', secret: { secretName: 'sec', defaultMode: 0o400 } },
        { name: 'd', downwardAPI: { items: [] } },
        { name: 'p', projected: { sources: [] } },
      ],
      containers: [{ name: 'c', image: 'x:1' }],
    },
  };
  applyDefaults('Pod', pod);
  const [c, s, d, p] = pod.spec!.volumes!;
  t.is(c!.emptyDir, undefined);
  t.is(c!.configMap!.defaultMode, 0o644);
  t.is(s!.secret!.defaultMode, 0o400);
  t.is(d!.downwardAPI!.defaultMode, 0o644);
  t.is(p!.projected!.defaultMode, 0o644);
});

test('defaulting is idempotent', (t) => {
  for (const kind of ['Pod', 'ReplicationController', 'Service', 'Endpoints', 'Node', 'Namespace', 'Event'] as const) {
    const once = defaulted(kind, raw(kind));
    const twice = defaulted(kind, structuredClone(once));
    t.deepEqual(twice, once, kind);
  }
});

test('replication controller defaults', (t) => {
  const rc = raw('ReplicationController');
  rc.spec!.selector = {};
  delete rc.spec!.replicas;
  applyDefaults('ReplicationController', rc);
  t.deepEqual(rc.spec!.selector, { app: 'web', tier: 'fe' });
  t.deepEqual(rc.metadata!.labels, { app: 'web', tier: 'fe' });
  t.is(rc.spec!.replicas as number | undefined, 1);
  const pod = rc.spec!.template!.spec!;
  t.is(pod.restartPolicy, 'Always');
  t.is(pod.containers![0]!.ports![0]!.protocol, 'TCP');
  t.is(pod.containers![0]!.imagePullPolicy, 'IfNotPresent');

  const zero = raw('ReplicationController');
  zero.spec!.replicas = 0;
  zero.metadata!.labels = { own: 'x' };
  applyDefaults('ReplicationController', zero);
  t.is(zero.spec!.replicas, 0, 'an explicit 0 stays');
  t.deepEqual(zero.spec!.selector, { app: 'web' }, 'an explicit selector stays');
  t.deepEqual(zero.metadata!.labels, { own: 'x' });
});

test('service defaults', (t) => {
  const svc = defaulted('Service', raw('Service'));
  t.is(svc.spec!.type, 'ClusterIP');
  t.is(svc.spec!.sessionAffinity, 'None');
  t.is(svc.spec!.internalTrafficPolicy, 'Cluster');
  t.is(svc.spec!.externalTrafficPolicy, undefined);
  t.is(svc.spec!.ports![0]!.protocol, 'TCP');
  t.deepEqual(svc.spec!.ports![0]!.targetPort, { type: 1, strVal: 'http' });
  t.deepEqual(svc.spec!.ports![1]!.targetPort, { type: 0, intVal: 9090 });

  const np = raw('Service');
  np.spec!.type = 'NodePort';
  np.spec!.sessionAffinity = 'ClientIP';
  np.spec!.ports![1]!.targetPort = { type: 0, intVal: 0 };
  applyDefaults('Service', np);
  t.is(np.spec!.externalTrafficPolicy, 'Cluster');
  t.is(np.spec!.sessionAffinityConfig?.clientIP?.timeoutSeconds, 10800);
  t.deepEqual(np.spec!.ports![1]!.targetPort, { type: 0, intVal: 9090 });
});

test('endpoints, node, namespace and event defaults', (t) => {
  const ep = raw('Endpoints');
  applyDefaults('Endpoints', ep);
  t.deepEqual(
    ep.subsets![0]!.ports!.map((p) => p.protocol),
    ['TCP', 'TCP'],
  );

  const node = defaulted('Node', raw('Node'));
  t.deepEqual(node.status!.allocatable, node.status!.capacity);
  const own = raw('Node');
  own.status!.allocatable = { cpu: '1500m' };
  applyDefaults('Node', own);
  t.deepEqual(own.status!.allocatable, { cpu: '1500m' });

  const ns = defaulted('Namespace', raw('Namespace'));
  t.is(ns.status!.phase, 'Active');
  t.is(ns.metadata!.labels!['kubernetes.io/metadata.name'], 'prod');

  const ev = defaulted('Event', raw('Event'));
  t.is(ev.type, 'Normal');
  t.is(ev.count, 1);
  const warn = raw('Event');
  warn.type = 'Warning';
  warn.count = 5;
  applyDefaults('Event', warn);
  t.is(warn.type, 'Warning');
  t.is(warn.count, 5);
});

test('defaults apply to objects decoded from protobuf (zero values)', (t) => {
  const pod: Pod = {
    metadata: { name: 'p' },
    spec: {
      restartPolicy: '',
      dnsPolicy: '',
      schedulerName: '',
      containers: [{ name: 'c', image: 'nginx:1', imagePullPolicy: '', terminationMessagePath: '', ports: [{ containerPort: 80, protocol: '' }] }],
    },
  };
  applyDefaults('Pod', pod);
  t.is(pod.spec!.restartPolicy, 'Always');
  t.is(pod.spec!.containers![0]!.imagePullPolicy, 'IfNotPresent');
  t.is(pod.spec!.containers![0]!.ports![0]!.protocol, 'TCP');
});

test('DefaultTolerationSeconds: a pod tolerates not-ready and unreachable NoExecute for 300 s', (t) => {
  const pod: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } };
  applyDefaults('Pod', pod);
  t.deepEqual(pod.spec!.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ]);
});

test("DefaultTolerationSeconds: a pod's own toleration of a taint is kept, and so is a match-all one", (t) => {
  const own: Pod = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'x:1' }], tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 5 }] },
  };
  applyDefaults('Pod', own);
  t.deepEqual(
    own.spec!.tolerations!.map((x) => `${x.key}:${x.tolerationSeconds}`),
    ['node.kubernetes.io/unreachable:5', 'node.kubernetes.io/not-ready:300'],
  );
  const all: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x:1' }], tolerations: [{ operator: 'Exists' }] } };
  applyDefaults('Pod', all);
  t.deepEqual(all.spec!.tolerations, [{ operator: 'Exists' }]);
  // Only for pods: a controller's pod template is left alone (its pods get them when created).
  const rc: ReplicationController = {
    metadata: { name: 'r' },
    spec: { template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } },
  };
  applyDefaults('ReplicationController', rc);
  t.is(rc.spec!.template!.spec!.tolerations, undefined);
});

test('pod-level requests default as SetDefaults_Pod: from the containers aggregate, else the pod-level limits', (t) => {
  const pod = raw('Pod'); // web requests cpu 100m, memory 64Mi; the others nothing
  pod.spec!.resources = { limits: { cpu: '1', memory: '200Mi', 'hugepages-2Mi': '4Mi' } };
  applyDefaults('Pod', pod);
  t.deepEqual(pod.spec!.resources!.requests, { cpu: '100m', memory: '64Mi', 'hugepages-2Mi': '4Mi' });

  const noContainerRequests = raw('Pod');
  noContainerRequests.spec!.containers = [{ name: 'c', image: 'busybox' }];
  noContainerRequests.spec!.resources = { limits: { cpu: '1' }, requests: { memory: '10Mi' } };
  applyDefaults('Pod', noContainerRequests);
  t.deepEqual(noContainerRequests.spec!.resources!.requests, { cpu: '1', memory: '10Mi' });
});

test('pod-level requests are left alone without pod-level limits', (t) => {
  const pod = raw('Pod');
  pod.spec!.resources = { requests: { cpu: '1' } };
  applyDefaults('Pod', pod);
  t.deepEqual(pod.spec!.resources, { requests: { cpu: '1' } });
});
