// Kubernetes' AtomicWriter (pkg/volume/util/atomic_writer.go): the files of
// a configMap, secret, downwardAPI or projected volume are replaced as one
// set, so a reader never sees half of an update. Layout of the volume dir:
//
//   ..2026_12_07_01_58_00.123456789/   the files of one version (a new dir each update)
//   ..data -> ..2026_12_07_01_58_00.123456789
//   key -> ..data/key                  one symlink per top-level entry
//
// An update writes a new timestamped dir, points `..data` at it with one
// rename(2) (atomic), adds the symlinks of new entries, removes those of
// entries gone, and deletes the old dir.

import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One file of a volume: its content and mode. */
export interface FileProjection {
  data: Buffer;
  mode: number;
}

/** Relative path (as in `items[].path`) -> file. */
export type Payload = Map<string, FileProjection>;

export const DATA_DIR_NAME = '..data';
const DATA_DIR_TMP_NAME = '..data_tmp';

export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** Kubernetes' validatePath: relative, at most 4096 bytes, no `..` element, not starting with `..`. */
export function validatePayloadPath(p: string): void {
  if (p === '') throw new PayloadError('invalid path: must not be empty');
  if (Buffer.byteLength(p) > 4096) throw new PayloadError(`invalid path: must be less than or equal to 4096 characters`);
  if (path.isAbsolute(p)) throw new PayloadError(`invalid path: must be relative path: ${p}`);
  if (p.split('/').includes('..')) throw new PayloadError(`invalid path: must not contain '..': ${p}`);
  if (p.startsWith('..')) throw new PayloadError(`invalid path: must not start with '..': ${p}`);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `..2006_01_02_15_04_05.` in UTC plus nine random digits, as Go's TempDir with Kubernetes' prefix. */
export function timestampedDirName(now: Date): string {
  const stamp = `${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}`;
  return `..${stamp}.${pad(randomInt(1_000_000_000), 9)}`;
}

/** The files under dir (relative paths), following no symlinks. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

function currentVersion(targetDir: string): string | undefined {
  try {
    return fs.readlinkSync(path.join(targetDir, DATA_DIR_NAME));
  } catch {
    return undefined;
  }
}

/** True when the old version holds exactly the payload (same paths, contents and modes). */
function unchanged(oldDir: string, payload: Payload): boolean {
  let files: string[];
  try {
    files = listFiles(oldDir);
  } catch {
    return false;
  }
  if (files.length !== payload.size) return false;
  for (const [p, f] of payload) {
    const full = path.join(oldDir, p);
    const st = fs.lstatSync(full, { throwIfNoEntry: false });
    if (!st?.isFile() || (st.mode & 0o7777) !== f.mode || !fs.readFileSync(full).equals(f.data)) return false;
  }
  return true;
}

const topLevel = (p: string): string => p.split('/')[0] ?? p;

export interface WriteOptions {
  now?: () => Date;
  /** Called on the new version's directory before it becomes visible (Kubernetes' setPerms: fsGroup ownership). */
  setPerms?: (versionDir: string) => void;
}

/**
 * Makes targetDir hold exactly `payload`, atomically for readers. Returns
 * false when it already did (nothing written). Idempotent; a write cut short
 * leaves the previous version visible and is finished by the next call.
 * Throws PayloadError for a path that would escape the directory.
 */
export function writePayload(targetDir: string, payload: Payload, opts: WriteOptions = {}): boolean {
  for (const p of payload.keys()) validatePayloadPath(p);
  fs.mkdirSync(targetDir, { recursive: true, mode: 0o755 });
  const oldName = currentVersion(targetDir);
  const oldDir = oldName !== undefined ? path.join(targetDir, oldName) : undefined;
  const wanted = new Set([...payload.keys()].map(topLevel));
  const oldTop = oldDir !== undefined && fs.existsSync(oldDir) ? fs.readdirSync(oldDir) : [];
  const toRemove = oldTop.filter((n) => !wanted.has(n));
  if (oldDir !== undefined && toRemove.length === 0 && unchanged(oldDir, payload)) return false;

  const newName = timestampedDirName((opts.now ?? (() => new Date()))());
  const newDir = path.join(targetDir, newName);
  fs.mkdirSync(newDir, { mode: 0o755 });
  fs.chmodSync(newDir, 0o755);
  for (const [p, f] of payload) {
    const full = path.join(newDir, p);
    fs.mkdirSync(path.dirname(full), { recursive: true, mode: 0o755 });
    fs.writeFileSync(full, f.data, { mode: f.mode });
    // writeFile's mode is masked by the umask (and ignored for an existing file): set it exactly.
    fs.chmodSync(full, f.mode);
  }

  opts.setPerms?.(newDir);

  // The swap: a new symlink renamed over ..data, which rename(2) replaces atomically.
  const tmpLink = path.join(targetDir, DATA_DIR_TMP_NAME);
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(newName, tmpLink);
  fs.renameSync(tmpLink, path.join(targetDir, DATA_DIR_NAME));

  for (const name of wanted) {
    const link = path.join(targetDir, name);
    if (!fs.lstatSync(link, { throwIfNoEntry: false })) fs.symlinkSync(path.join(DATA_DIR_NAME, name), link);
  }
  for (const name of toRemove) fs.rmSync(path.join(targetDir, name), { force: true });
  // Versions left by an earlier write cut short, and the one just replaced.
  for (const e of fs.readdirSync(targetDir)) {
    if (e.startsWith('..') && e !== DATA_DIR_NAME && e !== newName) fs.rmSync(path.join(targetDir, e), { recursive: true, force: true });
  }
  return true;
}
