// How the pod network runs its tools (iproute2's ip, util-linux's nsenter,
// procps' sysctl): behind a small interface, so unit tests check the exact
// commands (golden tests) and the real runner is a thin execFile.

import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Exit code; 127 when the program could not be started. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one command (argv[0] looked up in PATH, no shell), with `stdin` as its input if given. Never rejects: failures are in the result. */
export interface CommandRunner {
  run(argv: string[], stdin?: string): Promise<CommandResult>;
}

/** The network's errors; the message names the step and the command ("pod network: create veth vethX: ip link add ...: <stderr>"). */
export class NetworkError extends Error {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`pod network: ${step}: ${detail}`);
    this.name = 'NetworkError';
  }

  static forCommand(step: string, argv: string[], r: CommandResult): NetworkError {
    const why = r.stderr.trim().replace(/\s*\n\s*/g, '; ') || `exit code ${r.code}`;
    return new NetworkError(step, `${argv.join(' ')}: ${why}`);
  }
}

/** The real runner: execFile with a deadline, so a wedged tool cannot hang a pod's setup forever. */
export class ExecRunner implements CommandRunner {
  constructor(private readonly timeoutMs = 30_000) {}

  run(argv: string[], stdin?: string): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.resolve({ code: 127, stdout: '', stderr: 'empty command' });
    return new Promise((resolve) => {
      const child = execFile(file, args, { timeout: this.timeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
        const why = e.killed ? `killed after ${this.timeoutMs} ms` : e.message;
        resolve({ code: 127, stdout, stderr: stderr || why });
      });
      // An exec failure closes stdin under us: the callback reports it, not this stream.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(stdin ?? '');
    });
  }
}
