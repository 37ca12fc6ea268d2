// Startup, liveness and readiness probes (Kubernetes' prober and
// prober/results): one worker per running container and probe type, first run after
// initialDelaySeconds, then every periodSeconds, each attempt bounded by
// timeoutSeconds. The result flips after successThreshold successes or
// failureThreshold failures in a row; a change wakes the pod's worker.
// exec runs in the container; httpGet and tcpSocket connect to the pod IP
// from the kubelet's own network namespace (the node's). A startup probe
// holds the other two back until it passes once; then it stops.

import * as http from 'node:http';
import * as net from 'node:net';
import type { Container, Pod, Probe } from '../api/gen/tsk/v1/core';
import type { IntOrString } from '../api/gen/tsk/v1/meta';
import type { Clock, EventType, TimerHandle } from '../client';
import { containerNameOf, type PodRuntimeState } from './pod-runtime';
import { isSidecar } from './planner';
import type { ContainerRuntime } from './runtime/runtime';
import { asError, errorMessage } from '../util/errors';

export type ProbeType = 'startup' | 'liveness' | 'readiness';

export interface ProbeOutcome {
  ok: boolean;
  /** What failed, for the Unhealthy event. */
  output: string;
}

interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes' defaults: period 10 s, timeout 1 s, thresholds 1 success / 3 failures. */
export function probeSettings(p: Probe): ProbeSettings {
  const pos = (v: number | undefined, d: number): number => (v !== undefined && v > 0 ? v : d);
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: pos(p.periodSeconds, 10) * 1000,
    timeoutMs: pos(p.timeoutSeconds, 1) * 1000,
    successThreshold: pos(p.successThreshold, 1),
    failureThreshold: pos(p.failureThreshold, 3),
  };
}

/** Consecutive-result counting: the result changes only when a threshold is reached. */
export class ProbeCounter {
  private successes = 0;
  private failures = 0;
  constructor(
    private readonly settings: Pick<ProbeSettings, 'successThreshold' | 'failureThreshold'>,
    public result: boolean,
  ) {}

  /** Records one attempt; returns true when the result changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (!this.result && this.successes >= this.settings.successThreshold) {
        this.result = true;
        return true;
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.result && this.failures >= this.settings.failureThreshold) {
        this.result = false;
        return true;
      }
    }
    return false;
  }
}

/** A named or numeric port of the container. */
export function resolvePort(port: IntOrString | undefined, c: Container): number | undefined {
  if (port?.type !== 1 && port?.intVal !== undefined && port.intVal > 0) return port.intVal;
  const name = port?.strVal ?? '';
  if (/^\d+$/.test(name)) return Number(name);
  return c.ports?.find((p) => p.name === name)?.containerPort;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(asError(e));
      },
    );
  });
}

