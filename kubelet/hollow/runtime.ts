// The runtime of a hollow node (Kubernetes' kubemark): sandboxes and
// containers kept in memory, so the real kubelet above it syncs, reports and
// deletes pods at the cost of a few objects each. A started container runs
// until it is stopped (then exits 0 for a graceful stop, 137 when killed by a
// sandbox stop), which is what a long-running service does; nothing is
// executed, and exec, logs and stats answer as for an idle process.

import { PassThrough } from 'node:stream';
import type {
  ContainerConfig,
  ContainerResources,
  ContainerRuntime,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  AttachStreams,
  ExecProcess,
  PortForwardConnection,
  ExecResult,
  LogEntry,
  NetworkHook,
  SandboxConfig,
  SandboxStatus,
} from '../runtime/runtime';
import { InvalidStateError, NotFoundError } from '../runtime/errors';

/** Exit code of a container killed by SIGKILL (128 + 9). */
const KILLED = 137;

export class HollowRuntime implements ContainerRuntime {
  private readonly sandboxes = new Map<string, SandboxStatus>();
  private readonly containers = new Map<string, ContainerStatus>();
  /** Waiters of waitContainer, resolved when the container exits. */
  private readonly exits = new Map<string, (() => void)[]>();
  private seq = 0;

  constructor(
    private readonly network: NetworkHook,
    /** Distinguishes the IDs of the hollow nodes of one process (IDs are global in logs and metrics). */
    private readonly idPrefix: string,
  ) {}

  private id(): string {
    this.seq++;
    return `${this.idPrefix}${this.seq.toString(16).padStart(8, '0')}`;
  }

  async createSandbox(config: SandboxConfig): Promise<string> {
    const id = this.id();
    const netnsPath = `hollow:${id}`;
    const { ips } = await this.network.setUp(id, netnsPath, config);
    this.sandboxes.set(id, {
      id,
      name: config.name,
      namespace: config.namespace,
      uid: config.uid,
      hostname: config.hostname ?? config.name,
      state: 'ready',
      createdAt: new Date(),
      netnsPath,
      ips,
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      resources: config.resources ?? {},
    });
    return id;
  }

  async stopSandbox(id: string): Promise<void> {
    const s = this.sandboxes.get(id);
    if (!s || s.state === 'notready') return;
    for (const c of this.containers.values()) if (c.sandboxId === id) this.exit(c, KILLED);
    await this.network.tearDown(id, s.netnsPath);
    s.state = 'notready';
    s.ips = [];
  }

  async removeSandbox(id: string): Promise<void> {
    await this.stopSandbox(id);
    for (const c of [...this.containers.values()]) if (c.sandboxId === id) this.containers.delete(c.id);
    this.sandboxes.delete(id);
  }

  async sandboxStatus(id: string): Promise<SandboxStatus> {
    const s = this.sandboxes.get(id);
    if (!s) throw new NotFoundError('sandbox', id);
    return { ...s };
  }

  async listSandboxes(): Promise<SandboxStatus[]> {
    return [...this.sandboxes.values()].map((s) => ({ ...s }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    if (this.sandboxes.get(sandboxId)?.state !== 'ready') throw new InvalidStateError(`sandbox ${sandboxId} is not ready`);
    const id = this.id();
    this.containers.set(id, {
      id,
      name: config.name,
      sandboxId,
      image: config.image,
      imageId: config.image,
      command: [...(config.command ?? []), ...(config.args ?? [])],
      state: 'created',
      createdAt: new Date(),
      logPath: '',
      resources: config.resources ?? {},
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.get(id);
    if (c.state !== 'created') throw new InvalidStateError(`container ${id} is ${c.state}, not created`);
    Object.assign(c, { state: 'running' as ContainerState, startedAt: new Date() });
  }

  private exit(c: ContainerStatus, code: number): void {
    if (c.state === 'exited') return;
    Object.assign(c, { state: 'exited' as ContainerState, exitCode: code, reason: code === 0 ? 'Completed' : 'Error', finishedAt: new Date() });
    for (const wake of this.exits.get(c.id) ?? []) wake();
    this.exits.delete(c.id);
  }

  async stopContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    // A hollow process honours the stop signal at once.
    if (c) this.exit(c, 0);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) this.exit(c, KILLED);
    this.containers.delete(id);
  }

  async listContainers(filter: { sandboxId?: string; state?: ContainerState } = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const c of this.containers.values()) {
      if ((filter.sandboxId === undefined || c.sandboxId === filter.sandboxId) && (filter.state === undefined || c.state === filter.state)) out.push({ ...c });
    }
    return out;
  }

  private get(id: string): ContainerStatus {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError('container', id);
    return c;
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return { ...this.get(id) };
  }

  async updateContainerResources(id: string, resources: ContainerResources): Promise<void> {
    this.get(id).resources = resources;
  }

  async updateSandboxResources(id: string, resources: ContainerResources): Promise<void> {
    const s = this.sandboxes.get(id);
    if (s) s.resources = resources;
  }

  async waitContainer(id: string, signal?: AbortSignal): Promise<ContainerStatus> {
    const c = this.get(id);
    if (c.state !== 'exited') {
      await new Promise<void>((resolve) => {
        const waiters = this.exits.get(id) ?? [];
        waiters.push(resolve);
        this.exits.set(id, waiters);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return { ...this.get(id) };
  }

  async exec(id: string): Promise<ExecResult> {
    this.get(id);
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  execStream(id: string): ExecProcess {
    this.get(id);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.end();
    stderr.end();
    return { stdin: null, stdout, stderr, exit: Promise.resolve(0), kill: () => {} };
  }

  /** A hollow container has no stdin: its output is its (empty) log. */
  async attach(id: string): Promise<AttachStreams | undefined> {
    this.get(id);
    return undefined;
  }

  /** A hollow pod has no network namespace: every connection is refused, as by a pod listening on nothing. */
  portForward(_sandboxId: string, port: number): PortForwardConnection {
    const output = new PassThrough();
    output.end();
    return {
      input: new PassThrough(),
      output,
      done: Promise.resolve(`failed to connect to localhost:${port}: a hollow node has no pod network`),
      close: () => {},
    };
  }

  // A hollow container writes nothing.
  // eslint-disable-next-line require-yield
  async *logs(): AsyncIterable<LogEntry> {
    return;
  }

  async containerStats(id: string): Promise<ContainerStats> {
    this.get(id);
    return { id, timestamp: new Date(), cpuUsageNanoseconds: 0, memoryUsageBytes: 0, memoryWorkingSetBytes: 0, pids: 1 };
  }
}
