// Client of tsk-launcher (native/tsk-launcher.c): one resident helper per
// NativeRuntime that forks the runtime's native steps, since forking a large
// Node process costs milliseconds per spawn and a tiny C process almost
// nothing. Requests and replies are tab-separated lines; the helper is
// started on first use, restarted if it dies, and unref'd while idle so it
// never keeps the Node process alive. Closing its stdin (or our death) ends
// it; containers it started are detached and unaffected.

import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import { RuntimeError } from './errors';

export type LauncherVerb = 'shim' | 'sandbox-create' | 'sandbox-remove' | 'exec';

export interface LauncherReply {
  code: number;
  message: string;
  /** exec: the program's output, sent in hex lines before the reply. */
  stdout: string;
  stderr: string;
}

interface Pending {
  resolve(r: LauncherReply): void;
  reject(e: Error): void;
  /** exec's output so far, hex (decoded whole: a chunk may end inside a UTF-8 character). */
  stdout: string;
  stderr: string;
}

export class Launcher {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private buffered = '';

  constructor(private readonly nativeDir: string) {}

  /** Runs one request; resolves with the helper's code and message (code 0 = success). */
  request(verb: LauncherVerb, args: string[]): Promise<LauncherReply> {
    for (const a of args) {
      if (/[\t\n]/.test(a)) return Promise.reject(new RuntimeError(`${verb}: argument ${JSON.stringify(a)} contains a tab or newline`));
    }
    const child = this.ensure();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.setRef(true);
      this.pending.set(id, { resolve, reject, stdout: '', stderr: '' });
      child.stdin.write(`${id}\t${verb}\t${args.join('\t')}\n`);
    });
  }

  /** Ends the helper (it would end with us anyway). */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(path.join(this.nativeDir, 'tsk-launcher'), [this.nativeDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => process.stderr.write(`tsk-launcher: ${d}`));
    const fail = (why: string): void => {
      if (this.child === child) this.child = undefined;
      const err = new RuntimeError(`tsk-launcher ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    child.on('error', (e) => fail(`failed: ${e.message}`));
    child.on('exit', (code, sig) => fail(`exited (${sig ?? code})`));
    child.stdin.on('error', () => undefined);
    this.child = child;
    this.setRef(false);
    return child;
  }

  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as Array<{ ref(): void; unref(): void }>) {
      if (on) h.ref();
      else h.unref();
    }
  }

  private onData(d: string): void {
    this.buffered += d;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const [id, code, ...msg] = line.split('\t');
      const p = this.pending.get(Number(id));
      if (!p) continue;
      // Output lines ("+o"/"+e", hex) come first, then the reply that ends the request.
      if (code === '+o' || code === '+e') {
        if (code === '+o') p.stdout += msg[0] ?? '';
        else p.stderr += msg[0] ?? '';
        continue;
      }
      this.pending.delete(Number(id));
      const text = (hex: string): string => Buffer.from(hex, 'hex').toString('utf8');
      p.resolve({ code: Number(code), message: msg.join('\t'), stdout: text(p.stdout), stderr: text(p.stderr) });
    }
    if (this.pending.size === 0) this.setRef(false);
  }
}
