// A scratch directory per test, removed when the test ends (also when it fails).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Anything with ava's teardown (an ExecutionContext). */
export interface Teardown {
  teardown(fn: () => void): void;
}

/** A new directory under the system's temporary directory, named PREFIX + random, removed with its contents on teardown. */
export function tempDir(t: Teardown, prefix = 'tsk-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
