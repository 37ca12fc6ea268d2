// Reading files that may be missing: kernel and cgroup files that a given
// machine or cgroup version does not have, /etc files that some images or
// hosts lack. Such a file stands for a default, not an error.

import { readFileSync } from 'node:fs';

/** The text of `file`, or `fallback` when it cannot be read (missing, unreadable, a directory). */
export function readTextOr(file: string, fallback = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
