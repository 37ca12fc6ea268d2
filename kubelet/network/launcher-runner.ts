// A CommandRunner that has tsk-launcher (the runtime's resident C helper)
// fork the pod network's commands: forking the kubelet's large Node process
// for every `ip` blocks its event loop for milliseconds each (tens on a busy
// node), and a pod start runs two of them. The command's input and output
// travel in the launcher's request and reply lines (memory, no files: on the
// node's disk every file made and deleted cost the kubelet's one thread
// more than the rest of the command). `nsenter --net=PATH PROGRAM...` is
// done by the launcher itself (setns before the exec): one exec less.

import type { Launcher } from '../runtime/launcher';
import { errorMessage } from '../../util/errors';
import { type CommandResult, type CommandRunner, ExecRunner } from './commands';

/** Requests longer than this go the ordinary way: the launcher reads requests into a 64 KiB buffer. */
const MAX_REQUEST = 60_000;

export class LauncherRunner implements CommandRunner {
  private readonly fallback = new ExecRunner();

  constructor(private readonly launcher: Pick<Launcher, 'request'>) {}

  async run(argv: string[], stdin?: string): Promise<CommandResult> {
    const [netns, program] = netnsOf(argv);
    const input = stdin === undefined || stdin === '' ? '-' : `x${Buffer.from(stdin, 'utf8').toString('hex')}`;
    const args = [netns, input, ...program];
    // The protocol splits on tabs and drops empty fields: such an argv goes the ordinary way.
    if (program.length === 0 || program.some((a) => a === '' || /[\t\n]/.test(a)) || args.join('\t').length > MAX_REQUEST)
      return this.fallback.run(argv, stdin);
    try {
      const r = await this.launcher.request('exec', args);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr || r.message };
    } catch (err) {
      return { code: 127, stdout: '', stderr: `tsk-launcher: ${errorMessage(err)}` };
    }
  }
}

/** `nsenter --net=PATH PROGRAM...` as [PATH, PROGRAM...]; any other argv as ["-", argv]. */
function netnsOf(argv: readonly string[]): [string, string[]] {
  const m = argv[0] === 'nsenter' && argv.length > 2 ? /^--net=(\/.+)$/.exec(argv[1] ?? '') : null;
  return m?.[1] !== undefined && !argv[2]?.startsWith('-') ? [m[1], argv.slice(2)] : ['-', [...argv]];
}
