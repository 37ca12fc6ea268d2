// How tsctl fails: a usage error exits 2, anything else 1. API errors are
// printed in kubectl's words so scripts and people recognise them.

import { ApiError } from '../api/errors';
import { errorMessage } from '../util/errors';

/** Wrong flags or arguments: exit code 2, with a hint to --help (the tree's one UsageError). */
export { UsageError } from '../util/flags';

/** A failure already phrased for the user (printed as "error: MESSAGE"). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The line kubectl prints for an error, without a trailing newline. */
export function formatError(err: unknown): string {
  if (err instanceof ApiError) return formatApiError(err);
  return `error: ${errorMessage(err)}`;
}

export function formatApiError(err: ApiError): string {
  switch (err.reason) {
    case 'Invalid':
      // kubectl: The Pod "web" is invalid: spec.containers[0].image: Required value
      return `The ${err.message}`;
    case 'Unauthorized':
      // kubectl: error: You must be logged in to the server (Unauthorized)
      return `error: You must be logged in to the server (${err.message})`;
    case 'ServiceUnavailable':
      return err.message.startsWith('cannot reach') ? `error: ${err.message}` : `Error from server (ServiceUnavailable): ${err.message}`;
    default:
      return `Error from server (${err.reason}): ${err.message}`;
  }
}
