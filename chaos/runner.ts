// The chaos runner: on a lab of 3 servers and 3 nodes, rounds of one
// workload change with one fault injected while it runs (kill -9 or
// partition of a server, etcd member or agent), the machine started or
// healed after a random delay, then the invariants polled until they all
// hold or the deadline passes. Convergence time is measured from the restart
// (the heal; for an etcd member, its kill: the server restarts it).

import { setTimeout as sleep } from 'node:timers/promises';
import { AlreadyExistsError } from '../api/errors';
import type { Pod } from '../api/gen/tsk/v1/core';
import type { ApiObject } from '../api/kinds';
import { Clientset, resolveClient, type ResourceClient } from '../client';
import { errorMessage } from '../util/errors';
import { CallLog } from './calls';
import { planFaults, type FaultPlan } from './faults';
import { checkNodesReady, checkSnapshot, type ClusterSnapshot } from './invariants';
import { killEtcd, labCommand, schedulerLeader, serverClients, type ChaosLab } from './lab';
import { lostObjects, ledgerKey, Ledger, type Observed } from './ledger';
import { checkMachinesRun, checkServers, checkServicesAnswer, takeSnapshot } from './observe';
import { IMAGE } from './objects';
import { summarize, type RoundResult } from './report';
import { pick, seededRng, type Rng } from './rng';
import { violation, type Violation } from './violation';
import { WatchRecorder } from './watcher';
import { Workload } from './workload';

export interface RunOptions {
  readonly rounds: number;
  readonly seed: number;
  /** How long a round may take to converge; default 120 s. */
  readonly convergeTimeoutMs?: number;
  /** Called with each finished round. */
  readonly onRound?: (r: RoundResult) => void;
}

export interface RunResult {
  readonly rounds: readonly RoundResult[];
  readonly summary: Record<string, number | null>;
  readonly finalViolations: readonly Violation[];
}

/** What the runner holds while it runs. */
interface Session {
  readonly lab: ChaosLab;
  readonly cs: Clientset;
  readonly rng: Rng;
  readonly workload: Workload;
  readonly recorders: readonly WatchRecorder[];
  /** One client per server, on its own socket. */
  readonly servers: ReadonlyMap<string, Clientset>;
  /** Watch violations already counted in a round. */
  watchSeen: number;
  callsSeen: number;
  turn: number;
}

/** The objects of the kinds the ledger records, as lostObjects compares them. */
function observed(s: ClusterSnapshot): Map<string, Observed> {
  const out = new Map<string, Observed>();
  for (const n of s.namespaces) out.set(ledgerKey('Namespace', '', n.metadata?.name ?? ''), {});
  for (const rc of s.rcs)
    out.set(ledgerKey('ReplicationController', rc.metadata?.namespace ?? '', rc.metadata?.name ?? ''), { replicas: rc.spec?.replicas ?? 1 });
  for (const svc of s.services) out.set(ledgerKey('Service', svc.metadata?.namespace ?? '', svc.metadata?.name ?? ''), {});
  for (const cm of s.configMaps) out.set(ledgerKey('ConfigMap', cm.metadata?.namespace ?? '', cm.metadata?.name ?? ''), {});
  return out;
}

/** Every invariant that is a state (the event ones are counted as they happen): [] when all hold. */
async function pollInvariants(se: Session): Promise<Violation[]> {
  let snap: ClusterSnapshot;
  try {
    snap = await takeSnapshot(se.cs, se.lab.plan.nodes);
  } catch (err) {
    return [violation('api-calls', `cannot take a snapshot: ${errorMessage(err)}`)];
  }
  const found = [
    ...(await checkMachinesRun(se.lab)),
    ...(await checkServers(se.lab, se.servers)),
    ...checkNodesReady(
      snap,
      se.lab.plan.nodes.map((n) => n.name),
    ),
    ...checkSnapshot(snap),
    ...lostObjects(se.workload.ledger.snapshot(), observed(snap)),
  ];
  if (found.length > 0) return found;
  const answers = await checkServicesAnswer(snap, se.lab.plan.nodes, se.turn++);
  if (answers.length > 0) return answers;
  // Last, as it is the slowest: every watch's view equals a fresh list.
  for (const r of se.recorders) {
    const diff = await r.compareWithFreshList().catch((err: unknown) => [violation('watch', `cannot list ${r.view.kind}: ${errorMessage(err)}`)]);
    if (diff.length > 0) return diff;
  }
  return [];
}

