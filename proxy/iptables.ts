// Running iptables, behind a narrow interface so tests capture what the proxy
// would apply. The proxy only ever reads the whole ruleset (iptables-save)
// and applies a whole change at once (iptables-restore --noflush): never rule
// by rule.

import { execFile, spawn } from 'node:child_process';

export interface Iptables {
  /** The current ruleset, as iptables-save prints it. */
  save(): Promise<string>;
  /** Applies `input` atomically per table with iptables-restore --noflush; rejects naming the failing line. */
  restore(input: string): Promise<void>;
}

export interface ExecIptablesOptions {
  /** Default "iptables-save". */
  readonly saveCommand?: string;
  /** Default "iptables-restore". */
  readonly restoreCommand?: string;
  /**
   * Longest a call may take before it is killed; default 10 minutes. Large:
   * iptables-nft 1.8 restores 10,000 services' rules (230,000 lines) in
   * minutes of CPU, and a restore killed half-way applies nothing, so a
   * shorter limit would fail every full sync of a large cluster forever.
   */
  readonly timeoutMs?: number;
}

/** The real iptables of the network namespace this process runs in. */
export class ExecIptables implements Iptables {
  private readonly saveCommand: string;
  private readonly restoreCommand: string;
  private readonly timeoutMs: number;

  constructor(options: ExecIptablesOptions = {}) {
    this.saveCommand = options.saveCommand ?? 'iptables-save';
    this.restoreCommand = options.restoreCommand ?? 'iptables-restore';
    this.timeoutMs = options.timeoutMs ?? 600_000;
  }

  save(): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.saveCommand, [], { timeout: this.timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${this.saveCommand} failed: ${String(stderr).trim() || err.message}`));
        else resolve(String(stdout));
      });
    });
  }

  restore(input: string): Promise<void> {
    return new Promise((resolve, reject) => {
      // -w: wait for the xtables lock rather than fail when another program holds it.
      const child = spawn(this.restoreCommand, ['-w', '5', '--noflush'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: this.timeoutMs });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => reject(new Error(`${this.restoreCommand}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) return resolve();
        reject(new Error(`${this.restoreCommand} --noflush failed (${signal ?? `exit ${code}`}): ${describeRestoreError(stderr, input)}`));
      });
      child.stdin.on('error', () => undefined); // the exit status reports what went wrong
      child.stdin.end(input);
    });
  }
}

/** iptables-restore's message, with the text of the line it names ("line 12: ..."). */
export function describeRestoreError(stderr: string, input: string): string {
  const message = stderr.trim().replace(/\s+/g, ' ');
  const m = /line (\d+)/.exec(message);
  const line = m ? input.split('\n')[Number(m[1]) - 1] : undefined;
  return line === undefined ? message : `${message} [line ${m?.[1]}: ${line}]`;
}

/** One table of an iptables-save dump. */
export interface SavedTable {
  /** Every chain, with its number of rules. */
  readonly chains: Map<string, number>;
  /** Every rule: its chain and the rest of the line after "-A CHAIN ". */
  readonly rules: readonly SavedRule[];
}

export interface SavedRule {
  readonly chain: string;
  readonly spec: string;
  /** The -j / -g target, if any. */
  readonly target?: string;
}

export type SavedRules = ReadonlyMap<string, SavedTable>;

/** Parses iptables-save output into tables of chains and rules. */
export function parseIptablesSave(text: string): SavedRules {
  const tables = new Map<string, { chains: Map<string, number>; rules: SavedRule[] }>();
  let current: { chains: Map<string, number>; rules: SavedRule[] } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = { chains: new Map(), rules: [] };
      tables.set(line.slice(1), current);
    } else if (!current || line === '' || line.startsWith('#') || line === 'COMMIT') {
      continue;
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0] ?? '';
      if (!current.chains.has(name)) current.chains.set(name, 0);
    } else if (line.startsWith('-A ')) {
      const m = /^-A (\S+) ?(.*)$/.exec(line);
      if (!m) continue;
      const chain = m[1] ?? '';
      const spec = m[2] ?? '';
      const target = /(?:^|\s)-[jg] (\S+)/.exec(spec)?.[1];
      current.rules.push({ chain, spec, ...(target ? { target } : {}) });
      current.chains.set(chain, (current.chains.get(chain) ?? 0) + 1);
    }
  }
  return tables;
}