function httpProbe(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { 'User-Agent': 'kube-probe/tsk', ...headers }, timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true, output: '' } : { ok: false, output: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', (e) => resolve({ ok: false, output: e.message.startsWith('Get "') ? e.message : `Get "${url}": ${e.message}` }));
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true, output: '' });
    });
    s.once('timeout', () => {
      s.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    });
    s.once('error', (e) => resolve({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

/** Runs one probe attempt against a container. */
export async function runProbe(
  runtime: ContainerRuntime,
  probe: Probe,
  c: Container,
  containerId: string,
  podIP: string,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  if (probe.exec) {
    try {
      const r = await withTimeout(runtime.exec(containerId, { cmd: probe.exec.command ?? [], stdio: 'pipe' }), timeoutMs, 'command');
      return r.exitCode === 0 ? { ok: true, output: '' } : { ok: false, output: (r.stdout + r.stderr).trim() || `command exited with ${r.exitCode}` };
    } catch (err) {
      return { ok: false, output: errorMessage(err) };
    }
  }
  const action = probe.httpGet ?? probe.tcpSocket;
  if (!action) return { ok: false, output: 'probe has no handler (exec, httpGet or tcpSocket)' };
  const port = resolvePort(action.port, c);
  if (port === undefined) return { ok: false, output: `port ${action.port?.strVal ?? ''} not found in the container's ports` };
  const host = action.host || podIP;
  if (!host) return { ok: false, output: 'the pod has no IP address to probe' };
  if (probe.httpGet) {
    const scheme = (probe.httpGet.scheme || 'HTTP').toLowerCase();
    if (scheme !== 'http') return { ok: false, output: `scheme ${scheme} is not supported` };
    const path = probe.httpGet.path || '/';
    const h = host.includes(':') ? `[${host}]` : host;
    const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((x) => [x.name ?? '', x.value ?? '']));
    return httpProbe(`http://${h}:${port}${path.startsWith('/') ? path : `/${path}`}`, headers, timeoutMs);
  }
  return tcpProbe(host, port, timeoutMs);
}

/** The app container or sidecar named `name` (plain init containers have no probes). */
function probedContainer(pod: Pod, name: string): Container | undefined {
  return pod.spec?.containers?.find((c) => c.name === name) ?? pod.spec?.initContainers?.find((c) => c.name === name && isSidecar(c));
}

export interface ProbeManagerDeps {
  runtime: ContainerRuntime;
  clock: Clock;
  /** A probe result changed: sync the pod. */
  onChange: (podUid: string) => void;
  event: (pod: Pod, container: string, type: EventType, reason: string, message: string) => void;
}

interface Worker {
  counter: ProbeCounter;
  /** Startup probes: passed once (then they stop). */
  succeeded: boolean;
  timer: TimerHandle | undefined;
  stopped: boolean;
}

const TYPE_TEXT: Record<ProbeType, string> = { startup: 'Startup', liveness: 'Liveness', readiness: 'Readiness' };

export class ProbeManager {
  private readonly workers = new Map<string, Worker>();
  private readonly byPod = new Map<string, Set<string>>();

  constructor(private readonly deps: ProbeManagerDeps) {}

  private key(id: string, type: ProbeType): string {
    return `${id}/${type}`;
  }

  /** The readiness result of a container; undefined when it has no worker. */
  readiness(id: string): boolean | undefined {
    return this.workers.get(this.key(id, 'readiness'))?.counter.result;
  }

  livenessFailed(id: string): boolean {
    return this.workers.get(this.key(id, 'liveness'))?.counter.result === false;
  }

  startupFailed(id: string): boolean {
    return this.workers.get(this.key(id, 'startup'))?.counter.result === false;
  }

  /** Whether the startup probe passed; undefined when the container has none (being watched). */
  started(id: string): boolean | undefined {
    return this.workers.get(this.key(id, 'startup'))?.succeeded;
  }

  /** Starts workers for the pod's running containers that have probes; stops those of containers that stopped. */
  update(pod: Pod, state: PodRuntimeState): void {
    const uid = pod.metadata?.uid ?? '';
    const wanted = new Set<string>();
    const podIP = state.sandboxes[0]?.ips[0] ?? '';
    for (const rc of state.containers) {
      if (rc.state !== 'running') continue;
      const spec = probedContainer(pod, containerNameOf(rc));
      if (!spec) continue;
      for (const type of ['startup', 'liveness', 'readiness'] as const) {
        const probe = type === 'startup' ? spec.startupProbe : type === 'liveness' ? spec.livenessProbe : spec.readinessProbe;
        if (!probe) continue;
        // Liveness and readiness wait for the startup probe to pass.
        if (type !== 'startup' && spec.startupProbe && this.started(rc.id) !== true) continue;
        const key = this.key(rc.id, type);
        wanted.add(key);
        if (!this.workers.has(key)) this.startWorker(pod, spec, rc.id, rc.startedAt?.getTime() ?? this.deps.clock.now(), podIP, type, probe);
      }
    }
    for (const key of this.byPod.get(uid) ?? []) if (!wanted.has(key)) this.stopWorker(key);
    this.byPod.set(uid, wanted);
  }

  removePod(uid: string): void {
    for (const key of this.byPod.get(uid) ?? []) this.stopWorker(key);
    this.byPod.delete(uid);
  }

  stop(): void {
    for (const key of [...this.workers.keys()]) this.stopWorker(key);
    this.byPod.clear();
  }

  private stopWorker(key: string): void {
    const w = this.workers.get(key);
    if (!w) return;
    w.stopped = true;
    if (w.timer) this.deps.clock.clearTimeout(w.timer);
    this.workers.delete(key);
  }

  private startWorker(pod: Pod, spec: Container, id: string, startedAt: number, podIP: string, type: ProbeType, probe: Probe): void {
    const s = probeSettings(probe);
    // Readiness starts failed (not ready until a probe passes); liveness starts passed.
    // Startup, like liveness, counts as passing until failureThreshold failures.
    const w: Worker = { counter: new ProbeCounter(s, type !== 'readiness'), succeeded: false, timer: undefined, stopped: false };
    this.workers.set(this.key(id, type), w);
    const uid = pod.metadata?.uid ?? '';
    const attempt = async (): Promise<void> => {
      w.timer = undefined;
      const out = await runProbe(this.deps.runtime, probe, spec, id, podIP, s.timeoutMs);
      if (w.stopped) return;
      if (!out.ok) this.deps.event(pod, spec.name ?? '', 'Warning', 'Unhealthy', `${TYPE_TEXT[type]} probe failed: ${out.output}`);
      if (type === 'startup' && out.ok) {
        w.succeeded = true;
        this.deps.onChange(uid);
        return;
      }
      if (w.counter.record(out.ok)) this.deps.onChange(uid);
      w.timer = this.deps.clock.setTimeout(() => void attempt(), s.periodMs);
    };
    const delay = Math.max(0, startedAt + s.initialDelayMs - this.deps.clock.now());
    w.timer = this.deps.clock.setTimeout(() => void attempt(), delay);
  }
}
