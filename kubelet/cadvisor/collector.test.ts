import test from 'ava';
import * as path from 'node:path';
import type { ContainerStatus, SandboxStatus } from '../runtime/runtime';
import { CadvisorCollector, collectSamples, type CollectorDeps } from './collector';

const TESTDATA = path.resolve(__dirname, '../../../kubelet/cadvisor/testdata/cgroup-v2');
const LABELS = { podUid: 'io.kubernetes.pod.uid', containerName: 'io.kubernetes.container.name' };

function sandbox(id: string, uid: string, state: SandboxStatus['state'], labels: Record<string, string> = { [LABELS.podUid]: uid }): SandboxStatus {
  return {
    id,
    name: 'web',
    namespace: 'shop',
    uid,
    hostname: 'web',
    state,
    createdAt: new Date(1_700_000_000_000),
    netnsPath: '',
    ips: [],
    labels,
    annotations: {},
  };
}

function container(id: string, sandboxId: string): ContainerStatus {
  return {
    id,
    name: 'runtime-name',
    sandboxId,
    image: 'busybox:1.36',
    imageId: 'sha256:1',
    command: [],
    state: 'running',
    createdAt: new Date(1_700_000_001_000),
    startedAt: new Date(1_700_000_002_000),
    logPath: '',
    resources: {},
    labels: { [LABELS.containerName]: 'app' },
    annotations: {},
  };
}

/** The fixture tree as the runtime's cgroups: pod u1 is testdata's "pod", its container "ctr". */
function deps(sandboxes: SandboxStatus[], containers: ContainerStatus[]): CollectorDeps {
  return {
    runtime: { listSandboxes: async () => sandboxes, listContainers: async () => containers },
    paths: {
      cgroupVersion: 2,
      podCgroup: () => 'pod',
      containerCgroup: (_uid, id) => `pod/${id}`,
      cgroupDir: (_c, rel) => path.join(TESTDATA, rel),
      upperDir: (id) => `/nonexistent/${id}/upper`,
    },
    labels: LABELS,
    mountinfo: () => '',
    diskUsage: async () => 4096,
  };
}

test('a pod sample (container="") and one per running container, labelled from the runtime and read from their cgroups', async (t) => {
  const samples = await collectSamples(deps([sandbox('s1', 'u1', 'ready')], [container('ctr', 's1')]));
  t.is(samples.length, 2);
  const [pod, ctr] = samples;
  t.deepEqual(pod?.labels, { id: '/pod', name: '', image: '', container: '', pod: 'web', namespace: 'shop' });
  t.is(pod?.startTimeSeconds, 1_700_000_000);
  t.deepEqual(pod?.network, [], 'no process to read the namespace through: no interfaces');
  t.deepEqual(ctr?.labels, { id: '/pod/ctr', name: 'ctr', image: 'busybox:1.36', container: 'app', pod: 'web', namespace: 'shop' });
  t.is(ctr?.stats.cpuUsageSeconds, 2.5);
  t.is(ctr?.startTimeSeconds, 1_700_000_002);
  t.deepEqual(ctr?.fs, { device: '', usageBytes: 4096 });
});

test("sandboxes not ready, or not the kubelet's (no pod UID label), and their containers are left out", async (t) => {
  const samples = await collectSamples(
    deps([sandbox('old', 'u1', 'notready'), sandbox('foreign', 'u2', 'ready', {})], [container('ctr', 'old'), container('ctr2', 'foreign')]),
  );
  t.deepEqual(samples, []);
});

test('CadvisorCollector: a runtime that cannot be listed is container_scrape_error 1, logged', async (t) => {
  const lines: string[] = [];
  const broken = deps([], []);
  broken.runtime = {
    listSandboxes: async () => {
      throw new Error('state dir unreadable');
    },
    listContainers: async () => [],
  };
  const collector = new CadvisorCollector({ ...broken, now: () => new Date(5000) }, (l) => lines.push(l));
  t.is(
    await collector.cadvisorText(),
    '# HELP container_scrape_error 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE container_scrape_error gauge\ncontainer_scrape_error 1\n',
  );
  t.regex(await collector.resourceText(), /^scrape_error 1$/m);
  t.deepEqual(lines, ['cannot collect container metrics: state dir unreadable', 'cannot collect container metrics: state dir unreadable']);
});
