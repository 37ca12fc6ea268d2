// `tsk runtime run|ps|logs|exec|stop|rm`: docker-shaped commands over the
// NativeRuntime. Each `run` gets its own pod sandbox (its own network
// namespace with only loopback), removed with the container by `rm`.

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import { parseQuantity } from '../../../api/quantity';
import { ImageStore } from '../image/store';
import { NotFoundError, RuntimeError } from '../errors';
import { NativeRuntime } from '../native-runtime';
import type { AttachStreams, ContainerResources, ContainerSecurity, ContainerStatus, LogEntry, Mount } from '../runtime';
import { type ParsedArgs, UsageError, parseArgs } from './args';
import { formatTable, humanAge } from './image-commands';
import { errorMessage } from '../../../util/errors';

export { UsageError };

export type ContainerVerb = 'run' | 'ps' | 'logs' | 'exec' | 'stop' | 'rm';
export const CONTAINER_VERBS: ContainerVerb[] = ['run', 'ps', 'logs', 'exec', 'stop', 'rm'];

/** Label on sandboxes the CLI made for one container: `rm` removes them with it. */
const CLI_SANDBOX_LABEL = 'io.tsk.runtime.cli-sandbox';

export const USAGE: Record<ContainerVerb, string> = {
  run: 'Usage: tsk runtime run [-d] [-i] [-t] [--name NAME] [-e KEY=VALUE]... [-v /HOST:/CONTAINER[:ro]]... [--memory 64Mi] [--cpus 200m] [--pids 64] [-w DIR] [-u USER] [--group-add GID]... [--read-only] [--cap-add CAP]... [--cap-drop CAP]... [--privileged] [--security-opt seccomp=unconfined|PROFILE.json] [--security-opt no-new-privileges[=false]] [--entrypoint CMD] IMAGE [COMMAND [ARG...]]',
  ps: 'Usage: tsk runtime ps [-a] [-q]',
  logs: 'Usage: tsk runtime logs [-f] [--tail N] [-t|--timestamps] CONTAINER',
  exec: 'Usage: tsk runtime exec [-i] [-t] [-e KEY=VALUE]... CONTAINER COMMAND [ARG...]',
  stop: 'Usage: tsk runtime stop [-t SECONDS] CONTAINER...',
  rm: 'Usage: tsk runtime rm [-f] CONTAINER...',
};

/** The flags of run and exec that take a value: main.ts needs them to see where the container's command line starts. */
export const RUN_VALUED_FLAGS: readonly string[] = [
  '--name',
  '-e',
  '--env',
  '-v',
  '--volume',
  '--memory',
  '-m',
  '--cpus',
  '--pids',
  '--pids-limit',
  '-w',
  '--workdir',
  '-u',
  '--user',
  '--entrypoint',
  '--cap-add',
  '--cap-drop',
  '--security-opt',
  '--group-add',
];
export const EXEC_VALUED_FLAGS: readonly string[] = ['-e', '--env'];

/**
 * Docker-style flags: `--name x`, `--name=x`, `-e x`, combined booleans
 * (`-it`). With stopAtFirstArg, everything from the first positional on is
 * positional (the image and its command line).
 */
export function parseFlags(argv: string[], valued: string[], booleans: string[], stopAtFirstArg: boolean): ParsedArgs {
  return parseArgs(argv, { valued, booleans, stopAtFirstArg, docker: true });
}

const one = (p: ParsedArgs, ...names: string[]): string | undefined => {
  for (const n of names) {
    const v = p.flags.get(n);
    if (v) return v[v.length - 1];
  }
  return undefined;
};
const has = (p: ParsedArgs, ...names: string[]): boolean => names.some((n) => p.flags.has(n));

