// A container's state directory, <dataDir>/containers/<id>/:
//   config.json   what the runtime decided at create (written before the shim runs)
//   spec          what the shim reads (container/spec.ts)
//   seccomp       the seccomp filter as tsk-shim and tsk-exec load it (container/seccomp.ts)
// config.json and spec hold the environment (secrets, often): they are 0600
// in a 0700 directory.
//   upper/ work/ rootfs/   overlayfs upper, work and mount point
//   shim.pid pid  the supervisor's and the container init's host PIDs
//   exec.fifo     present from create until start (or exit)
//   started exit  written by the shim, atomically (exit: code, signal, times, OOM)
//   log           CRI-format log, unless the config names another path
//   attach.sock   the shim's attach socket (container/attach-socket.ts), with stdin or tty
// Everything about a container can be rebuilt from here after a restart.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTextIfReadable } from '../../../util/files';
import { processAlive } from '../../../util/process';
import type { ContainerResources, ContainerState, ContainerStatus, ExitReason } from '../runtime';

export interface ContainerRecord {
  id: string;
  name: string;
  sandboxId: string;
  podUid: string;
  image: string;
  imageId: string;
  layerDirs: string[];
  command: string[];
  env: string[];
  workingDir: string;
  uid: number;
  gid: number;
  extraGids: number[];
  capMask: string;
  /** no_new_privs for the init and every exec (absent in older records, whose shim always set it). */
  noNewPrivs?: boolean;
  /** Whether a seccomp file (FILES.seccomp) applies to the init and every exec. */
  seccomp?: boolean;
  createdAt: string;
  logPath: string;
  /** Relative cgroup path (same in every hierarchy). */
  cgroup: string;
  /** The cgroup directories the init joined, which exec joins too (absent in records older than the devices controller). */
  cgroupDirs?: string[];
  resources: ContainerResources;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Made with stdin or tty: its shim listens on FILES.attachSocket. */
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

export const FILES = {
  config: 'config.json',
  spec: 'spec',
  seccomp: 'seccomp',
  shimPid: 'shim.pid',
  pid: 'pid',
  fifo: 'exec.fifo',
  started: 'started',
  exit: 'exit',
  attachSocket: 'attach.sock',
} as const;

export function readRecord(dir: string): ContainerRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, FILES.config), 'utf8')) as ContainerRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(dir: string, rec: ContainerRecord): void {
  const tmp = path.join(dir, `.${FILES.config}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(rec, null, 1), { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, FILES.config));
}

/** Parses the shim's "key value" lines. */
export function parseKeyValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
    else if (line !== '') m.set(line, '');
  }
  return m;
}

export function readPid(dir: string, file: string = FILES.pid): number | undefined {
  const text = readTextIfReadable(path.join(dir, file));
  const pid = text === undefined ? NaN : Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number | undefined): boolean {
  return pid !== undefined && processAlive(pid);
}

export interface ExitInfo {
  exitCode: number;
  signal: number;
  startedAt?: Date;
  finishedAt: Date;
  oomKilled: boolean;
  message: string;
}

export function readExit(dir: string): ExitInfo | undefined {
  const text = readTextIfReadable(path.join(dir, FILES.exit));
  if (text === undefined) return undefined;
  const kv = parseKeyValues(text);
  const started = kv.get('started_at') ?? '';
  return {
    exitCode: Number(kv.get('exit_code') ?? 255),
    signal: Number(kv.get('signal') ?? 0),
    ...(started !== '' ? { startedAt: new Date(started) } : {}),
    finishedAt: new Date(kv.get('finished_at') ?? 0),
    oomKilled: kv.get('oom_killed') === '1',
    message: (kv.get('message') ?? '').trim(),
  };
}

export function exitReason(e: ExitInfo): ExitReason {
  if (e.oomKilled) return 'OOMKilled';
  if (e.startedAt === undefined && e.message !== '') return 'StartError';
  return e.exitCode === 0 ? 'Completed' : 'Error';
}

function readStarted(dir: string): Date | undefined {
  const text = readTextIfReadable(path.join(dir, FILES.started));
  const v = text === undefined ? undefined : parseKeyValues(text).get('started_at');
  return v ? new Date(v) : undefined;
}

/** The container's observed state, from its files and whether its processes live. */
export function readStatus(dir: string, rec: ContainerRecord): ContainerStatus {
  const base = {
    id: rec.id,
    name: rec.name,
    sandboxId: rec.sandboxId,
    image: rec.image,
    imageId: rec.imageId,
    command: rec.command,
    createdAt: new Date(rec.createdAt),
    logPath: rec.logPath,
    resources: rec.resources,
    labels: rec.labels,
    annotations: rec.annotations,
  };
  const exit = readExit(dir);
  if (exit) {
    return {
      ...base,
      state: 'exited',
      exitCode: exit.exitCode,
      ...(exit.signal ? { signal: exit.signal } : {}),
      ...(exit.startedAt ? { startedAt: exit.startedAt } : {}),
      finishedAt: exit.finishedAt,
      reason: exitReason(exit),
      ...(exit.message ? { message: exit.message } : {}),
    };
  }
  const pid = readPid(dir);
  const started = readStarted(dir);
  if (pid === undefined) return { ...base, state: 'unknown' };
  const alive = isAlive(pid);
  const state: ContainerState = fs.existsSync(path.join(dir, FILES.fifo)) ? 'created' : 'running';
  if (!alive && !isAlive(readPid(dir, FILES.shimPid))) {
    // Container and shim both gone without an exit record (the shim was killed): the code is lost.
    return {
      ...base,
      state: 'exited',
      exitCode: 255,
      ...(started ? { startedAt: started } : {}),
      reason: 'Unknown',
      message: 'the container supervisor (tsk-shim) died; exit code unknown',
    };
  }
  // Not alive but the shim is: it is writing the exit record; still running until it lands.
  return { ...base, state, pid, ...(started ? { startedAt: started } : {}) };
}
