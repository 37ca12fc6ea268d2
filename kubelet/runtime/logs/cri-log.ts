// Reading CRI-format container logs, as the shim writes them:
//   2016-10-06T00:17:09.669794202Z stdout F message
// (P instead of F marks a partial line continued by the next entry). The
// current file is <path>; rotated ones are <path>.1 (newest) ... <path>.N.

import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry } from '../runtime';

export function parseLogLine(line: string): LogEntry | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const stream = line.slice(a + 1, b);
  const tag = line.slice(b + 1, c);
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 'F' && tag !== 'P')) return undefined;
  return { time: line.slice(0, a), stream, partial: tag === 'P', text: line.slice(c + 1) };
}

/** Rotated files oldest first, then the current one. */
export function logFiles(logPath: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; fs.existsSync(`${logPath}.${i}`); i++) rotated.unshift(`${logPath}.${i}`);
  return [...rotated, logPath];
}

function parseChunk(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    const e = line === '' ? undefined : parseLogLine(line);
    if (e) out.push(e);
  }
  return out;
}

/** The last `tail` whole lines (a P..F chain counts as one line) of entries. */
export function tailEntries(entries: LogEntry[], tail?: number): LogEntry[] {
  if (tail === undefined || tail < 0) return entries;
  if (tail === 0) return [];
  let lines = 0;
  let i = entries.length;
  while (i > 0 && lines < tail) {
    i--;
    if (!entries[i]?.partial) lines++;
    while (i > 0 && entries[i - 1]?.partial) i--;
  }
  return entries.slice(i);
}

function readEntries(files: string[]): LogEntry[] {
  let entries: LogEntry[] = [];
  for (const f of files) {
    try {
      entries = entries.concat(parseChunk(fs.readFileSync(f, 'utf8')));
    } catch {
      // Rotated away between listing and reading.
    }
  }
  return entries;
}

/** Last `tail` lines from every file, rotated ones included. */
export function readLogTail(logPath: string, tail?: number): LogEntry[] {
  return tailEntries(readEntries(logFiles(logPath)), tail);
}

export interface FollowOptions {
  tail?: number;
  signal?: AbortSignal;
  /** True once nothing more will be written (the container exited). */
  done: () => boolean;
}

/**
 * Yields the tail, then new entries as they are appended, across rotations,
 * until done() holds and the file has been read to its end, or the signal aborts.
 */
export async function* followLog(logPath: string, opts: FollowOptions): AsyncGenerator<LogEntry> {
  let fd = -1;
  let ino = 0;
  let pos = 0;
  let rest = '';
  const buf = Buffer.alloc(65536);
  const open = (): boolean => {
    try {
      fd = fs.openSync(logPath, 'r');
      ino = fs.fstatSync(fd).ino;
      pos = 0;
      rest = '';
      return true;
    } catch {
      fd = -1;
      return false;
    }
  };
  /** Reads what was appended since the last call; complete lines only. */
  const drain = (): { entries: LogEntry[]; bytes: number } => {
    const entries: LogEntry[] = [];
    let bytes = 0;
    if (fd < 0) return { entries, bytes };
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      bytes += n;
      const text = rest + buf.subarray(0, n).toString('utf8');
      const cut = text.lastIndexOf('\n');
      rest = cut < 0 ? text : text.slice(cut + 1);
      if (cut >= 0) entries.push(...parseChunk(text.slice(0, cut)));
    }
    return { entries, bytes };
  };
  try {
    // The current file is opened before the rotated ones are read, so no line falls between tail and follow.
    open();
    const current = drain().entries;
    yield* tailEntries([...readEntries(logFiles(logPath).slice(0, -1)), ...current], opts.tail);
    for (;;) {
      if (opts.signal?.aborted) return;
      const finished = opts.done();
      const { entries, bytes } = drain();
      yield* entries;
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(logPath);
      } catch {
        st = undefined;
      }
      // Rotated (a new inode) or created since: continue with the new current file from its start.
      if (st && st.ino !== ino) {
        if (fd >= 0) fs.closeSync(fd);
        open();
        continue;
      }
      if (finished && bytes === 0) return;
      if (bytes === 0) await sleep(50, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    }
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}
