#!/usr/bin/env node
// tsctl: the command-line client. All logic lives in tsctl/; this file only
// wires the process (argv, signals, exit code) to it.

import { main } from '../tsctl/index.js';
import { errorMessage } from '../util/errors';

const controller = new AbortController();
const stop = (): void => {
  if (controller.signal.aborted) process.exit(130);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main(process.argv.slice(2), { signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`tsctl: ${errorMessage(err)}`);
    process.exitCode = 1;
  },
);
