// Running nft: the proxy's nftables mode writes its table with `nft -f -`
// (one transaction: applied whole or not at all) and, on full syncs, lists
// the table's chains and sets to find stale ones. Behind an interface so
// tests and hollow nodes can stand in for the kernel.

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * The nftables tool by absolute path: a bare "nft" on a PATH that includes
 * node_modules/.bin (npm scripts, npx) is @vercel/nft's file tracer, which
 * accepts `-f -` and exits 0 having written nothing.
 */
export function nftCommand(): string {
  return ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft';
}

/**
 * An nft input: the whole text, or its chunks as they are made (the
 * helper streams each to nft as it comes, so nft parses the start while
 * the rest is rendered). Iterated once.
 */
export type NftInput = string | Iterable<string>;

/** The whole text of an input (its chunks made and joined). */
export function nftText(input: NftInput): string {
  return typeof input === 'string' ? input : [...input].join('');
}

/** The chunks of `input`, each also kept in `into` as it passes: the text, once they are all sent, for what wants it after. */
export function* keepChunks(input: Iterable<string>, into: string[]): Generator<string, void, undefined> {
  for (const chunk of input) {
    into.push(chunk);
    yield chunk;
  }
}

export interface Nftables {
  /**
   * Applies `input` as one transaction (nft -f -); rejects with nft's
   * message and the line it names.
   */
  run(input: NftInput): Promise<void>;
  /** `nft -t list chains ip; list sets ip`: every IPv4 table's chains and sets, set contents left out. */
  list(): Promise<string>;
  /**
   * Changes when the process applying the transactions was restarted (the
   * long-lived helper, nft-helper.ts): a write may have died with the old
   * one, so the next sync must be full. Absent: one process per call.
   */
  readonly generation?: number;
  /** Stops what runs in the background (the helper). */
  close?(): Promise<void>;
}

export interface ExecNftablesOptions {
  /** Default nftCommand(). */
  readonly command?: string;
  /** Longest a call may take before it is killed; default 2 minutes. */
  readonly timeoutMs?: number;
}

/** The real nftables of the network namespace this process runs in. */
export class ExecNftables implements Nftables {
  private readonly command: string;
  private readonly timeoutMs: number;

  constructor(options: ExecNftablesOptions = {}) {
    this.command = options.command ?? nftCommand();
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  run(whole: NftInput): Promise<void> {
    const input = nftText(whole);
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: this.timeoutMs });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => reject(new Error(`${this.command}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) return resolve();
        reject(new Error(`${this.command} -f failed (${signal ?? `exit ${code}`}): ${describeNftError(stderr, input)}`));
      });
      child.stdin.on('error', () => undefined); // the exit status reports what went wrong
      child.stdin.end(input);
    });
  }

  list(): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(this.command, ['-t', '-f', '-'], { timeout: this.timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${this.command} list failed: ${String(stderr).trim() || err.message}`));
        else resolve(String(stdout));
      });
      child.stdin?.end('list chains ip\nlist sets ip\n');
    });
  }
}

/** nft's first error ("/dev/stdin:12:5-10: Error: ..."), with the text of the line it names. */
export function describeNftError(stderr: string, input: string): string {
  const first = stderr.split('\n').find((l) => /Error:/.test(l)) ?? stderr.trim().split('\n')[0] ?? '';
  const message = first.trim();
  const m = /^[^:]*:(\d+):/.exec(message);
  const line = m ? input.split('\n')[Number(m[1]) - 1] : undefined;
  return line === undefined ? message || stderr.trim() : `${message} [line ${m?.[1]}: ${line.length > 300 ? `${line.slice(0, 300)}...` : line}]`;
}
