// A stand-alone entry point for the proxy (`node dist/proxy/cli.js FLAGS`),
// until `tsk proxy` is wired into cmd/tsk.ts; the integration tests run it
// inside a node's network namespace.

import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`tsk proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