/** Polls until every invariant holds (resolves with the time it did) or the deadline; then the last violations. */
async function converge(se: Session, deadlineMs: number): Promise<{ at: number | undefined; violations: Violation[] }> {
  const start = Date.now();
  const deadline = start + deadlineMs;
  let last: Violation[] = [];
  let reported = start;
  while (Date.now() < deadline) {
    last = await pollInvariants(se);
    if (last.length === 0) return { at: Date.now(), violations: [] };
    if (Date.now() - reported >= 10_000) {
      reported = Date.now();
      se.lab.log(
        `    converging (${Math.round((reported - start) / 1000)}s): ${last.length} violation(s), e.g. ${last[0]?.invariant ?? ''}: ${last[0]?.text ?? ''}`,
      );
    }
    await sleep(1000);
  }
  return { at: undefined, violations: last };
}

/** The events seen since the last round that were violations: watch streams out of order, calls that hung or failed without a status. */
function newEventViolations(se: Session): Violation[] {
  const watch = se.recorders.flatMap((r) => r.view.violations);
  const calls = se.workload.calls.violations;
  const out = [...watch.slice(se.watchSeen), ...calls.slice(se.callsSeen)];
  se.watchSeen = watch.length;
  se.callsSeen = calls.length;
  return out;
}

function probePod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { 'app.kubernetes.io/part-of': 'tsk-chaos' } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
  } as Pod;
}

/** Creates the probe pod until the API takes it; true once it exists. */
function createProbe(cs: Clientset, name: string): Promise<boolean> {
  return cs.pods.create(probePod(name)).then(
    () => true,
    (err: unknown) => err instanceof AlreadyExistsError,
  );
}