/** The security flags of `run` (docker's names) as the runtime's ContainerSecurity. */
export function parseSecurityFlags(p: ParsedArgs, cwd: string): ContainerSecurity {
  const sec: ContainerSecurity = {};
  const list = (n: string): string[] => p.flags.get(n) ?? [];
  if (list('--cap-add').length > 0) sec.capAdd = list('--cap-add');
  if (list('--cap-drop').length > 0) sec.capDrop = list('--cap-drop');
  if (has(p, '--privileged')) sec.privileged = true;
  if (has(p, '--read-only')) sec.readOnlyRootfs = true;
  const groups = list('--group-add').map((g) => {
    if (!/^\d+$/.test(g)) throw new UsageError(`invalid --group-add "${g}": a numeric group ID is expected`);
    return Number(g);
  });
  if (groups.length > 0) sec.supplementalGroups = groups;
  for (const opt of list('--security-opt')) {
    // Docker accepts both KEY=VALUE and the older KEY:VALUE.
    const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(opt);
    const [key, value] = [m?.[1], m?.[2]];
    if (key === 'seccomp' && value !== undefined && value !== '') {
      sec.seccomp = value === 'unconfined' ? { type: 'Unconfined' } : { type: 'Localhost', profile: path.resolve(cwd, value) };
    } else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) {
      sec.noNewPrivileges = value !== 'false';
    } else {
      throw new UsageError(`invalid --security-opt "${opt}": expected seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]`);
    }
  }
  return sec;
}

export function parseMemory(v: string): number {
  let bytes: number;
  try {
    bytes = parseQuantity(v).value();
  } catch (e) {
    throw new UsageError(`invalid --memory "${v}": ${errorMessage(e)} (use Kubernetes quantities, e.g. 64Mi)`);
  }
  if (!(bytes >= 1024 * 1024)) throw new UsageError(`invalid --memory "${v}": must be at least 1Mi`);
  return bytes;
}

export function parseCpus(v: string): number {
  let milli: number;
  try {
    milli = parseQuantity(v).milliValue();
  } catch (e) {
    throw new UsageError(`invalid --cpus "${v}": ${errorMessage(e)} (e.g. 200m or 1.5)`);
  }
  if (!(milli >= 10)) throw new UsageError(`invalid --cpus "${v}": must be at least 10m`);
  return milli;
}

export function parsePositiveInt(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new UsageError(`invalid ${flag} "${v}": must be a positive integer`);
  return Number(v);
}

/** docker's `-v /host:/container[:ro|rw]` bind mount (named volumes are not supported). */
export function parseVolume(v: string): Mount {
  const [hostPath = '', containerPath = '', mode, ...rest] = v.split(':');
  const usage = `invalid -v "${v}": expected /HOST:/CONTAINER[:ro|rw]`;
  if (rest.length > 0 || hostPath === '' || containerPath === '') throw new UsageError(usage);
  if (!hostPath.startsWith('/')) throw new UsageError(`${usage} (the host path must be absolute; named volumes are not supported)`);
  if (!containerPath.startsWith('/')) throw new UsageError(`${usage} (the container path must be absolute)`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw new UsageError(`${usage} (unknown mode "${mode}")`);
  return { hostPath, containerPath, ...(mode === 'ro' ? { readOnly: true } : {}) };
}

const ADJECTIVES = [
  'brave',
  'calm',
  'eager',
  'fancy',
  'gentle',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'merry',
  'nifty',
  'proud',
  'quiet',
  'sharp',
  'vivid',
  'witty',
];
const NOUNS = [
  'babbage',
  'curie',
  'dijkstra',
  'euler',
  'gauss',
  'hopper',
  'knuth',
  'lamport',
  'liskov',
  'lovelace',
  'noether',
  'ritchie',
  'shannon',
  'thompson',
  'turing',
  'wirth',
];

function randomName(taken: Set<string>): string {
  for (;;) {
    const n = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    if (!taken.has(n)) return n;
  }
}

/** By name, full ID or unique ID prefix, as docker resolves container arguments. */
export function findContainer(all: ContainerStatus[], key: string): ContainerStatus {
  const byName = all.find((c) => c.name === key);
  if (byName) return byName;
  const matches = all.filter((c) => c.id.startsWith(key));
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 1) throw new RuntimeError(`multiple containers match "${key}": use more of the ID`);
  throw new NotFoundError('container', key);
}

function quoteCommand(cmd: string[]): string {
  const s = cmd.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(' ');
  return `"${s.length > 20 ? `${s.slice(0, 19)}…` : s}"`;
}

function ago(d: Date | undefined, now: number): string {
  return d ? humanAge(d.toISOString(), now).replace(/^Less than a second ago$/, 'Less than a second ago') : '';
}

/** docker's "Up 3 seconds" without the trailing " ago". */
function upFor(d: Date | undefined, now: number): string {
  return ago(d, now)
    .replace(/ ago$/, '')
    .replace(/^Less than a second$/, 'Less than a second');
}

