// The narrow interface the kubelet drives, modelled on Kubernetes' CRI
// (RuntimeService): pod sandboxes, containers, exec, logs and stats. The
// built-in runtime (native-runtime.ts) implements it; a fake for the
// kubelet's unit tests can too.
//
// Contracts shared by every implementation:
// - stop and remove calls are idempotent: stopping an exited container,
//   removing a removed one or an unknown ID succeeds and changes nothing;
// - all state lives on disk, so a new instance over the same data dir sees
//   the containers and sandboxes of an earlier (possibly killed) one.

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';
export type SandboxState = 'ready' | 'notready';

/** Kubernetes' reasons for a terminated container. */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'StartError' | 'Unknown';

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface SandboxConfig {
  /** Pod name, namespace and UID (the pod cgroup is named after the UID). */
  name: string;
  namespace: string;
  uid: string;
  /** Defaults to the pod name. */
  hostname?: string;
  /** resolv.conf contents; defaults to the host's, without loopback servers. */
  dns?: DnsConfig;
  hostAliases?: HostAlias[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** CRI NamespaceOption ipc NODE: the sandbox shares the node's IPC namespace (Kubernetes hostIPC). */
  hostIPC?: boolean;
  /** CRI NamespaceOption pid NODE: containers get no PID namespace of their own (Kubernetes hostPID). */
  hostPID?: boolean;
  /**
   * CRI NamespaceOption pid POD: every container joins one PID namespace of
   * the pod, whose PID 1 is the sandbox's own process (Kubernetes
   * shareProcessNamespace). Not with hostPID.
   */
  sharePID?: boolean;
  /**
   * Namespaced sysctls (name in dot or slash form -> value), written inside
   * the sandbox's network and IPC namespaces before any container starts.
   * Which ones a pod may set is the kubelet's decision, not the runtime's.
   */
  sysctls?: Record<string, string>;
  /**
   * CRI NamespaceOption userns_options mode POD (Kubernetes hostUsers:
   * false): the pod gets a user namespace of its own, shared by its
   * containers, mapping its IDs 0..length-1 to the host's hostId.. for users
   * and groups alike (the kubelet allocates the range). Its root is
   * unprivileged on the node; the image and the idmapped mounts show the
   * node's root-owned files as the pod's root's. Not with hostIPC or hostPID.
   */
  userNamespace?: IdRange;
  /**
   * The pod cgroup's own limits (Kubernetes' ResourceConfigForPod with
   * pod-level resources): containers run inside it, so those without limits
   * of their own share these. Unset: the pod cgroup is unlimited.
   */
  resources?: ContainerResources;
}

/** A contiguous range of host IDs given to a pod's user namespace. */
export interface IdRange {
  hostId: number;
  length: number;
}

export interface SandboxStatus {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  hostname: string;
  state: SandboxState;
  createdAt: Date;
  /** The bind-mounted network namespace file given to the network hook. */
  netnsPath: string;
  /** The pod's IP addresses as the network hook reported them (CRI PodSandboxNetworkStatus); empty for loopback only. */
  ips: string[];
  /** The pod's user namespace's range, when it has one. */
  userNamespace?: IdRange;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The pod cgroup's limits in force (SandboxConfig.resources, as updateSandboxResources last set them); unset: none. */
  resources?: ContainerResources;
}

export interface ContainerResources {
  /** CPU request in millicores: cpu.shares (v1) / cpu.weight (v2). */
  cpuRequestMilli?: number;
  /** CPU limit in millicores: the CFS quota. */
  cpuLimitMilli?: number;
  memoryLimitBytes?: number;
  pidsLimit?: number;
}

/** A bind mount into the container (the kubelet's volumes: emptyDir, hostPath), as CRI's Mount. */
export interface Mount {
  /** Absolute path inside the container; created in the rootfs when missing. */
  containerPath: string;
  /** Absolute path on the node: a directory or a file. */
  hostPath: string;
  /**
   * A relative path inside hostPath (a directory) to mount instead of
   * hostPath itself (Kubernetes' volumeMounts[].subPath). It is resolved by
   * the kernel beneath hostPath: a ".." or a symlink that leaves it is
   * refused (CRI leaves this to the kubelet; here the runtime does it at
   * mount time, where it cannot race). Created as a directory when missing.
   */
  subPath?: string;
  readOnly?: boolean;
  /**
   * With readOnly: the submounts under hostPath read-only too (Kubernetes'
   * recursiveReadOnly; CRI Mount recursive_read_only). Enabled fails the
   * container on a kernel without mount_setattr(2) (before 5.12);
   * IfPossible falls back to a plain read-only mount there.
   */
  recursiveReadOnly?: 'Enabled' | 'IfPossible';
  /**
   * In a sandbox with a user namespace: an idmapped mount (CRI Mount
   * uidMappings/gidMappings), so the node's IDs appear as the pod's (host
   * root as the pod's root) and what the pod writes keeps the node's IDs.
   * The filesystem must support idmapped mounts.
   */
  idmapped?: boolean;
}

/**
 * Seccomp for a container: Docker's default profile, none, or a profile file
 * in the OCI/Docker JSON format.
 */
export type SeccompChoice =
  | { type: 'RuntimeDefault' }
  | { type: 'Unconfined' }
  /** `profile` relative to <data-dir>/seccomp/ (Kubernetes' localhostProfile), or an absolute path. */
  | { type: 'Localhost'; profile: string };

/** What a container may do (Kubernetes' securityContext as CRI's LinuxContainerSecurityContext carries it). */
export interface ContainerSecurity {
  /** Every capability and device, no masked paths, no seccomp filter. */
  privileged?: boolean;
  /** Capability names (NET_ADMIN, CAP_NET_ADMIN or ALL) over Docker's default set. */
  capAdd?: string[];
  capDrop?: string[];
  readOnlyRootfs?: boolean;
  /** no_new_privs; defaults to true, except for privileged containers and those with CAP_SYS_ADMIN. */
  noNewPrivileges?: boolean;
  /** Defaults to RuntimeDefault (Docker's profile, tsk's choice), Unconfined when privileged. */
  seccomp?: SeccompChoice;
  /** Groups added to the user's own (Kubernetes supplementalGroups and fsGroup). */
  supplementalGroups?: number[];
  /**
   * Kubernetes' supplementalGroupsPolicy: Merge (the default) adds the
   * groups the image's /etc/group gives the user; Strict gives only the
   * primary group and supplementalGroups.
   */
  supplementalGroupsPolicy?: 'Merge' | 'Strict';
  /** The container's oom_score_adj (the kubelet's by QoS class); 0 when unset. */
  oomScoreAdj?: number;
  /** /proc without the masked and read-only paths (Kubernetes procMount: Unmasked); only in a sandbox with a user namespace. */
  unmaskedProc?: boolean;
  /**
   * How the container's /sys/fs/cgroup is mounted (Kubernetes'
   * securityContext.cgroupOptions.mountMode, KEP-5474), cgroup v2 only:
   * ReadOnly (the default) or ReadWrite, where the container may make child
   * cgroups and move its processes between them. Its limits stay on a
   * cgroup above the one it sees as its root. ReadWrite on a cgroup v1 node
   * is refused.
   */
  cgroupMountMode?: 'ReadOnly' | 'ReadWrite';
}

export interface ContainerConfig {
  name: string;
  /** An image reference or ID known to the image store. */
  image: string;
  /** Replaces the image's Entrypoint (Kubernetes `command`). */
  command?: string[];
  /** Replaces the image's Cmd (Kubernetes `args`). */
  args?: string[];
  /** KEY=VALUE, applied over the image's Env. */
  env?: string[];
  workingDir?: string;
  /** "uid", "uid:gid", "name" or "name:group"; defaults to the image's User. */
  user?: string;
  resources?: ContainerResources;
  security?: ContainerSecurity;
  /** Bind mounts, applied in order after the rootfs and the sandbox's /etc files. */
  mounts?: Mount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Where the CRI log goes; defaults to the container's state dir. */
  logPath?: string;
  logMaxBytes?: number;
  logMaxFiles?: number;
  /**
   * Kubernetes' stdin: the main process's stdin is a pipe the runtime holds
   * open (it reads no EOF while nobody is attached), fed by attach.
   * Without it, stdin is /dev/null.
   */
  stdin?: boolean;
  /** With stdin: closed for good when the first client attached with stdin leaves (Kubernetes' stdinOnce). */
  stdinOnce?: boolean;
  /** Kubernetes' tty: the main process runs on a terminal; its output is one stream (stdout). */
  tty?: boolean;
}

export interface ContainerStatus {
  id: string;
  name: string;
  sandboxId: string;
  /** The reference it was created from, and the image ID. */
  image: string;
  imageId: string;
  /** The command line that runs (entrypoint + cmd after overrides). */
  command: string[];
  state: ContainerState;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  /** The signal that killed it, if one did. */
  signal?: number;
  reason?: ExitReason;
  message?: string;
  /** Host PID of the container's init while it runs. */
  pid?: number;
  logPath: string;
  resources: ContainerResources;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerStats {
  id: string;
  timestamp: Date;
  cpuUsageNanoseconds: number;
  memoryUsageBytes: number;
  /** Usage minus inactive file cache, as the kubelet reports it. */
  memoryWorkingSetBytes: number;
  pids: number;
}

export interface ExecOptions {
  cmd: string[];
  tty?: boolean;
  /** Give the process our stdin (otherwise /dev/null). */
  stdin?: boolean;
  /** Extra KEY=VALUE over the container's environment. */
  env?: string[];
  /** 'inherit' streams through this process's stdio; 'pipe' captures output. */
  stdio?: 'inherit' | 'pipe';
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A command running in a container with its stdio as streams (exec through the API). */
export interface ExecProcess {
  /** The command's stdin; null unless opts.stdin. */
  readonly stdin: NodeJS.WritableStream | null;
  /** With tty, the terminal's output (stderr is merged into it, as in docker exec -t). */
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** The command's exit code (128+signal when killed), after its output has ended. */
  readonly exit: Promise<number>;
  /** Ends the session: the helper is killed and the command loses its stdio. */
  kill(): void;
  /** With tty: sets the terminal's size (CRI's resize channel); absent without a terminal. */
  readonly resize?: (width: number, height: number) => void;
}

/** CRI Attach: what the client takes part in. */
export interface AttachOptions {
  /** Feed the main process's stdin (ignored when the container was made without stdin). */
  stdin: boolean;
}

/**
 * A client attached to a container's main process (CRI Attach): its output
 * from the moment of the attach, and its stdin when the container has one.
 */
export interface AttachStreams {
  /** Into the container's stdin; end() is this client's stdin ending (stdinOnce: the container's). Null without stdin. */
  readonly stdin: NodeJS.WritableStream | null;
  /** The process's output (with tty, all of it); both end when it exits or the client detaches. */
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** Detaches; the container goes on. Idempotent. */
  kill(): void;
  /** With tty: sets the terminal's size. */
  readonly resize?: (width: number, height: number) => void;
}

/**
 * One TCP connection to a port on a sandbox's loopback, made inside its
 * network namespace (CRI PortForward's stream).
 */
export interface PortForwardConnection {
  /** Bytes for the pod's port; end() half-closes the connection. */
  readonly input: NodeJS.WritableStream;
  /** Bytes from the pod's port; ends when the pod closes its side. */
  readonly output: NodeJS.ReadableStream;
  /** Resolves when the connection is over (after output ended): undefined, or why it failed, in one line. */
  readonly done: Promise<string | undefined>;
  /** Ends the connection at once. Idempotent. */
  close(): void;
}

export interface LogOptions {
  follow?: boolean;
  /** Only the last N lines (of the current and rotated files). */
  tail?: number;
  signal?: AbortSignal;
}

export interface LogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  /** True for a P line: the text continues in the next entry. */
  partial: boolean;
  text: string;
}

/** What a network hook reports after wiring a sandbox: its addresses (as CNI's result). */
export interface NetworkStatus {
  /** The pod's IPs, primary first (Kubernetes status.podIP / podIPs). */
  ips: string[];
}

/**
 * Wires a sandbox's network namespace to a network (the kubelet's CNI-like
 * networking fills this in). setUp runs after the namespace exists, tearDown
 * before it goes; both must be idempotent (setUp called again for the same
 * sandbox returns the same addresses).
 */
export interface NetworkHook {
  setUp(sandboxId: string, netnsPath: string, config: SandboxConfig): Promise<NetworkStatus>;
  tearDown(sandboxId: string, netnsPath: string): Promise<void>;
  /**
   * Of these sandboxes, set up before, those whose network is gone (their
   * veth deleted, their address no longer held): a kubelet starting up
   * recreates them. Optional: a network without per-sandbox state has none.
   */
  lost?(sandboxIds: readonly string[]): Promise<string[]>;
}

/** A sandbox with loopback only: never connected to the host namespace. */
export const loopbackOnly: NetworkHook = {
  setUp: async () => ({ ips: [] }),
  tearDown: async () => {},
};

export interface ContainerRuntime {
  createSandbox(config: SandboxConfig): Promise<string>;
  /** Stops every container of the sandbox and tears its network down. Idempotent. */
  stopSandbox(id: string): Promise<void>;
  /** Removes the sandbox and its containers, forcibly. Idempotent. */
  removeSandbox(id: string): Promise<void>;
  sandboxStatus(id: string): Promise<SandboxStatus>;
  /** Every sandbox; with podUid, a runtime may leave out (and not read) the sandboxes of other pods. */
  listSandboxes(filter?: { podUid?: string }): Promise<SandboxStatus[]>;

  /** Prepares the container (namespaces, rootfs, cgroup) with its process waiting to be started. */
  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** The stop signal (lifecycle.stopSignal; SIGTERM when not given), then SIGKILL to the whole cgroup after timeoutSeconds. Idempotent. */
  stopContainer(id: string, timeoutSeconds: number, stopSignal?: string): Promise<void>;
  /** Kills if needed, then deletes cgroup, rootfs and state. Idempotent. */
  removeContainer(id: string): Promise<void>;
  /** With podUid, a runtime may leave out (and not read the state of) the containers of other pods. */
  listContainers(filter?: { sandboxId?: string; state?: ContainerState; podUid?: string }): Promise<ContainerStatus[]>;
  containerStatus(id: string): Promise<ContainerStatus>;
  /**
   * Rewrites the cgroup limits of a container in place, without restarting
   * it (CRI UpdateContainerResources, for an in-place resize); its status
   * reports them from then on. Idempotent.
   */
  updateContainerResources(id: string, resources: ContainerResources): Promise<void>;
  /** Rewrites the pod cgroup's limits (CRI UpdatePodSandboxResources); sandboxStatus reports them. Idempotent. */
  updateSandboxResources(id: string, resources: ContainerResources): Promise<void>;
  /** Resolves when the container has exited (its exit is recorded). */
  waitContainer(id: string, signal?: AbortSignal): Promise<ContainerStatus>;

  exec(id: string, opts: ExecOptions): Promise<ExecResult>;
  /** exec with streaming stdio; throws InvalidStateError when the container is not running. */
  execStream(id: string, opts: ExecOptions): ExecProcess;
  /**
   * Attaches to a created or running container made with stdin or tty
   * (attached before its start, a client misses none of its output);
   * undefined for one made with neither (its output is its log: follow
   * that). Throws InvalidStateError when it has exited.
   */
  attach(id: string, opts: AttachOptions): Promise<AttachStreams | undefined>;
  logs(id: string, opts?: LogOptions): AsyncIterable<LogEntry>;
  /**
   * Connects to 127.0.0.1:port (else [::1]:port) inside the sandbox's
   * network namespace. A refused connection is reported by `done`, not thrown.
   */
  portForward(sandboxId: string, port: number): PortForwardConnection;
  containerStats(id: string): Promise<ContainerStats>;
}
