// The image verbs of `tsk runtime`: pull, import, images, rmi, shaped like
// their docker counterparts. main.ts parses --data-dir and dispatches here.

import { containerUsage, ContainerUsage } from '../container/usage';
import { ImageError } from '../image/errors';
import { familiarName, parseReference } from '../image/reference';
import { ImageStore, PullProgress } from '../image/store';
import type { ImageRecord } from '../image/types';
import { type ParsedArgs, UsageError, parseArgs } from './args';
import { errorMessage } from '../../../util/errors';

export type ImageVerb = 'pull' | 'import' | 'images' | 'rmi';

/** Where output goes; injected so tests can capture it. */
export interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
  /** True when stderr is a terminal (progress redraws in place). */
  tty: boolean;
  now: () => number;
}

const defaultOutput: Output = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: process.stderr.isTTY === true,
  now: () => Date.now(),
};

const USAGE: Record<ImageVerb, string> = {
  pull: "Usage: tsk runtime pull [--insecure-registry[=HOST]]... [--username USER --password PASS] REF\n  Plain HTTP is used for localhost, 127.0.0.0/8 and each --insecure-registry HOST (alone, the flag means REF's registry).",
  import: 'Usage: tsk runtime import FILE   (a docker save tarball or an OCI image layout archive)',
  images: 'Usage: tsk runtime images [-q]',
  rmi: 'Usage: tsk runtime rmi [-f] REF|ID...\n  Layers no image or container uses any more are deleted too.',
};

function one(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  if (v && v.length > 1) throw new UsageError(`flag ${name} given more than once`);
  return v?.[0];
}

const PHASE_TEXT: Record<PullProgress['phase'], string> = {
  waiting: 'Waiting',
  downloading: 'Downloading',
  verifying: 'Verifying Checksum',
  extracting: 'Extracting',
  done: 'Pull complete',
};

/** Decimal units, as docker prints sizes. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[u] ?? ''}`;
}

/** "3 hours ago", as docker's CREATED column. */
export function humanAge(created: string, now: number): string {
  const t = Date.parse(created);
  if (!Number.isFinite(t)) return 'N/A';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  const steps: Array<[number, string]> = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [len, name] of steps) {
    const n = Math.floor(s / len);
    if (n >= 1) return n === 1 ? `${name === 'hour' ? 'An' : 'A'} ${name} ago` : `${n} ${name}s ago`;
  }
  return s < 2 ? 'Less than a second ago' : `${s} seconds ago`;
}

/** Progress display: a line per phase change, or (on a TTY) one live line per layer. */
export class ProgressView {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();
  private readonly phases = new Map<string, string>();
  private drawn = 0;
  private lastDraw = 0;

  constructor(private readonly o: Output) {}

  private text(p: PullProgress): string {
    const id = p.digest.slice(7, 19);
    if (p.phase === 'done' && p.cached) return `${id}: Already exists`;
    if (p.phase === 'downloading' && this.o.tty) return `${id}: Downloading ${humanSize(p.bytesDone)}/${humanSize(p.bytesTotal)}`;
    return `${id}: ${PHASE_TEXT[p.phase]}`;
  }

  update(p: PullProgress): void {
    if (!this.lines.has(p.digest)) this.order.push(p.digest);
    this.lines.set(p.digest, this.text(p));
    const phaseChanged = this.phases.get(p.digest) !== p.phase;
    this.phases.set(p.digest, p.phase);
    if (!this.o.tty) {
      if (phaseChanged) this.o.err(`${this.text(p)}\n`);
      return;
    }
    if (phaseChanged || this.o.now() - this.lastDraw >= 100) this.draw();
  }

  draw(): void {
    if (!this.o.tty) return;
    this.lastDraw = this.o.now();
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const d of this.order) s += `\x1b[2K${this.lines.get(d) ?? ''}\n`;
    this.drawn = this.order.length;
    this.o.err(s);
  }
}

async function pull(argv: string[], store: ImageStore, o: Output): Promise<number> {
  const p = parseArgs(argv, { valued: ['--insecure-registry', '--username', '--password'], booleans: [] });
  const insecure = p.flags.get('--insecure-registry') ?? [];
  // `pull --insecure-registry REF` (the flag without a host): REF's own registry is the insecure one.
  if (p.args.length === 0 && insecure.length > 0 && argv.at(-1) === insecure.at(-1)) {
    const input = insecure.pop() as string;
    insecure.push(parseReference(input).domain);
    p.args.push(input);
  }
  if (p.args.length !== 1) throw new UsageError(p.args.length === 0 ? 'missing image reference' : 'pull takes exactly one reference');
  const user = one(p, '--username');
  const pass = one(p, '--password');
  if ((user === undefined) !== (pass === undefined)) throw new UsageError('--username and --password go together');
  const input = p.args[0] as string;
  const ref = parseReference(input);
  const view = new ProgressView(o);
  const before = await store.get(input).catch(() => undefined);
  o.err(`${ref.digest ?? ref.tag ?? ''}: Pulling from ${familiarName(ref)}\n`);
  const rec = await store.pull(input, {
    insecureRegistries: insecure,
    ...(user !== undefined && pass !== undefined ? { auth: { username: user, password: pass } } : {}),
    onProgress: (e) => view.update(e),
  });
  view.draw();
  const name = rec.references.find((r) => r.startsWith(`${ref.domain}/${ref.path}`)) ?? rec.id;
  if (rec.manifestDigest) o.err(`Digest: ${rec.manifestDigest}\n`);
  o.err(`Status: ${before?.id === rec.id ? 'Image is up to date' : 'Downloaded newer image'} for ${name}\n`);
  o.out(`${name}\n`);
  return 0;
}

