// A CommandRunner that has tsk-launcher (the runtime's resident C helper)
// fork the pod network's commands: forking the kubelet's large Node process
// for every `ip` blocks its event loop for milliseconds each (tens on a busy
// node), and a pod start runs two of them. The command's input and output
// travel in files under `dir` (the launcher's protocol is one line per
// request), each removed once read.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Launcher } from '../runtime/launcher';
import { errorMessage } from '../../util/errors';
import { type CommandResult, type CommandRunner, ExecRunner } from './commands';

export class LauncherRunner implements CommandRunner {
  private readonly fallback = new ExecRunner();

  constructor(
    private readonly launcher: Pick<Launcher, 'request'>,
    private readonly dir: string,
  ) {}

  async run(argv: string[], stdin?: string): Promise<CommandResult> {
    // The protocol splits on tabs and drops empty fields: such an argv goes the ordinary way.
    if (argv.length === 0 || argv.some((a) => a === '' || /[\t\n]/.test(a))) return this.fallback.run(argv, stdin);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const base = path.join(this.dir, `cmd-${process.pid}-${randomBytes(6).toString('hex')}`);
    const files = { in: `${base}.in`, out: `${base}.out`, err: `${base}.err` };
    try {
      if (stdin !== undefined) fs.writeFileSync(files.in, stdin, { mode: 0o600 });
      const r = await this.launcher.request('exec', [stdin !== undefined ? files.in : '-', files.out, files.err, ...argv]);
      const read = (f: string): string => {
        try {
          return fs.readFileSync(f, 'utf8');
        } catch {
          return '';
        }
      };
      return { code: r.code, stdout: read(files.out), stderr: read(files.err) || r.message };
    } catch (err) {
      return { code: 127, stdout: '', stderr: `tsk-launcher: ${errorMessage(err)}` };
    } finally {
      for (const f of Object.values(files)) fs.rmSync(f, { force: true });
    }
  }
}
