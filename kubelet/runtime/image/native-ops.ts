// Batches the filesystem calls Node lacks (mknod, setxattr) for one layer and
// hands them to the native helper build/native/tsk-unpack in one exec.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** build/native/ of the repository (dist/kubelet/runtime/image -> repo root), or $TSK_NATIVE_DIR. */
export function nativeHelperPath(name: string): string {
  const dir = process.env['TSK_NATIVE_DIR'] ?? path.resolve(__dirname, '../../../../build/native');
  return path.join(dir, name);
}

export type NodeType = 'c' | 'b' | 'p';

export class NativeOps {
  private readonly fields: string[] = [];

  get empty(): boolean {
    return this.fields.length === 0;
  }

  mknod(rel: string, type: NodeType, mode: number, major: number, minor: number, uid: number, gid: number): void {
    this.fields.push('N', rel, mode.toString(8), type, String(major), String(minor), String(uid), String(gid));
  }

  setxattr(rel: string, name: string, value: Buffer): void {
    this.fields.push('X', rel, name, value.toString('hex'));
  }

  /** Runs the batch against root; rejects with the helper's own message naming syscall and path. */
  async run(root: string): Promise<void> {
    if (this.empty) return;
    for (const f of this.fields) {
      if (f.includes('\0')) throw new Error(`path or xattr name contains a NUL byte: ${JSON.stringify(f)}`);
    }
    const helper = nativeHelperPath('tsk-unpack');
    if (!existsSync(helper)) throw new Error(`native helper ${helper} is missing: run "npm run build"`);
    const input = Buffer.from(this.fields.map((f) => f + '\0').join(''), 'utf8');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(helper, [root], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(stderr.trim() || `tsk-unpack exited with ${code ?? signal}`));
      });
      child.stdin.on('error', () => {
        /* reported through the exit status */
      });
      child.stdin.end(input);
    });
  }
}