/** Seconds from `since` until a pod created now is bound (the scheduling gap after the leader's death); the pod is deleted after. */
async function schedulingGap(cs: Clientset, name: string, since: number, log: (line: string) => void, timeoutMs = 90_000): Promise<number | undefined> {
  const deadline = since + timeoutMs;
  const secs = (t: number): string => ((t - since) / 1000).toFixed(1);
  let created: number | undefined;
  try {
    while (Date.now() < deadline) {
      if (created === undefined && (await createProbe(cs, name))) created = Date.now();
      if (created !== undefined) {
        const pod = await cs.pods.get(name, 'default').catch(() => undefined);
        if (pod?.spec?.nodeName) {
          log(`  scheduling gap: the probe pod was created ${secs(created)}s and bound ${secs(Date.now())}s after the leader's kill`);
          return (Date.now() - since) / 1000;
        }
      }
      // Polled often: the gap is measured to within this period.
      await sleep(50);
    }
    return undefined;
  } finally {
    await cs.pods.delete(name, { namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

/** Injects the fault, waits its delay, and undoes it; returns the target, the time convergence counts from, and the scheduling gap measured. */
interface Injected {
  readonly target: string;
  /** When convergence starts counting. */
  readonly restoredAt: number;
  readonly gap?: Promise<number | undefined>;
  /** The fault could not be injected or undone (a machine that died on its own, or would not start again). */
  readonly failed?: Violation;
}

async function injectFault(se: Session, f: FaultPlan, round: number): Promise<Injected> {
  const servers = se.lab.plan.servers.map((s) => s.name);
  switch (f.kind) {
    case 'kill-etcd': {
      const target = f.target ?? pick(se.rng, servers);
      await killEtcd(se.lab, target);
      return { target, restoredAt: Date.now() };
    }
    case 'kill-leader':
    case 'kill-server':
    case 'kill-agent': {
      const leader = f.kind === 'kill-leader' ? await schedulerLeader(se.lab, se.cs).catch(() => undefined) : undefined;
      const target = f.target ?? leader ?? pick(se.rng, servers);
      await labCommand(se.lab, 'kill', target);
      const killedAt = Date.now();
      const gap = leader === target ? schedulingGap(se.cs, `chaos-sched-probe-${round}`, killedAt, se.lab.log) : undefined;
      await sleep(f.downMs);
      await labCommand(se.lab, 'start', target);
      return { target, restoredAt: Date.now(), ...(gap ? { gap } : {}) };
    }
    case 'partition-server':
    case 'partition-agent': {
      const target = f.target ?? pick(se.rng, servers);
      await labCommand(se.lab, 'partition', target);
      await sleep(f.downMs);
      await labCommand(se.lab, 'heal', target);
      return { target, restoredAt: Date.now() };
    }
  }
}

async function runRound(se: Session, f: FaultPlan, round: number, deadlineMs: number): Promise<RoundResult> {
  const step = se.workload.step();
  let restored = false;
  const churn = se.workload.churn(round, () => restored);
  await sleep(f.afterMs);
  const injected = await injectFault(se, f, round)
    .catch((err: unknown): Injected => {
      const failed = violation('machines', `${f.kind} ${f.target ?? '(the scheduler leader)'}: ${errorMessage(err)}`);
      return { target: f.target ?? '?', restoredAt: Date.now(), failed };
    })
    .finally(() => (restored = true));
  const change = await step;
  await churn;
  const gap = await injected.gap;
  const result = await converge(se, deadlineMs);
  return {
    round,
    fault: f.kind,
    target: injected.target,
    change,
    convergeS: result.at === undefined ? undefined : Math.max(0, (result.at - injected.restoredAt) / 1000),
    violations: [...(injected.failed ? [injected.failed] : []), ...result.violations, ...newEventViolations(se)],
    ...(gap !== undefined ? { schedulingGapS: gap } : {}),
  };
}

/** Runs the rounds on a lab that is up; the caller brings it up and takes it down. */
export async function runChaos(lab: ChaosLab, o: RunOptions): Promise<RunResult> {
  const target = await resolveClient({ kubeconfig: lab.kubeconfig });
  const cs = new Clientset(target.servers, { ...target.credentials, waitForReady: true });
  const rng = seededRng(o.seed);
  const workload = new Workload(cs, rng, new Ledger(), new CallLog());
  const kinds: ResourceClient<ApiObject>[] = [cs.pods, cs.replicationControllers, cs.services] as unknown as ResourceClient<ApiObject>[];
  const recorders = kinds.map((k) => new WatchRecorder(k, (line) => lab.log(`  ${line}`)));
  const servers = await serverClients(lab);
  const se: Session = { lab, cs, rng, workload, recorders, servers, watchSeen: 0, callsSeen: 0, turn: 0 };
  const deadlineMs = o.convergeTimeoutMs ?? 120_000;
  try {
    for (const r of recorders) r.start();
    lab.log(`==> chaos: ${await workload.createApp(2)}; waiting for it to run`);
    const first = await converge(se, 300_000);
    if (first.at === undefined) throw new Error(`the workload never ran before any fault:\n  ${first.violations.map((v) => v.text).join('\n  ')}`);
    const faults = planFaults(
      rng,
      o.rounds,
      lab.plan.servers.map((s) => s.name),
      lab.plan.nodes.map((n) => n.name),
    );
    const rows: RoundResult[] = [];
    for (const [i, f] of faults.entries()) {
      lab.log(`==> round ${i + 1}: ${f.kind} ${f.target ?? '(the scheduler leader)'} after ${f.afterMs} ms for ${f.downMs} ms`);
      const row = await runRound(se, f, i + 1, deadlineMs);
      for (const v of row.violations) lab.log(`  violation: ${v.invariant}: ${v.text}`);
      rows.push(row);
      o.onRound?.(row);
    }
    const finalViolations = newEventViolations(se);
    const summary = summarize(rows, {
      seed: o.seed,
      apiCalls: workload.calls.calls,
      apiFailures: workload.calls.failures,
      apiRetries: workload.calls.retries,
      acknowledgedWrites: workload.ledger.writes,
      watchEvents: recorders.reduce((n, r) => n + r.view.events, 0),
      watchRelists: recorders.reduce((n, r) => n + r.relists, 0),
      finalViolations,
    });
    return { rounds: rows, summary, finalViolations };
  } finally {
    await Promise.all(recorders.map((r) => r.stop()));
    for (const c of servers.values()) c.close();
    cs.close();
  }
}
