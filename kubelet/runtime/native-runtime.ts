// The built-in runtime: ContainerRuntime over Linux namespaces, cgroups and
// overlayfs. TypeScript decides and writes files (state, spec, cgroups);
// the native helpers (build/native/) do what needs a single-threaded
// process: tsk-sandbox (namespaces of a pod), tsk-shim (create + supervise a
// container), tsk-exec (enter one). No Node process is on a container's
// path once it runs, so killing the kubelet or `tsk runtime` leaves
// containers running; a new NativeRuntime over the same data dir finds them.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CgroupManager, DELEGATED_LEAF, detectCgroupLayout } from './cgroups/cgroups';
import { DEFAULT_DEVICE_RULES, DeviceRule, PRIVILEGED_DEVICE_RULES, shimDeviceRule } from './cgroups/devices';
import { connectAttach } from './container/attach-socket';
import { mergeEnv, renderSpec, resolveCommand } from './container/spec';
import { parseSeccompProfile } from './container/seccomp';
import { localhostProfilePath, planSecurity, SecurityConfigError, SecurityPlan } from './container/security';
import { ShimMount, validateMounts } from './container/mounts';
import { ContainerRecord, FILES, readRecord, readStatus, writeRecord } from './container/state';
import { imageUsers, ImageUser, usedLayerDirs } from './container/usage';
import { resolveUserInLayers } from './container/user';
import { PodOwners } from './pod-owners';
import { markTopDir } from './topdir';
import { Launcher } from './launcher';
import { InvalidStateError, NotFoundError, RuntimeError, SetupError } from './errors';
import type { ImageRecord } from './image/types';
import { followLog, readLogTail } from './logs/cri-log';
import {
  AttachOptions,
  AttachStreams,
  ContainerConfig,
  ContainerResources,
  ContainerRuntime,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  ExecOptions,
  ExecProcess,
  ExecResult,
  PortForwardConnection,
  LogEntry,
  LogOptions,
  loopbackOnly,
  NetworkHook,
  SandboxConfig,
  SandboxStatus,
} from './runtime';
import { podInitAlive, stopPodInit } from './sandbox/pod-init';
import { sysctlsFile } from './sandbox/sysctls';
import { hostDnsConfig, hostsFile, readSandboxRecord, resolvConf, SandboxRecord, validHostname, writeSandboxRecord } from './sandbox/files';
import { errorMessage } from '../../util/errors';
import { signalNumber } from './stop-signal';

/** What the runtime needs from the image store (ImageStore implements it). */
export interface ImageLookup {
  get(ref: string): Promise<ImageRecord | undefined>;
}

export interface NativeRuntimeOptions {
  dataDir: string;
  images: ImageLookup;
  network?: NetworkHook;
  /** Directory of tsk-shim, tsk-exec, tsk-sandbox; defaults to build/native of this checkout. */
  nativeDir?: string;
  cgroups?: CgroupManager;
  logMaxBytes?: number;
  logMaxFiles?: number;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function defaultNativeDir(): string {
  // dist/kubelet/runtime/ -> <repo>/build/native
  return process.env['TSK_NATIVE_DIR'] ?? path.resolve(__dirname, '..', '..', '..', 'build', 'native');
}

function newId(): string {
  return randomBytes(32).toString('hex');
}

export class NativeRuntime implements ContainerRuntime {
  readonly dataDir: string;
  readonly cgroups: CgroupManager;
  private readonly images: ImageLookup;
  private readonly network: NetworkHook;
  private readonly bin: { shim: string; exec: string; sandbox: string; launcher: string; portForward: string };
  private readonly launcher: Launcher;
  /** The pod of each sandbox and container seen: a listing for one pod reads no other pod's records. */
  private readonly sandboxOwners = new PodOwners();
  private readonly containerOwners = new PodOwners();
  private readonly logMaxBytes: number;
  private readonly logMaxFiles: number;

