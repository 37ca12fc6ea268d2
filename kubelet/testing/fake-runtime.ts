// An in-memory ContainerRuntime for the kubelet's unit tests: records every
// call, keeps sandboxes and containers in maps, and lets a test make a
// container exit (exit()) or a call fail (failNext()). Times come from an
// injected clock so ordering (newest first) is deterministic.

import { PassThrough } from 'node:stream';
import type {
  ContainerConfig,
  ContainerResources,
  ContainerRuntime,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  ExecOptions,
  AttachOptions,
  AttachStreams,
  ExecProcess,
  PortForwardConnection,
  ExecResult,
  LogEntry,
  SandboxConfig,
  SandboxStatus,
} from '../runtime/runtime';

type Method = 'createSandbox' | 'createContainer' | 'startContainer' | 'stopContainer' | 'stopSandbox' | 'exec';

export class FakeRuntime implements ContainerRuntime {
  readonly sandboxes = new Map<string, SandboxStatus>();
  readonly containers = new Map<string, ContainerStatus>();
  readonly calls: string[] = [];
  /** The config of every createSandbox call, in order. */
  readonly sandboxConfigs: SandboxConfig[] = [];
  /** The config of every createContainer call, in order. */
  readonly containerConfigs: ContainerConfig[] = [];
  /** Result of exec per command's first word (default exit 0). */
  execResults = new Map<string, ExecResult>();
  private seq = 0;
  private last = 0;
  private readonly failures = new Map<Method, Error>();
  /** IPs a new sandbox gets. */
  sandboxIPs: string[] = ['10.244.0.5'];

  constructor(private readonly now: () => number = () => Date.now()) {}

  private id(prefix: string): string {
    this.seq++;
    return `${prefix}${String(this.seq).padStart(4, '0')}`;
  }

  /** A time strictly after every earlier one, so newest-first ordering is stable. */
  private stamp(): Date {
    this.last = Math.max(this.now(), this.last + 1);
    return new Date(this.last);
  }

  failNext(method: Method, err: Error): void {
    this.failures.set(method, err);
  }

  private maybeFail(method: Method): void {
    const err = this.failures.get(method);
    if (err) {
      this.failures.delete(method);
      throw err;
    }
  }

  async createSandbox(config: SandboxConfig): Promise<string> {
    this.calls.push(`createSandbox ${config.name}`);
    this.sandboxConfigs.push(config);
    this.maybeFail('createSandbox');
    const id = this.id('sb');
    this.sandboxes.set(id, {
      id,
      name: config.name,
      namespace: config.namespace,
      uid: config.uid,
      hostname: config.hostname ?? config.name,
      state: 'ready',
      createdAt: this.stamp(),
      netnsPath: `/fake/${id}/net`,
      ips: [...this.sandboxIPs],
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      resources: config.resources ?? {},
    });
    return id;
  }

  async stopSandbox(id: string): Promise<void> {
    this.calls.push(`stopSandbox ${id}`);
    const s = this.sandboxes.get(id);
    if (!s) return;
    for (const c of this.containers.values()) if (c.sandboxId === id && c.state !== 'exited') this.exit(c.id, 137);
    s.state = 'notready';
    s.ips = [];
  }

  async removeSandbox(id: string): Promise<void> {
    this.calls.push(`removeSandbox ${id}`);
    for (const c of [...this.containers.values()]) if (c.sandboxId === id) this.containers.delete(c.id);
    this.sandboxes.delete(id);
  }

  async sandboxStatus(id: string): Promise<SandboxStatus> {
    const s = this.sandboxes.get(id);
    if (!s) throw new Error(`sandbox "${id}" not found`);
    return { ...s };
  }