/** "busybox:latest" for a normalized reference, as docker prints it. */
function familiarRef(ref: string): string {
  const r = parseReference(ref);
  return `${familiarName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

async function importCmd(argv: string[], store: ImageStore, o: Output): Promise<number> {
  const p = parseArgs(argv, { valued: [], booleans: [] });
  if (p.args.length !== 1) throw new UsageError(p.args.length === 0 ? 'missing archive file' : 'import takes exactly one file');
  const recs = await store.importArchive(p.args[0] as string);
  for (const r of recs) {
    if (r.references.length === 0) o.out(`Loaded image ID: ${r.id}\n`);
    for (const ref of r.references) o.out(`Loaded image: ${familiarRef(ref)}\n`);
  }
  return 0;
}

/** Rows of `images`: one per reference, or one <none> row for an untagged image. */
export function imageRows(images: ImageRecord[], now: number): string[][] {
  const rows: string[][] = [];
  for (const img of images) {
    const common = [img.id.slice(7, 19), humanAge(img.created, now), humanSize(img.size)];
    if (img.references.length === 0) rows.push(['<none>', '<none>', ...common]);
    for (const ref of img.references) {
      const r = parseReference(ref);
      rows.push([familiarName(r), r.tag ?? '<none>', ...common]);
    }
  }
  // By repository then tag (code-point order, locale-independent); untagged images last.
  const key = (r: string[]): string => `${r[0] === '<none>' ? '\uffff' : ''}${r[0] ?? ''}\0${r[1] ?? ''}`;
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

async function images(argv: string[], store: ImageStore, o: Output): Promise<number> {
  const p = parseArgs(argv, { valued: [], booleans: ['-q', '--quiet'] });
  if (p.args.length > 0) throw new UsageError('images takes no arguments');
  const list = await store.list();
  if (p.flags.has('-q') || p.flags.has('--quiet')) {
    for (const img of list) o.out(`${img.id.slice(7, 19)}\n`);
    return 0;
  }
  o.out(formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], imageRows(list, o.now())));
  return 0;
}

async function rmi(argv: string[], store: ImageStore, o: Output, usage: ContainerUsage): Promise<number> {
  const p = parseArgs(argv, { valued: [], booleans: ['-f', '--force'] });
  if (p.args.length === 0) throw new UsageError('missing image reference');
  const force = p.flags.has('-f') || p.flags.has('--force');
  let failed = 0;
  let deleted = 0;
  for (const ref of p.args) {
    try {
      const before = await store.get(ref);
      // Read per reference: a container created meanwhile counts.
      await store.remove(ref, { users: await usage.imageUsers(), force });
      const after = before ? await store.get(before.id) : undefined;
      for (const r of before?.references ?? []) {
        if (!after?.references.includes(r)) o.out(`Untagged: ${familiarRef(r)}\n`);
      }
      if (before && !after) {
        o.out(`Deleted: ${before.id}\n`);
        deleted++;
      }
    } catch (e) {
      failed++;
      o.err(`Error: ${errorMessage(e)}\n`);
    }
  }
  if (deleted > 0) {
    // As docker rmi deletes the image's layers: all but those a container still runs on.
    const removed = await store.prune({ keepLayerDirs: await usage.usedLayerDirs() });
    for (const r of removed) if (r.startsWith('layer ')) o.out(`Deleted: ${r.slice('layer '.length)}\n`);
  }
  return failed > 0 ? 1 : 0;
}

/**
 * Runs one image verb against the store under dataDir. Returns the exit
 * code: 0 on success, 1 on failure (message on stderr), 2 on bad usage.
 * `usage` says what the containers under dataDir hold (rmi's conflicts and
 * the layers its prune keeps); by default it is read from their state dirs.
 */
export async function runImageCommand(
  verb: ImageVerb,
  argv: string[],
  dataDir: string,
  output: Output = defaultOutput,
  usage: ContainerUsage = containerUsage(dataDir),
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    output.out(`${USAGE[verb]}\n`);
    return 0;
  }
  const store = new ImageStore(dataDir);
  try {
    switch (verb) {
      case 'pull':
        return await pull(argv, store, output);
      case 'import':
        return await importCmd(argv, store, output);
      case 'images':
        return await images(argv, store, output);
      case 'rmi':
        return await rmi(argv, store, output, usage);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      output.err(`tsk runtime ${verb}: ${e.message}\n${USAGE[verb]}\n`);
      return 2;
    }
    const msg = e instanceof ImageError ? e.message : `${errorMessage(e) ?? String(e)}`;
    output.err(`tsk runtime ${verb}: ${msg}\n`);
    return 1;
  }
}