/** The STATUS column: "Created", "Up 5 seconds", "Exited (137) 3 seconds ago (OOMKilled)". */
export function statusText(c: ContainerStatus, now: number): string {
  switch (c.state) {
    case 'created':
      return 'Created';
    case 'running':
      return `Up ${upFor(c.startedAt ?? c.createdAt, now)}`;
    case 'exited': {
      const reason = c.reason === 'OOMKilled' || c.reason === 'StartError' || c.reason === 'Unknown' ? ` (${c.reason})` : '';
      return `Exited (${c.exitCode ?? '?'}) ${ago(c.finishedAt ?? c.createdAt, now)}${reason}`;
    }
    default:
      return 'Unknown';
  }
}

export function psRows(list: ContainerStatus[], now: number): string[][] {
  return [...list]
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map((c) => [c.id.slice(0, 12), c.name, c.image, quoteCommand(c.command), ago(c.createdAt, now), statusText(c, now)]);
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

function formatEntry(e: LogEntry, timestamps: boolean): string {
  return `${timestamps ? `${e.time} ` : ''}${e.text}${e.partial ? '' : '\n'}`;
}

export class ContainerCommands {
  private runtimeCache: NativeRuntime | undefined;

  constructor(
    readonly dataDir: string,
    private readonly io: Io = stdio,
  ) {}

  private storeCache: ImageStore | undefined;

  private get store(): ImageStore {
    this.storeCache ??= new ImageStore(this.dataDir);
    return this.storeCache;
  }

  private get runtime(): NativeRuntime {
    this.runtimeCache ??= new NativeRuntime({ dataDir: this.dataDir, images: this.store });
    return this.runtimeCache;
  }

  private async resolve(key: string): Promise<ContainerStatus> {
    return findContainer(await this.runtime.listContainers(), key);
  }

  async run(verb: ContainerVerb, argv: string[]): Promise<number> {
    switch (verb) {
      case 'run':
        return this.runCmd(argv);
      case 'ps':
        return this.ps(argv);
      case 'logs':
        return this.logs(argv);
      case 'exec':
        return this.exec(argv);
      case 'stop':
        return this.stop(argv);
      case 'rm':
        return this.rm(argv);
    }
  }

  private async runCmd(argv: string[]): Promise<number> {
    const p = parseFlags(argv, [...RUN_VALUED_FLAGS], ['-d', '--detach', '--read-only', '--privileged', '-i', '--interactive', '-t', '--tty'], true);
    const [image, ...cmd] = p.args;
    const detach = has(p, '-d', '--detach');
    const interactive = has(p, '-i', '--interactive');
    const tty = has(p, '-t', '--tty');
    if (image === undefined) throw new UsageError('missing IMAGE');
    const resources: ContainerResources = {};
    const mem = one(p, '--memory', '-m');
    if (mem !== undefined) resources.memoryLimitBytes = parseMemory(mem);
    const cpus = one(p, '--cpus');
    if (cpus !== undefined) resources.cpuLimitMilli = parseCpus(cpus);
    const pids = one(p, '--pids', '--pids-limit');
    if (pids !== undefined) resources.pidsLimit = parsePositiveInt('--pids', pids);
    const env = [...(p.flags.get('-e') ?? []), ...(p.flags.get('--env') ?? [])];
    for (const e of env) if (!/^[^=]+=/.test(e)) throw new UsageError(`invalid -e "${e}": expected KEY=VALUE`);
    const mounts = [...(p.flags.get('-v') ?? []), ...(p.flags.get('--volume') ?? [])].map(parseVolume);
    const security = parseSecurityFlags(p, process.cwd());

    const all = await this.runtime.listContainers();
    const taken = new Set(all.map((c) => c.name));
    const name = one(p, '--name') ?? randomName(taken);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new UsageError(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (taken.has(name)) throw new RuntimeError(`the container name "${name}" is already in use: remove it or choose another name`);
    const rt = this.runtime;
    const entrypoint = one(p, '--entrypoint');
    const sandboxId = await rt.createSandbox({
      name,
      namespace: 'tsk-runtime',
      uid: `cli-${name}`,
      hostname:
        name
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-')
          .slice(0, 63)
          .replace(/^-+|-+$/g, '') || 'container',
      labels: { [CLI_SANDBOX_LABEL]: 'true' },
    });
    let id: string;
    try {
      const workingDir = one(p, '-w', '--workdir');
      const user = one(p, '-u', '--user');
      id = await rt.createContainer(sandboxId, {
        name,
        image,
        ...(entrypoint !== undefined ? { command: [entrypoint] } : {}),
        ...(cmd.length > 0 ? { args: cmd } : {}),
        env,
        mounts,
        ...(workingDir !== undefined ? { workingDir } : {}),
        ...(user !== undefined ? { user } : {}),
        resources,
        security,
        // As docker run: -i keeps stdin open; attached, the end of ours is the container's (StdinOnce).
        ...(interactive ? { stdin: true, ...(detach ? {} : { stdinOnce: true }) } : {}),
        ...(tty ? { tty: true } : {}),
      });
    } catch (e) {
      await rt.removeSandbox(sandboxId).catch(() => undefined);
      throw e;
    }
    // Attached before the start, as docker: not a byte of its output is missed.
    const streams = !detach && (interactive || tty) ? await rt.attach(id, { stdin: interactive }) : undefined;
    // The terminal's size before the start, so the command's first question already has it (relay follows later changes).
    if (tty && process.stdout.isTTY) streams?.resize?.(process.stdout.columns, process.stdout.rows);
    await rt.startContainer(id);
    if (detach) {
      this.io.out(`${id}\n`);
      return 0;
    }
    return this.attach(id, streams ? () => this.relay(streams, tty) : undefined);
  }

  /**
   * Foreground run with -i or -t: our stdin into the container's (its end
   * closes the container's), its output to ours, until it ends; with -t and
   * a terminal, ours in raw mode (^C is a byte for the container's terminal)
   * and its size following ours.
   */
  private async relay(a: AttachStreams, tty: boolean): Promise<void> {
    const stdin = process.stdin;
    const raw = tty && stdin.isTTY;
    const resize = (): void => a.resize?.(process.stdout.columns, process.stdout.rows);
    if (raw) stdin.setRawMode(true);
    if (tty && process.stdout.isTTY) {
      resize();
      process.stdout.on('resize', resize);
    }
    if (a.stdin) stdin.pipe(a.stdin);
    a.stdout.pipe(process.stdout, { end: false });
    a.stderr.pipe(process.stderr, { end: false });
    try {
      await Promise.all([a.stdout, a.stderr].map((s) => new Promise((resolve) => s.on('end', resolve))));
    } finally {
      if (a.stdin) stdin.unpipe(a.stdin);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      process.stdout.off('resize', resize);
    }
  }

  /**
   * Foreground run: its output (`relay`, else its log) until the container
   * exits; SIGINT/SIGTERM forwarded to it (as docker's sig-proxy). Returns
   * its exit code.
   */
  private async attach(id: string, relay?: () => Promise<void>): Promise<number> {
    const rt = this.runtime;
    const forward = (sig: NodeJS.Signals): void => {
      void rt
        .containerStatus(id)
        .then((s) => {
          if (s.pid !== undefined) process.kill(s.pid, sig === 'SIGINT' ? 'SIGKILL' : sig);
        })
        .catch(() => undefined);
    };
    const onInt = (): void => forward('SIGINT');
    const onTerm = (): void => forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      if (relay) await relay();
      else {
        for await (const e of rt.logs(id, { follow: true, tail: -1 })) {
          (e.stream === 'stdout' ? process.stdout : process.stderr).write(formatEntry(e, false));
        }
      }
      const st = await rt.waitContainer(id);
      if (st.reason === 'StartError' && st.message) this.io.err(`tsk runtime run: ${st.message}\n`);
      return st.exitCode ?? 255;
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  }

  private async ps(argv: string[]): Promise<number> {
    const p = parseFlags(argv, [], ['-a', '--all', '-q', '--quiet'], false);
    if (p.args.length > 0) throw new UsageError('ps takes no arguments');
    let list = await this.runtime.listContainers();
    if (!has(p, '-a', '--all')) list = list.filter((c) => c.state === 'running');
    const now = Date.now();
    if (has(p, '-q', '--quiet')) {
      for (const r of psRows(list, now)) this.io.out(`${r[0]}\n`);
      return 0;
    }
    this.io.out(formatTable(['CONTAINER ID', 'NAME', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS'], psRows(list, now)));
    return 0;
  }

  private async logs(argv: string[]): Promise<number> {
    const p = parseFlags(argv, ['--tail', '-n'], ['-f', '--follow', '-t', '--timestamps'], false);
    if (p.args.length !== 1 || p.args[0] === undefined) throw new UsageError('logs takes exactly one container');
    const c = await this.resolve(p.args[0]);
    const tailStr = one(p, '--tail', '-n');
    const tail = tailStr === undefined || tailStr === 'all' ? undefined : parsePositiveIntOrZero(tailStr);
    const ts = has(p, '-t', '--timestamps');
    const ac = new AbortController();
    const onInt = (): void => ac.abort();
    process.once('SIGINT', onInt);
    try {
      for await (const e of this.runtime.logs(c.id, { follow: has(p, '-f', '--follow'), ...(tail !== undefined ? { tail } : {}), signal: ac.signal })) {
        (e.stream === 'stdout' ? process.stdout : process.stderr).write(formatEntry(e, ts));
      }
    } finally {
      process.off('SIGINT', onInt);
    }
    return 0;
  }

  private async exec(argv: string[]): Promise<number> {
    const p = parseFlags(argv, [...EXEC_VALUED_FLAGS], ['-i', '--interactive', '-t', '--tty'], true);
    const [key, ...cmd] = p.args;
    if (key === undefined || cmd.length === 0) throw new UsageError('exec needs a container and a command');
    const c = await this.resolve(key);
    const { file, args } = this.runtime.execArgs(c.id, {
      cmd,
      tty: has(p, '-t', '--tty'),
      stdin: has(p, '-i', '--interactive'),
      env: [...(p.flags.get('-e') ?? []), ...(p.flags.get('--env') ?? [])],
    });
    if (has(p, '-t', '--tty') && !process.stdin.isTTY) this.io.err('tsk runtime exec: warning: -t given but stdin is not a terminal\n');
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: 'inherit' });
      // The terminal's ^C goes to the pty inside; ignore it here so we wait for the exit code.
      const ignore = (): void => undefined;
      process.on('SIGINT', ignore);
      child.on('error', (err) => reject(new RuntimeError(`exec: ${err.message}`)));
      child.on('close', (code, sig) => {
        process.off('SIGINT', ignore);
        resolve(code ?? (sig ? 128 + 9 : 1));
      });
    });
  }

  private async stop(argv: string[]): Promise<number> {
    const p = parseFlags(argv, ['-t', '--time', '--timeout'], [], false);
    if (p.args.length === 0) throw new UsageError('stop needs at least one container');
    const t = one(p, '-t', '--time', '--timeout');
    const timeout = t === undefined ? 10 : parsePositiveIntOrZero(t);
    return this.each(p.args, async (c) => {
      await this.runtime.stopContainer(c.id, timeout);
    });
  }

  private async rm(argv: string[]): Promise<number> {
    const p = parseFlags(argv, [], ['-f', '--force'], false);
    if (p.args.length === 0) throw new UsageError('rm needs at least one container');
    const force = has(p, '-f', '--force');
    return this.each(p.args, async (c) => {
      if (!force && (c.state === 'running' || c.state === 'created')) {
        throw new RuntimeError(`cannot remove container ${c.name}: container is ${c.state}: stop the container before removing it, or force remove with -f`);
      }
      await this.runtime.removeContainer(c.id);
      const sb = await this.runtime.sandboxStatus(c.sandboxId).catch(() => undefined);
      if (sb?.labels[CLI_SANDBOX_LABEL] === 'true') await this.runtime.removeSandbox(c.sandboxId);
      await this.releaseImage(c.imageId);
    });
  }

  /**
   * The layers of an image that `rmi -f` removed stay while a container uses
   * them; when the last such container goes, so do they (the same prune as
   * rmi's, keeping what other containers use).
   */
  private async releaseImage(imageId: string): Promise<void> {
    const image = await this.store.get(imageId).catch(() => null);
    if (image !== undefined) return; // still an image (or a damaged one: leave it to rmi)
    await this.store.prune({ keepLayerDirs: await this.runtime.usedLayerDirs() });
  }

  /** Applies fn to each named container, printing the name given (as docker) or an error; 1 if any failed. */
  private async each(keys: string[], fn: (c: ContainerStatus) => Promise<void>): Promise<number> {
    let failed = 0;
    for (const key of keys) {
      try {
        await fn(await this.resolve(key));
        this.io.out(`${key}\n`);
      } catch (e) {
        failed++;
        this.io.err(`Error: ${errorMessage(e)}\n`);
      }
    }
    return failed > 0 ? 1 : 0;
  }
}

function parsePositiveIntOrZero(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`invalid number "${v}"`);
  return Number(v);
}