  async listSandboxes(): Promise<SandboxStatus[]> {
    return [...this.sandboxes.values()].map((s) => ({ ...s }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    this.calls.push(`createContainer ${config.name}`);
    this.containerConfigs.push(config);
    this.maybeFail('createContainer');
    if (this.sandboxes.get(sandboxId)?.state !== 'ready') throw new Error(`sandbox ${sandboxId} is not ready`);
    const id = this.id('c');
    this.containers.set(id, {
      id,
      name: config.name,
      sandboxId,
      image: config.image,
      imageId: config.image,
      command: [...(config.command ?? []), ...(config.args ?? [])],
      state: 'created',
      createdAt: this.stamp(),
      logPath: '',
      resources: config.resources ?? {},
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push(`startContainer ${this.containers.get(id)?.name ?? id}`);
    const c = this.containers.get(id);
    if (!c) throw new Error(`container "${id}" not found`);
    const err = this.failures.get('startContainer');
    if (err) {
      this.failures.delete('startContainer');
      Object.assign(c, { state: 'exited', exitCode: 128, reason: 'StartError', message: err.message, finishedAt: this.stamp() });
      throw err;
    }
    Object.assign(c, { state: 'running', startedAt: this.stamp() });
  }

  /** Makes a container exit with `code` (as if its process ended). */
  exit(id: string, code: number, reason?: ContainerStatus['reason']): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    Object.assign(c, { state: 'exited' as ContainerState, exitCode: code, reason: reason ?? (code === 0 ? 'Completed' : 'Error'), finishedAt: this.stamp() });
  }

  async stopContainer(id: string, timeoutSeconds: number, stopSignal?: string): Promise<void> {
    this.calls.push(`stopContainer ${this.containers.get(id)?.name ?? id} ${timeoutSeconds}${stopSignal ? ` ${stopSignal}` : ''}`);
    const c = this.containers.get(id);
    if (c && c.state !== 'exited') this.exit(id, 137);
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push(`removeContainer ${id}`);
    this.containers.delete(id);
  }

  async listContainers(filter: { sandboxId?: string; state?: ContainerState } = {}): Promise<ContainerStatus[]> {
    return [...this.containers.values()]
      .filter((c) => (filter.sandboxId === undefined || c.sandboxId === filter.sandboxId) && (filter.state === undefined || c.state === filter.state))
      .map((c) => ({ ...c }));
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`container "${id}" not found`);
    return { ...c };
  }

  async updateContainerResources(id: string, resources: ContainerResources): Promise<void> {
    this.calls.push(`updateContainerResources ${id} ${JSON.stringify(resources)}`);
    const c = this.containers.get(id);
    if (c) c.resources = resources;
  }

  async updateSandboxResources(id: string, resources: ContainerResources): Promise<void> {
    this.calls.push(`updateSandboxResources ${id} ${JSON.stringify(resources)}`);
    const sb = this.sandboxes.get(id);
    if (sb) sb.resources = resources;
  }

  /** Memory usage containerStats reports, per container ID (default 0). */
  memoryUsage = new Map<string, number>();

  async waitContainer(id: string): Promise<ContainerStatus> {
    return this.containerStatus(id);
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    this.calls.push(`exec ${id} ${opts.cmd.join(' ')}`);
    return this.execResults.get(opts.cmd[0] ?? '') ?? { exitCode: 0, stdout: '', stderr: '' };
  }

  /** Streams the canned result of execResults; stdin is accepted and dropped. */
  execStream(id: string, opts: ExecOptions): ExecProcess {
    this.calls.push(`exec ${id} ${opts.cmd.join(' ')}`);
    const res = this.execResults.get(opts.cmd[0] ?? '') ?? { exitCode: 0, stdout: '', stderr: '' };
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.end(res.stdout);
    stderr.end(res.stderr);
    return { stdin: opts.stdin ? new PassThrough() : null, stdout, stderr, exit: Promise.resolve(res.exitCode), kill: () => {} };
  }

  /** Containers made without stdin and tty only: their output is their log. */
  async attach(id: string, _opts?: AttachOptions): Promise<AttachStreams | undefined> {
    this.calls.push(`attach ${id}`);
    return undefined;
  }

  /** An echo server on every port: what is written comes back; ending the input ends the output. */
  portForward(sandboxId: string, port: number): PortForwardConnection {
    this.calls.push(`portForward ${sandboxId} ${port}`);
    const echo = new PassThrough();
    return { input: echo, output: echo, done: new Promise((resolve) => echo.on('end', () => resolve(undefined))), close: () => echo.destroy() };
  }

  // eslint-disable-next-line require-yield
  async *logs(): AsyncIterable<LogEntry> {
    return;
  }

  async containerStats(id: string): Promise<ContainerStats> {
    return { id, timestamp: new Date(this.now()), cpuUsageNanoseconds: 0, memoryUsageBytes: this.memoryUsage.get(id) ?? 0, memoryWorkingSetBytes: 0, pids: 0 };
  }
}
