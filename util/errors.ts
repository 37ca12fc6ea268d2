// Turning whatever a promise rejected with into words. JavaScript can throw
// anything: an Error (its message is what a user should read), a string, a
// gRPC status object, undefined. Logs, conditions and events want one line
// of text in every case, never "undefined" or "[object Object]".

/** The message of an Error, or the value itself as text when something else was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return String(err);
}

/** The errno code of a Node.js system error ("ENOENT", "EEXIST"), undefined for any other value. */
export function errnoCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The stack of an Error (its message when it has none), for logs of failures that are bugs; other values as errorMessage. */
export function errorDetail(err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message;
  return errorMessage(err);
}

/** What was thrown, as an Error (a promise's rejection reason should be one). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}
