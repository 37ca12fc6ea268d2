// Seccomp profiles: the OCI/Docker JSON format (Docker's default profile is
// kept in it, seccomp-default.ts; Localhost profiles are read in it) turned
// into the line format tsk-shim and tsk-exec apply with libseccomp
// (native/tsk-privs.h). What depends on the container is decided here, as
// moby does: entries whose includes/excludes name capabilities the container
// has or lacks, the machine's architecture and its kernel version. Pure.

import * as os from 'node:os';
import { errorMessage } from '../../../util/errors';

export type SeccompAction =
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_TRACE';

export type SeccompOp = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOp;
}

export interface SeccompFilter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}

export interface SeccompSyscall {
  names?: string[];
  /** The old single-name form. */
  name?: string;
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
  comment?: string;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  /** OCI's form: the architectures to add, native included. */
  architectures?: string[];
  syscalls: SeccompSyscall[];
}

/** What the filter depends on besides the profile. */
export interface SeccompContext {
  /** Go's name of the machine (amd64, arm64, ...), as moby's includes.arches use. */
  arch: string;
  /** The container's capabilities (CAP_ names). */
  capabilities: string[];
  /** The kernel release, "6.1.0-13-amd64". */
  kernel: string;
}

const EPERM = 1;

const ACTIONS: Record<SeccompAction, string> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill_thread',
  SCMP_ACT_KILL_THREAD: 'kill_thread',
  SCMP_ACT_KILL_PROCESS: 'kill_process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_LOG: 'log',
  SCMP_ACT_TRACE: 'trace',
};

const OPS: Record<SeccompOp, string> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

/** Node's process.arch to Go's GOARCH (moby's arch names). */
const GOARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
};
/** GOARCH to libseccomp's native architecture (archMap's key). */
const NATIVE: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
};

export class SeccompProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeccompProfileError';
  }
}

export function hostSeccompContext(capabilities: string[]): SeccompContext {
  return { arch: GOARCH[process.arch] ?? process.arch, capabilities, kernel: os.release() };
}

/** "5.10.0-8-amd64" >= "4.8"? Compares major.minor as moby does. */
export function kernelAtLeast(release: string, min: string): boolean {
  const parse = (v: string): [number, number] => {
    const m = /^(\d+)\.(\d+)/.exec(v);
    return m ? [Number(m[1]), Number(m[2])] : [0, 0];
  };
  const [a, b] = parse(release);
  const [c, d] = parse(min);
  return a > c || (a === c && b >= d);
}

function applies(s: SeccompSyscall, ctx: SeccompContext): boolean {
  const ex = s.excludes;
  if (ex) {
    if (ex.arches?.includes(ctx.arch)) return false;
    if (ex.caps?.some((c) => ctx.capabilities.includes(c))) return false;
    if (ex.minKernel && kernelAtLeast(ctx.kernel, ex.minKernel)) return false;
  }
  const inc = s.includes;
  if (inc) {
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(ctx.arch)) return false;
    if (inc.caps?.some((c) => !ctx.capabilities.includes(c))) return false;
    if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) return false;
  }
  return true;
}

function action(where: string, a: SeccompAction, errnoRet: number | undefined): string {
  const name = ACTIONS[a];
  if (name === undefined) throw new SeccompProfileError(`${where}: unsupported action ${String(a)}`);
  const ret = name === 'errno' || name === 'trace' ? (errnoRet ?? EPERM) : 0;
  return `${name} ${ret}`;
}

function archName(scmp: string): string {
  return scmp.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

/** The architectures to add besides the native one. */
function extraArches(p: SeccompProfile, ctx: SeccompContext): string[] {
  const native = NATIVE[ctx.arch];
  const out = new Set<string>();
  for (const m of p.archMap ?? []) {
    if (m.architecture === native) for (const sub of m.subArchitectures ?? []) out.add(sub);
  }
  for (const a of p.architectures ?? []) if (a !== native) out.add(a);
  return [...out].map(archName);
}

/** Argument rules as "INDEX OP VALUE VALUE2"; a syscall with two conditions on one argument becomes one rule per condition (as runc: libseccomp refuses such a rule). */
function argGroups(where: string, args: SeccompArg[]): string[][] {
  const cond = (a: SeccompArg): string => {
    const op = OPS[a.op];
    if (op === undefined) throw new SeccompProfileError(`${where}: unsupported operator ${String(a.op)}`);
    if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new SeccompProfileError(`${where}: argument index ${a.index} is not 0 to 5`);
    return `${a.index} ${op} ${BigInt(a.value)} ${BigInt(a.valueTwo ?? 0)}`;
  };
  const indexes = args.map((a) => a.index);
  if (new Set(indexes).size === indexes.length) return [args.map(cond)];
  return args.map((a) => [cond(a)]);
}

/** The profile as tsk-privs.h's line format, for a container with ctx. Throws SeccompProfileError. */
export function renderSeccomp(p: SeccompProfile, ctx: SeccompContext): string {
  const lines = [`default ${action('defaultAction', p.defaultAction, p.defaultErrnoRet)}`];
  for (const a of extraArches(p, ctx)) lines.push(`arch ${a}`);
  p.syscalls.forEach((s, i) => {
    if (!applies(s, ctx)) return;
    const where = `syscalls[${i}]`;
    const act = action(where, s.action, s.errnoRet);
    const names = s.names ?? (s.name !== undefined ? [s.name] : []);
    for (const name of names) {
      if (!/^[a-z0-9_]+$/.test(name)) throw new SeccompProfileError(`${where}: bad syscall name ${JSON.stringify(name)}`);
      for (const group of s.args && s.args.length > 0 ? argGroups(where, s.args) : [[]]) {
        lines.push(['rule', name, act, ...group].join(' '));
      }
    }
  });
  return `${lines.join('\n')}\n`;
}

/** Parses a profile file's text (OCI/Docker JSON), naming the file in errors. */
export function parseSeccompProfile(file: string, text: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch (err) {
    throw new SeccompProfileError(`seccomp profile ${file}: ${errorMessage(err)}`);
  }
  const o = p as Partial<SeccompProfile> | null;
  if (typeof o !== 'object' || o === null || typeof o.defaultAction !== 'string') {
    throw new SeccompProfileError(`seccomp profile ${file}: defaultAction is required`);
  }
  if (o.syscalls !== undefined && !Array.isArray(o.syscalls)) throw new SeccompProfileError(`seccomp profile ${file}: syscalls must be a list`);
  return { ...o, defaultAction: o.defaultAction, syscalls: o.syscalls ?? [] };
}
