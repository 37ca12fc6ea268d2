// Container lifecycle hooks (Kubernetes' pkg/kubelet/lifecycle handlers.go
// and kuberuntime's executePreStopHook): one runner for the exec, httpGet and
// sleep handlers of postStart and preStop, with Kubernetes' failure messages,
// and the preStop rule that the hook's time counts against the termination
// grace period. When a hook runs is pod-sync.ts's part: postStart right after
// the container starts (before its status says Running and before probes
// start), preStop before the stop signal of every kill.

import * as http from 'node:http';
import * as https from 'node:https';
import type { Container, HTTPGetAction, LifecycleHandler, Pod } from '../api/gen/tsk/v1/core';
import type { Clock } from '../client';
import { podDescription } from './planner';
import { resolvePort } from './probes';
import type { ContainerRuntime } from './runtime/runtime';
import { errorMessage } from '../util/errors';

/** Kubernetes' minimum time between the stop signal and SIGKILL (minimumGracePeriodInSeconds), after a preStop hook. */
export const MIN_STOP_WINDOW_SECONDS = 2;

export interface HookDeps {
  runtime: Pick<ContainerRuntime, 'exec'>;
  clock: Clock;
  /** One GET; resolves on any response (the status is not looked at, as Kubernetes), rejects on a transport error. */
  httpGet?: (url: string, headers: Record<string, string>, signal: AbortSignal) => Promise<void>;
}

export interface HookTarget {
  pod: Pod;
  container: Container;
  containerId: string;
  /** The pod's IP: where an httpGet without host goes. */
  podIP: string;
}

/**
 * Runs one handler against a running container. Resolves undefined when it
 * succeeded, else Kubernetes' message for the failure (never rejects). The
 * signal ends a sleep early (a failure, "container terminated before sleep
 * hook finished") and aborts an HTTP request; an exec command runs on until
 * it ends or the container stops, as Kubernetes' does.
 */
export async function runHook(
  deps: HookDeps,
  h: LifecycleHandler,
  t: HookTarget,
  signal: AbortSignal = new AbortController().signal,
): Promise<string | undefined> {
  const who = `for Container "${t.container.name ?? ''}" in Pod "${podDescription(t.pod)}"`;
  if (h.exec) {
    const cmd = h.exec.command ?? [];
    let error: string;
    let output = '';
    try {
      const r = await deps.runtime.exec(t.containerId, { cmd, stdio: 'pipe' });
      if (r.exitCode === 0) return undefined;
      output = r.stdout + r.stderr;
      error = `command '${cmd.join(' ')}' exited with ${r.exitCode}: ${r.stderr}`;
    } catch (err) {
      error = errorMessage(err);
    }
    return `Exec lifecycle hook ([${cmd.join(' ')}]) ${who} failed - error: ${error}, message: ${JSON.stringify(output)}`;
  }
  if (h.httpGet) {
    try {
      const url = hookURL(h.httpGet, t.container, t.podIP);
      const headers = Object.fromEntries((h.httpGet.httpHeaders ?? []).map((x) => [x.name ?? '', x.value ?? '']));
      await (deps.httpGet ?? httpGet)(url, { 'User-Agent': 'kube-lifecycle/tsk', ...headers }, signal);
      return undefined;
    } catch (err) {
      return `HTTP lifecycle hook (${h.httpGet.path ?? ''}) ${who} failed - error: ${errorMessage(err)}`;
    }
  }
  if (h.sleep) {
    const seconds = h.sleep.seconds ?? 0;
    if (await sleep(deps.clock, seconds * 1000, signal)) return undefined;
    return `Sleep lifecycle hook (${seconds}) ${who} failed - error: container terminated before sleep hook finished`;
  }
  // tcpSocket is kept in the API for compatibility only: Kubernetes' kubelet fails such a hook at runtime.
  return `Cannot run handler: invalid handler: ${h.tcpSocket ? 'tcpSocket is not supported as a lifecycle handler' : 'no handler (exec, httpGet or sleep)'}`;
}

/** Kubernetes' NewRequestForHTTPGetAction: scheme://host:port/path, host defaulting to the pod IP, a named port from the container's ports. */
export function hookURL(a: HTTPGetAction, c: Container, podIP: string): string {
  const port = resolvePort(a.port, c);
  if (port === undefined) throw new Error(`couldn't find port: ${a.port?.strVal ?? a.port?.intVal ?? ''} in container "${c.name ?? ''}"`);
  const host = a.host || podIP;
  if (!host) throw new Error('the pod has no IP address');
  const scheme = (a.scheme || 'HTTP').toLowerCase();
  const path = a.path ?? '';
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
}

/** A GET that ignores the response's status and body (Kubernetes' hook does); HTTPS without verifying the certificate, as Kubernetes' hooks. */
function httpGet(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { headers, signal, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', (e) => reject(new Error(`Get "${url}": ${e.message}`)));
  });
}

/** Resolves true after ms, or false as soon as the signal aborts. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Kubernetes' executePreStopHook: runs the hook, waiting at most the grace
 * period; a failure is reported through onFailure (Kubernetes' event says only
 * "PreStopHook failed", so that secrets in the output do not reach the API).
 * Returns the seconds left for the stop signal: the grace period minus the
 * hook's time, never under MIN_STOP_WINDOW_SECONDS.
 */
export async function runPreStop(
  deps: HookDeps,
  h: LifecycleHandler,
  t: HookTarget,
  graceSeconds: number,
  onFailure: (message: string) => void,
): Promise<number> {
  const start = deps.clock.now();
  const ac = new AbortController();
  let outOfTime = false;
  const hook = runHook(deps, h, t, ac.signal).then((failure) => {
    // A hook cut short by the grace period is not a failure of its own: the container is being stopped anyway.
    if (failure !== undefined && !outOfTime) onFailure(failure);
  });
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = deps.clock.setTimeout(() => {
      outOfTime = true;
      resolve();
    }, graceSeconds * 1000);
  });
  await Promise.race([hook, timeout]);
  if (timer !== undefined) deps.clock.clearTimeout(timer);
  // A hook still running is cut short: a sleep ends, an HTTP request is aborted (an exec ends with its container).
  ac.abort();
  return stopWindowAfterPreStop(graceSeconds, deps.clock.now() - start);
}

/** The grace left after a preStop hook that took elapsedMs: at least MIN_STOP_WINDOW_SECONDS. */
export function stopWindowAfterPreStop(graceSeconds: number, elapsedMs: number): number {
  return Math.max(MIN_STOP_WINDOW_SECONDS, graceSeconds - elapsedMs / 1000);
}