  constructor(opts: NativeRuntimeOptions) {
    // Absolute: the shim mounts and bind-mounts these paths after chdir, and records keep them.
    this.dataDir = path.resolve(opts.dataDir);
    this.images = opts.images;
    this.network = opts.network ?? loopbackOnly;
    this.cgroups = opts.cgroups ?? new CgroupManager(detectCgroupLayout());
    const dir = opts.nativeDir ?? defaultNativeDir();
    this.bin = {
      shim: path.join(dir, 'tsk-shim'),
      exec: path.join(dir, 'tsk-exec'),
      sandbox: path.join(dir, 'tsk-sandbox'),
      launcher: path.join(dir, 'tsk-launcher'),
      portForward: path.join(dir, 'tsk-portforward'),
    };
    this.launcher = new Launcher(dir);
    for (const b of Object.values(this.bin)) {
      if (!fs.existsSync(b)) throw new RuntimeError(`native helper ${b} is missing: run npm run build (scripts/build-native.sh)`);
    }
    this.logMaxBytes = opts.logMaxBytes ?? 10 * 1024 * 1024;
    this.logMaxFiles = opts.logMaxFiles ?? 5;
    // Once, when made: each container's and sandbox's directory placed apart from the rest of the data dir's churn (topdir.ts).
    for (const d of [this.containersDir, this.sandboxesDir]) if (fs.mkdirSync(d, { recursive: true }) !== undefined) markTopDir(d);
  }

  get containersDir(): string {
    return path.join(this.dataDir, 'containers');
  }

  get sandboxesDir(): string {
    return path.join(this.dataDir, 'sandboxes');
  }

  private containerDir(id: string): string {
    if (!/^[a-f0-9]{64}$/.test(id)) throw new NotFoundError('container', id);
    return path.join(this.containersDir, id);
  }

  /** The container's writable layer (the overlay's upper directory): what it wrote to its root filesystem. */
  containerUpperDir(id: string): string {
    return path.join(this.containerDir(id), 'upper');
  }

  private sandboxDir(id: string): string {
    if (!/^[a-f0-9]{64}$/.test(id)) throw new NotFoundError('sandbox', id);
    return path.join(this.sandboxesDir, id);
  }

  // ------------------------------------------------------------ sandboxes

  async createSandbox(config: SandboxConfig): Promise<string> {
    const hostname = config.hostname ?? config.name;
    if (!validHostname(hostname)) throw new RuntimeError(`sandbox hostname "${hostname}" is not a valid RFC 1123 label`);
    if (config.uid === '') throw new RuntimeError('sandbox config: uid is required');
    if (config.sharePID && config.hostPID) throw new RuntimeError('sandbox config: sharePID and hostPID cannot both be enabled');
    const userns = userNamespaceOption(config);
    const id = newId();
    const dir = path.join(this.sandboxesDir, id);
    fs.mkdirSync(dir);
    const rec: SandboxRecord = { id, config, hostname, createdAt: new Date().toISOString() };
    try {
      writeSandboxRecord(dir, rec);
      fs.writeFileSync(path.join(dir, 'resolv.conf'), resolvConf(config.dns ?? this.hostDns()));
      fs.writeFileSync(path.join(dir, 'hostname'), `${hostname}\n`);
      if (config.sysctls && Object.keys(config.sysctls).length > 0) fs.writeFileSync(path.join(dir, 'sysctls'), sysctlsFile(config.sysctls));
      this.cgroups.create(this.cgroups.podPath(config.uid), config.resources);
      const opts = [...(config.hostIPC ? ['hostipc'] : []), ...(config.sharePID ? ['sharepid'] : []), ...userns];
      const r = await this.launcher.request('sandbox-create', [dir, hostname, ...opts]);
      if (r.code !== 0) throw new SetupError('create sandbox', r.message || `failed with ${r.code}`);
      crashPointForTests('sandbox-network');
      const net = await this.network.setUp(id, path.join(dir, 'net'), config);
      writeSandboxRecord(dir, { ...rec, ips: net.ips });
      // Written once, with the network up: only containers read it, and they come after (the pod's own address for its name).
      fs.writeFileSync(path.join(dir, 'hosts'), hostsFile(hostname, config.hostAliases, net.ips[0]));
    } catch (err) {
      await this.removeSandbox(id).catch(() => undefined);
      throw err;
    }
    return id;
  }

  private hostDns(): ReturnType<typeof hostDnsConfig> {
    try {
      return hostDnsConfig(fs.readFileSync('/etc/resolv.conf', 'utf8'));
    } catch {
      return { servers: [], searches: [], options: [] };
    }
  }

