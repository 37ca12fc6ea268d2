// Reading files that may be missing: kernel and cgroup files that a given
// machine or cgroup version does not have, /etc files that some images or
// hosts lack. Such a file stands for a default, not an error.

import { readFileSync } from 'node:fs';

/** The text of `file`, or `fallback` when it cannot be read (missing, unreadable, a directory). */
export function readTextOr(file: string, fallback = ''): string {
  return readTextIfReadable(file) ?? fallback;
}

/** The text of `file`, or undefined when it cannot be read: for callers to whom a missing file and an empty one differ. */
export function readTextIfReadable(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
