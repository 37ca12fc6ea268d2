// The shape of a tsctl command: its flags and help, and run() -> exit code.

import type { FlagSpec } from './args';
import type { Context } from './context';

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** "tsctl get KIND [NAME...] [flags]" */
  readonly usage: string;
  readonly examples?: string;
  readonly flags: readonly FlagSpec[];
  run(ctx: Context): Promise<number>;
}