  async stopSandbox(id: string): Promise<void> {
    const dir = this.sandboxDir(id);
    const rec = readSandboxRecord(dir);
    if (!rec) return;
    const containers = await this.listContainers({ sandboxId: id });
    await Promise.all(containers.map((c) => this.stopContainer(c.id, 0)));
    if (rec.config.sharePID) stopPodInit(dir);
    await this.network.tearDown(id, path.join(dir, 'net'));
    writeSandboxRecord(dir, { ...rec, stopped: true });
  }

  async removeSandbox(id: string): Promise<void> {
    const dir = this.sandboxDir(id);
    if (!fs.existsSync(dir)) return;
    const rec = readSandboxRecord(dir);
    const containers = await this.listContainers({ sandboxId: id });
    await Promise.all(containers.map((c) => this.removeContainer(c.id)));
    if (rec && !rec.stopped) await this.network.tearDown(id, path.join(dir, 'net'));
    const r = await this.launcher.request('sandbox-remove', [dir]);
    if (r.code !== 0) throw new SetupError('remove sandbox namespaces', r.message);
    // Another sandbox of the same pod (a recreated one) may still use the pod cgroup.
    if (rec && !this.otherSandboxOfPod(id, rec.config.uid)) await this.cgroups.remove(this.cgroups.podPath(rec.config.uid));
    await this.removeDir(dir);
  }

