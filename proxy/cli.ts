// A stand-alone entry point for the proxy (`node dist/proxy/cli.js FLAGS`),
// until `tsk proxy` is wired into cmd/tsk.ts; the integration tests run it
// inside a node's network namespace.

import { main } from './main';
import { errorDetail } from '../util/errors';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`tsk proxy: ${errorDetail(err)}`);
    process.exitCode = 1;
  },
);
