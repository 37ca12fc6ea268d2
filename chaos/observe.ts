// Taking the snapshot the invariants are checked on: the API's lists, and
// the containers each node's runtime runs (read from the node's runtime
// state, as `tsk runtime ps` reads it), plus the one check that needs the
// network: each Service answers on its ClusterIP from inside a node.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Clientset } from '../client';
import { CgroupManager, ImageStore, NativeRuntime, detectCgroupLayout } from '../kubelet/runtime';
import { labStatus, type LabNode } from '../lab';
import { errorMessage } from '../util/errors';
import type { ClusterSnapshot, NodeContainer } from './invariants';
import { readyPodIps } from './invariants';
import { etcdPid, type ChaosLab } from './lab';
import { CHURN_LABEL, CHURN_NAMESPACE, isChaosNamespace, SERVICE_PORT } from './objects';
import { violation, type Violation } from './violation';

const exec = promisify(execFile);

/** The running containers of one node, each with its sandbox's pod. */
export async function nodeContainers(node: LabNode): Promise<NodeContainer[]> {
  const runtime = new NativeRuntime({
    dataDir: node.dataDir,
    images: new ImageStore(node.dataDir),
    cgroups: new CgroupManager(detectCgroupLayout(), node.cgroupRoot),
  });
  const sandboxes = new Map((await runtime.listSandboxes()).map((s) => [s.id, s]));
  return (await runtime.listContainers({ state: 'running' })).map((c) => {
    const sb = sandboxes.get(c.sandboxId);
    return {
      node: node.name,
      podUid: sb?.uid ?? `(sandbox ${c.sandboxId} gone)`,
      pod: sb ? `${sb.namespace}/${sb.name}` : '?',
      container: c.name,
      sandboxId: c.sandboxId,
    };
  });
}

export async function takeSnapshot(cs: Clientset, nodes: readonly LabNode[]): Promise<ClusterSnapshot> {
  const [pods, rcs, services, endpoints, namespaces, nodeList, configMaps] = await Promise.all([
    cs.pods.listAll(),
    cs.replicationControllers.listAll(),
    cs.services.listAll(),
    cs.endpoints.listAll(),
    cs.namespaces.listAll(),
    cs.nodes.listAll(),
    cs.configMaps.listAll({ namespace: CHURN_NAMESPACE, labelSelector: CHURN_LABEL }),
  ]);
  const containers = (await Promise.all(nodes.map(nodeContainers))).flat();
  return {
    pods: pods.items ?? [],
    rcs: rcs.items ?? [],
    services: services.items ?? [],
    endpoints: endpoints.items ?? [],
    namespaces: namespaces.items ?? [],
    nodes: nodeList.items ?? [],
    configMaps: configMaps.items ?? [],
    containers,
  };
}

/** One HTTP request to the ClusterIP from inside the node's namespace (curl: the host's static busybox wget crashes there); a problem, or undefined when it answered 200. */
async function answers(node: LabNode, ip: string): Promise<string | undefined> {
  const url = `http://${ip}:${SERVICE_PORT}/`;
  try {
    const r = await exec('ip', ['netns', 'exec', node.netns, 'curl', '-sS', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', url], { timeout: 10_000 });
    return r.stdout.trim() === '200' ? undefined : `HTTP ${r.stdout.trim()}`;
  } catch (err) {
    const e = err as { stderr?: string };
    return (e.stderr ?? '').trim() || errorMessage(err);
  }
}

/** Every workload Service with ready pods answers on its ClusterIP, from a node (the i-th, turning with each call). */
export async function checkServicesAnswer(s: ClusterSnapshot, nodes: readonly LabNode[], turn: number): Promise<Violation[]> {
  const out: Violation[] = [];
  const gone = new Set(s.namespaces.filter((n) => n.metadata?.deletionTimestamp).map((n) => n.metadata?.name));
  let i = turn;
  for (const svc of s.services) {
    const ns = svc.metadata?.namespace ?? '';
    const ip = svc.spec?.clusterIP ?? '';
    if (!isChaosNamespace(ns) || gone.has(ns) || !ip || ip === 'None' || readyPodIps(svc, s.pods).length === 0) continue;
    const node = nodes[i++ % nodes.length];
    if (!node) continue;
    const problem = await answers(node, ip);
    if (problem)
      out.push(violation('service-answers', `service ${ns}/${svc.metadata?.name ?? ''} (${ip}:${SERVICE_PORT}) does not answer from ${node.name}: ${problem}`));
  }
  return out;
}

/** Every machine of the lab runs: one that exited on its own (not killed by the suite) is a defect, named with its log. */
export async function checkMachinesRun(lab: ChaosLab): Promise<Violation[]> {
  const status = await labStatus(lab.name, lab.dataDir);
  if (!status) return [violation('machines', `lab ${lab.name} has no state`)];
  return status.machines.filter((m) => m.state !== 'running').map((m) => violation('machines', `${m.name} is ${m.state} (pid ${m.pid}); see its log`));
}

/** Every server of the lab answers on its own socket, and its embedded etcd runs (a killed one was restarted by its server). */
export async function checkServers(lab: ChaosLab, clients: ReadonlyMap<string, Clientset>): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const s of lab.plan.servers) {
    const etcd = await etcdPid(lab, s.name);
    if (etcd === undefined) out.push(violation('machines', `${s.name}: its embedded etcd does not run`));
    const cs = clients.get(s.name);
    const problem = cs
      ? await cs.namespaces.get('default').then(
          () => undefined,
          (err: unknown) => errorMessage(err),
        )
      : 'no client';
    if (problem !== undefined) out.push(violation('machines', `${s.name} does not answer on its socket: ${problem}`));
  }
  return out;
}
