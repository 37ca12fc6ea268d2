// The one error of a bad command line in the whole tree: every command
// catches it, prints its message (and where to find help) and exits 2.

/** A bad command line: the command prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