  /**
   * Removes a sandbox's or container's directory: moved out of its listing
   * at once (a rename, so no listing sees it half removed), then deleted off
   * the event loop. A synchronous delete blocked every other pod's start for
   * as long as the disk took to unlink its files.
   */
  private async removeDir(dir: string): Promise<void> {
    const trash = path.join(this.dataDir, 'removing');
    fs.mkdirSync(trash, { recursive: true });
    const moved = path.join(trash, `${path.basename(dir)}-${randomBytes(4).toString('hex')}`);
    try {
      fs.renameSync(dir, moved);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fs.promises.rm(moved, { recursive: true, force: true });
  }

  private otherSandboxOfPod(id: string, uid: string): boolean {
    return fs.readdirSync(this.sandboxesDir).some((other) => {
      if (other === id) return false;
      return readSandboxRecord(path.join(this.sandboxesDir, other))?.config.uid === uid;
    });
  }

  async sandboxStatus(id: string): Promise<SandboxStatus> {
    const dir = this.sandboxDir(id);
    const rec = readSandboxRecord(dir);
    if (!rec) throw new NotFoundError('sandbox', id);
    return this.toSandboxStatus(dir, rec);
  }

  private toSandboxStatus(dir: string, rec: SandboxRecord): SandboxStatus {
    return {
      id: rec.id,
      name: rec.config.name,
      namespace: rec.config.namespace,
      uid: rec.config.uid,
      hostname: rec.hostname,
      state: sandboxReady(dir, rec) ? 'ready' : 'notready',
      createdAt: new Date(rec.createdAt),
      netnsPath: path.join(dir, 'net'),
      ips: rec.stopped ? [] : (rec.ips ?? []),
      ...(rec.config.userNamespace ? { userNamespace: rec.config.userNamespace } : {}),
      resources: rec.config.resources ?? {},
      labels: rec.config.labels ?? {},
      annotations: rec.config.annotations ?? {},
    };
  }

  async listSandboxes(filter: { podUid?: string } = {}): Promise<SandboxStatus[]> {
    const out: SandboxStatus[] = [];
    const ids = fs.readdirSync(this.sandboxesDir);
    for (const id of ids) {
      if (this.sandboxOwners.otherPod(id, filter.podUid)) continue;
      const dir = path.join(this.sandboxesDir, id);
      const rec = readSandboxRecord(dir);
      this.sandboxOwners.learn(id, rec?.config.uid);
      if (rec && (filter.podUid === undefined || rec.config.uid === filter.podUid)) out.push(this.toSandboxStatus(dir, rec));
    }
    this.sandboxOwners.keepOnly(ids);
    return out;
  }

  // ------------------------------------------------------------ containers

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sbDir = this.sandboxDir(sandboxId);
    const sb = readSandboxRecord(sbDir);
    if (!sb) throw new NotFoundError('sandbox', sandboxId);
    if (sb.stopped) throw new InvalidStateError(`sandbox ${sandboxId} is stopped`);
    const image = await this.images.get(config.image);
    if (!image) throw new RuntimeError(`image "${config.image}" not found in the local store: pull or import it first`);
    // hostIPC shares POSIX shared memory too, as containerd does for IPC mode NODE: the node's /dev/shm over the container's own.
    const hostShm = sb.config.hostIPC && fs.existsSync('/dev/shm') ? [{ hostPath: '/dev/shm', containerPath: '/dev/shm' }] : [];
    const mounts = validateMounts(config.name, [...hostShm, ...(config.mounts ?? [])]);
    if (config.security?.unmaskedProc && !sb.config.userNamespace)
      throw new RuntimeError(`container "${config.name}": an unmasked /proc needs a sandbox with a user namespace`);
    const idmapped = mounts.find((m) => m.idmapped);
    if (idmapped && !sb.config.userNamespace)
      throw new RuntimeError(`container "${config.name}": mount ${idmapped.containerPath} is idmapped but the sandbox has no user namespace`);
    const ic = image.config;
    const command = resolveCommand(ic.entrypoint, ic.cmd, config.command, config.args);
    if (command.length === 0) throw new RuntimeError(`container "${config.name}": no command given and the image has no Entrypoint or Cmd`);
    const user = resolveUserInLayers(config.user ?? ic.user, image.layerDirs);
    // The primary group leads the supplementary ones, as containerd's ensureAdditionalGids has it (Kubernetes'
    // documented `id` output). Strict: not the image's idea of the user's groups, only what the pod asked for.
    const imageGids = config.security?.supplementalGroupsPolicy === 'Strict' ? [] : user.extraGids;
    const security = this.planSecurity(config, [user.gid, ...imageGids]);
    const cgroupWritable = this.cgroupWritable(config);
    const env = mergeEnv([DEFAULT_PATH, `HOSTNAME=${sb.hostname}`, `HOME=${user.home}`], ic.env, config.env ?? []);

    const id = newId();
    const dir = path.join(this.containersDir, id);
    const rec: ContainerRecord = {
      id,
      name: config.name,
      sandboxId,
      podUid: sb.config.uid,
      image: config.image,
      imageId: image.id,
      layerDirs: image.layerDirs,
      command,
      env,
      workingDir: config.workingDir || ic.workingDir || '/',
      uid: user.uid,
      gid: user.gid,
      extraGids: security.extraGids,
      capMask: security.capMask,
      noNewPrivs: security.noNewPrivs,
      seccomp: security.seccomp !== undefined,
      createdAt: new Date().toISOString(),
      logPath: config.logPath ?? path.join(dir, 'log'),
      cgroup: this.cgroups.containerPath(sb.config.uid, id),
      // ReadWrite: the processes (and the container's cgroup namespace) in the delegated leaf below the limits.
      cgroupDirs: this.cgroups.dirs(path.join(this.cgroups.containerPath(sb.config.uid, id), ...(cgroupWritable ? [DELEGATED_LEAF] : []))),
      resources: config.resources ?? {},
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      ...(config.stdin ? { stdin: true, ...(config.stdinOnce ? { stdinOnce: true } : {}) } : {}),
      ...(config.tty ? { tty: true } : {}),
    };
    // 0700: config.json and spec hold the environment.
    fs.mkdirSync(dir, { mode: 0o700 });
    try {
      for (const d of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(dir, d));
      writeRecord(dir, rec);
      // From here on a prune keeps the layers; one that ran since the image lookup may have taken them.
      const gone = rec.layerDirs.find((l) => !fs.existsSync(l));
      if (gone !== undefined)
        throw new RuntimeError(`image "${config.image}" was removed while container "${config.name}" was being created (layer ${gone} is gone)`);
      const devices = security.privileged ? PRIVILEGED_DEVICE_RULES : DEFAULT_DEVICE_RULES;
      this.cgroups.create(rec.cgroup, rec.resources, devices);
      if (cgroupWritable) this.cgroups.createDelegatedLeaf(rec.cgroup);
      if (security.seccomp !== undefined) fs.writeFileSync(path.join(dir, FILES.seccomp), security.seccomp, { mode: 0o600 });
      const spec = this.renderShimSpec(dir, sbDir, rec, config, mounts, security, devices, sb.config);
      fs.writeFileSync(path.join(dir, FILES.spec), spec, { mode: 0o600 });
      const r = await this.launcher.request('shim', [dir]);
      if (r.code !== 0) throw new SetupError('create container', r.message || `tsk-shim failed with ${r.code}`);
    } catch (err) {
      await this.cgroups.remove(rec.cgroup).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return id;
  }

  /** Whether the container may write its cgroups (KEP-5474 ReadWrite); throws RuntimeError on a node without cgroup v2. */
  private cgroupWritable(config: ContainerConfig): boolean {
    if (config.security?.cgroupMountMode !== 'ReadWrite') return false;
    if (this.cgroups.layout.version !== 2) {
      throw new RuntimeError(
        `container "${config.name}": securityContext.cgroupOptions.mountMode ReadWrite needs cgroup v2 (its delegation keeps the container within its limits); this node runs cgroup v1`,
      );
    }
    return true;
  }

  /** The container's capabilities, seccomp filter and the rest of its security; throws RuntimeError naming the field. */
  private planSecurity(config: ContainerConfig, userGids: number[]): SecurityPlan {
    try {
      return planSecurity({
        container: config.name,
        security: config.security,
        userGids,
        loadProfile: (choice) => {
          const file = localhostProfilePath(this.dataDir, choice.profile);
          let text: string;
          try {
            text = fs.readFileSync(file, 'utf8');
          } catch (err) {
            throw new SecurityConfigError(`seccomp profile ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err)}`);
          }
          return parseSeccompProfile(file, text);
        },
      });
    } catch (err) {
      if (err instanceof SecurityConfigError) throw new RuntimeError(err.message);
      throw err;
    }
  }

  private renderShimSpec(
    dir: string,
    sbDir: string,
    rec: ContainerRecord,
    config: ContainerConfig,
    mounts: ShimMount[],
    security: SecurityPlan,
    devices: readonly DeviceRule[],
    sandbox: SandboxConfig,
  ): string {
    return renderSpec({
      hostPid: sandbox.hostPID === true,
      ...(sandbox.sharePID ? { pidns: path.join(sbDir, 'pid') } : {}),
      ...(sandbox.userNamespace ? { userns: path.join(sbDir, 'user'), usernsRoot: sandbox.userNamespace.hostId } : {}),
      lowerDirs: [...rec.layerDirs].reverse(),
      upperDir: path.join(dir, 'upper'),
      workDir: path.join(dir, 'work'),
      rootfs: path.join(dir, 'rootfs'),
      netns: path.join(sbDir, 'net'),
      ipcns: path.join(sbDir, 'ipc'),
      utsns: path.join(sbDir, 'uts'),
      cgroupDirs: rec.cgroupDirs ?? this.cgroups.dirs(rec.cgroup),
      ...(this.cgroups.layout.version === 2 ? { cgroupMount: config.security?.cgroupMountMode === 'ReadWrite' ? ('rw' as const) : ('ro' as const) } : {}),
      ...this.deviceFilter(rec.cgroup, devices),
      oomFile: this.cgroups.oomFile(rec.cgroup),
      args: rec.command,
      env: rec.env,
      cwd: rec.workingDir,
      uid: rec.uid,
      gid: rec.gid,
      extraGids: rec.extraGids,
      capMask: rec.capMask,
      noNewPrivs: security.noNewPrivs,
      ...(security.seccomp !== undefined ? { seccompFile: path.join(dir, FILES.seccomp), seccompCacheDir: path.join(this.dataDir, 'seccomp-cache') } : {}),
      readonlyRootfs: security.readonlyRootfs,
      privileged: security.privileged,
      oomScoreAdj: security.oomScoreAdj,
      hostsFile: path.join(sbDir, 'hosts'),
      resolvFile: path.join(sbDir, 'resolv.conf'),
      hostnameFile: path.join(sbDir, 'hostname'),
      mounts,
      logPath: rec.logPath,
      logMaxBytes: config.logMaxBytes ?? this.logMaxBytes,
      logMaxFiles: config.logMaxFiles ?? this.logMaxFiles,
      maskedPaths: security.maskedPaths,
      readonlyPaths: security.readonlyPaths,
      ...(rec.stdin ? { stdin: true, stdinOnce: rec.stdinOnce === true } : {}),
      ...(rec.tty ? { tty: true } : {}),
    });
  }

  /** cgroup v2 only: where and what tsk-shim attaches as the device filter (v1 has the controller's files). */
  private deviceFilter(cgroup: string, devices: readonly DeviceRule[]): { deviceCgroup?: string; deviceRules?: string[] } {
    const dir = this.cgroups.deviceFilterDir(cgroup);
    return dir === undefined ? {} : { deviceCgroup: dir, deviceRules: devices.map(shimDeviceRule) };
  }

  private load(id: string): { dir: string; rec: ContainerRecord } {
    const dir = this.containerDir(id);
    const rec = readRecord(dir);
    if (!rec) throw new NotFoundError('container', id);
    return { dir, rec };
  }

  async updateContainerResources(id: string, resources: ContainerResources): Promise<void> {
    const { dir, rec } = this.load(id);
    this.cgroups.update(rec.cgroup, resources);
    writeRecord(dir, { ...rec, resources });
  }

  async updateSandboxResources(id: string, resources: ContainerResources): Promise<void> {
    const dir = this.sandboxDir(id);
    const rec = readSandboxRecord(dir);
    if (!rec) throw new NotFoundError('sandbox', id);
    this.cgroups.update(this.cgroups.podPath(rec.config.uid), resources);
    writeSandboxRecord(dir, { ...rec, config: { ...rec.config, resources } });
  }

  async startContainer(id: string): Promise<void> {
    const { dir, rec } = this.load(id);
    const status = readStatus(dir, rec);
    if (status.state !== 'created') throw new InvalidStateError(`container ${id} is ${status.state}, not created: cannot start it`);
    const fifo = path.join(dir, FILES.fifo);
    // The init holds the fifo open read-write and blocks reading it: our byte releases it.
    // ENXIO (no reader) means the init is gone; O_NONBLOCK keeps this from ever hanging.
    try {
      const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      try {
        fs.writeSync(fd, '0');
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENXIO' ? 'the container init is not waiting to start (it exited)' : e.message;
      throw new SetupError('start container: write exec fifo', why);
    }
    fs.rmSync(fifo, { force: true });
    const after = readStatus(dir, rec);
    if (after.state === 'exited' && after.startedAt === undefined) {
      throw new SetupError('start container', after.message ?? 'the container exited before it was started');
    }
  }

  async stopContainer(id: string, timeoutSeconds: number, stopSignal = 'SIGTERM'): Promise<void> {
    // The API validated the name; an unknown one still stops the container (SIGTERM) rather than leave it running.
    const sig = signalNumber(stopSignal) ?? 'SIGTERM';
    const dir = this.containerDir(id);
    const rec = readRecord(dir);
    if (!rec) return;
    const status = readStatus(dir, rec);
    if (status.state === 'exited') return;
    if (status.state === 'running' && status.pid !== undefined && timeoutSeconds > 0) {
      signal(status.pid, sig);
      if (await this.waitExit(dir, rec, timeoutSeconds * 1000)) return;
    }
    // SIGKILL to the init ends its PID namespace; the cgroup sweep catches anything else.
    if (status.pid !== undefined) signal(status.pid, 'SIGKILL');
    this.cgroups.signalAll(rec.cgroup, 'SIGKILL');
    if (await this.waitExit(dir, rec, 10_000)) return;
    throw new RuntimeError(`container ${id} did not exit within 10s of SIGKILL`);
  }

  /** True once the container is no longer created/running (its exit record landed). */
  private async waitExit(dir: string, rec: ContainerRecord, timeoutMs: number): Promise<boolean> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const st = await this.waitState(dir, rec, ac.signal);
      return st.state === 'exited' || st.state === 'unknown';
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with the status once it is exited (or unknown); inotify on the state dir, with a slow poll as a safety net. */
  private waitState(dir: string, rec: ContainerRecord, signal?: AbortSignal): Promise<ContainerStatus> {
    return new Promise((resolve, reject) => {
      let watcher: fs.FSWatcher | undefined;
      let poll: NodeJS.Timeout | undefined;
      const finish = (err?: Error, st?: ContainerStatus): void => {
        watcher?.close();
        if (poll) clearInterval(poll);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else if (st) resolve(st);
      };
      const check = (): void => {
        const st = readStatus(dir, rec);
        if (st.state === 'exited' || st.state === 'unknown') finish(undefined, st);
      };
      const onAbort = (): void => finish(new RuntimeError(`waiting for container ${rec.id}: aborted`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort);
      try {
        watcher = fs.watch(dir, () => check());
        watcher.on('error', () => undefined);
      } catch {
        watcher = undefined;
      }
      poll = setInterval(check, 250);
      check();
    });
  }

  async waitContainer(id: string, signal?: AbortSignal): Promise<ContainerStatus> {
    const { dir, rec } = this.load(id);
    return this.waitState(dir, rec, signal);
  }

  async removeContainer(id: string): Promise<void> {
    const dir = this.containerDir(id);
    if (!fs.existsSync(dir)) return;
    const rec = readRecord(dir);
    if (rec) {
      // The shim writes the exit record as its last act, so once stop returns nothing writes here.
      await this.stopContainer(id, 0);
      await this.cgroups.remove(rec.cgroup);
    }
    await this.removeDir(dir);
  }

  async listContainers(filter: { sandboxId?: string; state?: ContainerState; podUid?: string } = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    const ids = fs.readdirSync(this.containersDir);
    this.containerOwners.keepOnly(ids);
    for (const id of ids) {
      if (this.containerOwners.otherPod(id, filter.podUid)) continue;
      const dir = path.join(this.containersDir, id);
      const rec = readRecord(dir);
      if (!rec) continue;
      this.containerOwners.learn(id, rec.podUid);
      // Filtered before readStatus: reading a container's state (pid, exit, /proc) is most of a listing's cost.
      if (filter.sandboxId !== undefined && rec.sandboxId !== filter.sandboxId) continue;
      // A record without podUid (written before it was kept) stays in: the caller groups by sandbox.
      if (filter.podUid !== undefined && rec.podUid !== undefined && rec.podUid !== filter.podUid) continue;
      const st = readStatus(dir, rec);
      if (filter.state !== undefined && st.state !== filter.state) continue;
      out.push(st);
    }
    return out;
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const { dir, rec } = this.load(id);
    return readStatus(dir, rec);
  }

  /** Layer directories used by existing containers: every image prune must keep them (ImageStore.prune keepLayerDirs). */
  async usedLayerDirs(): Promise<string[]> {
    return usedLayerDirs(this.containersDir);
  }

  /** Containers and the image each was created from, for `rmi`'s conflict check. */
  async imageUsers(): Promise<ImageUser[]> {
    return imageUsers(this.containersDir);
  }

  // ------------------------------------------------------------ exec, logs, stats

  /** Arguments for tsk-exec (exported for the CLI, which runs it with a terminal). */
  execArgs(id: string, opts: ExecOptions): { file: string; args: string[] } {
    const { dir, rec } = this.load(id);
    const st = readStatus(dir, rec);
    if (st.state !== 'running' || st.pid === undefined) throw new InvalidStateError(`container ${id} is not running`);
    if (opts.cmd.length === 0) throw new RuntimeError('exec: no command given');
    const args = ['-p', `${st.pid}`, '-w', rec.workingDir, '-u', `${rec.uid}`, '-g', `${rec.gid}`, '-C', rec.capMask];
    // Exec'd processes get the init's no_new_privs and seccomp filter, as runc's.
    if (rec.noNewPrivs ?? true) args.push('-N');
    if (rec.seccomp) args.push('-S', path.join(dir, FILES.seccomp));
    // Exactly the init's cgroups: a container from before the devices controller was used has none there.
    const cgroupDirs = rec.cgroupDirs ?? this.cgroups.dirs(rec.cgroup).filter((d) => fs.existsSync(d));
    for (const d of cgroupDirs) args.push('-c', d);
    for (const e of mergeEnv(rec.env, opts.env ?? [])) args.push('-e', e);
    for (const g of rec.extraGids) args.push('-G', `${g}`);
    if (opts.tty) args.push('-t');
    if (opts.stdin) args.push('-i');
    args.push('--', ...opts.cmd);
    return { file: this.bin.exec, args };
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecResult> {
    const { file, args } = this.execArgs(id, opts);
    const inherit = opts.stdio === 'inherit';
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => reject(new SetupError('exec: run tsk-exec', err.message)));
      child.on('close', (code, sig) => resolve({ exitCode: code ?? 128 + (sig === 'SIGKILL' ? 9 : 15), stdout, stderr }));
    });
  }

  execStream(id: string, opts: ExecOptions): ExecProcess {
    const { file, args } = this.execArgs(id, opts);
    // stdout and stderr are always pipes (stdio below), so the non-null assertions hold.
    // With a terminal, fd 3 carries its sizes (resize below; tsk-exec -r).
    const child = spawn(file, opts.tty ? ['-r', '3', ...args] : args, {
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', opts.tty ? 'pipe' : 'ignore'],
    });
    const sizes = opts.tty ? (child.stdio[3] as NodeJS.WritableStream | null) : null;
    sizes?.on('error', () => undefined);
    const exit = new Promise<number>((resolve) => {
      child.on('error', () => resolve(126));
      child.on('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
    });
    return {
      stdin: child.stdin,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exit,
      kill: () => {
        child.stdin?.destroy();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
      ...(sizes ? { resize: (width: number, height: number) => void sizes.write(`${width} ${height}\n`) } : {}),
    };
  }

  async attach(id: string, opts: AttachOptions): Promise<AttachStreams | undefined> {
    const { dir, rec } = this.load(id);
    if (!rec.stdin && !rec.tty) return undefined;
    const state = readStatus(dir, rec).state;
    if (state !== 'running' && state !== 'created') throw new InvalidStateError(`container ${id} is not running`);
    return connectAttach(dir, { stdin: opts.stdin && rec.stdin === true, tty: rec.tty === true });
  }

  async *logs(id: string, opts: LogOptions = {}): AsyncGenerator<LogEntry> {
    const { dir, rec } = this.load(id);
    if (!opts.follow) {
      yield* readLogTail(rec.logPath, opts.tail);
      return;
    }
    yield* followLog(rec.logPath, {
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      done: () => {
        const s = readStatus(dir, rec).state;
        return s === 'exited' || s === 'unknown';
      },
    });
  }

  portForward(sandboxId: string, port: number): PortForwardConnection {
    const netns = path.join(this.sandboxDir(sandboxId), 'net');
    const child = spawn(this.bin.portForward, [netns, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A write after the helper is gone is the session's end, reported by done.
    child.stdin.on('error', () => undefined);
    const done = new Promise<string | undefined>((resolve) => {
      child.on('error', (err) => resolve(`tsk-portforward: ${err.message}`));
      child.on('close', (code, sig) => resolve(code === 0 || sig === 'SIGTERM' ? undefined : stderr.trim() || `tsk-portforward exited (${sig ?? code})`));
    });
    return {
      input: child.stdin,
      output: child.stdout,
      done,
      close: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  }

  async containerStats(id: string): Promise<ContainerStats> {
    const { rec } = this.load(id);
    return { id, timestamp: new Date(), ...this.cgroups.usage(rec.cgroup) };
  }
}

/** tsk-sandbox's userns=HOST:LEN option for the sandbox's user namespace, checked; [] without one. */
export function userNamespaceOption(config: SandboxConfig): string[] {
  const r = config.userNamespace;
  if (!r) return [];
  // Kubernetes forbids these pairs: the node's namespaces belong to the node's user namespace.
  if (config.hostIPC || config.hostPID) throw new RuntimeError('sandbox config: a user namespace cannot be combined with hostIPC or hostPID');
  const id = (v: number): boolean => Number.isSafeInteger(v) && v > 0 && v <= 0xffffffff;
  if (!id(r.hostId) || !id(r.length) || r.hostId + r.length > 0xffffffff)
    throw new RuntimeError(`sandbox config: userNamespace ${r.hostId}:${r.length} is not a range of host IDs above 0 and below 2^32`);
  return [`userns=${r.hostId}:${r.length}`];
}

function signal(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/**
 * Whether containers can run in the sandbox: not stopped, its network set
 * up (a record without `ips` was never wired: the kubelet died between
 * making the namespaces and wiring them), its network namespace still there,
 * and, with a shared PID namespace, its PID 1 alive (that namespace dies
 * with it). Kubernetes' kubelet recreates such a sandbox ("SandboxChanged").
 */
function sandboxReady(dir: string, rec: SandboxRecord): boolean {
  if (rec.stopped || rec.ips === undefined) return false;
  if (!fs.existsSync(path.join(dir, 'net'))) return false;
  return !(rec.config.sharePID && !podInitAlive(dir));
}

/**
 * Test-only: TSK_TEST_CRASH_AT=POINT makes the process die (SIGKILL) when it
 * reaches POINT, as a kill at that moment would; the integration tests use
 * it to reproduce a crash deterministically. Points: "sandbox-network"
 * (after the sandbox's namespaces exist, before its network is set up).
 */
function crashPointForTests(point: string): void {
  if (process.env['TSK_TEST_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}
