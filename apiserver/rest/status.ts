// Errors as Kubernetes' REST API returns them: a meta/v1 Status object with
// the reason, the message, details (name, kind, causes) and the HTTP code,
// mapped from api/errors.ts's ApiError (the same errors gRPC sends).

import { ApiError, InternalError } from '../../api/errors';
import type { JsonObject } from '../../api/codec';
import { KIND_NAMES, KINDS } from '../../api/kinds';
import { errorDetail, errorMessage } from '../../util/errors';

/** Kubernetes' details.kind: the resource (plural) for most reasons, the Kind for Invalid (as the registry's NewInvalid). */
function detailKind(err: ApiError): string | undefined {
  const kind = err.details.kind;
  if (kind === undefined || err.reason === 'Invalid') return kind;
  const known = KIND_NAMES.find((k) => k === kind);
  return known === undefined ? kind : KINDS[known].plural;
}

/** The Status object of a failure. */
export function statusOf(err: ApiError): JsonObject {
  const details: JsonObject = {};
  if (err.details.name) details['name'] = err.details.name;
  const kind = detailKind(err);
  if (kind) details['kind'] = kind;
  if (err.details.retryAfterSeconds) details['retryAfterSeconds'] = err.details.retryAfterSeconds;
  if (err.causes.length > 0) {
    details['causes'] = err.causes.map((c) => {
      const cause: JsonObject = {};
      if (c.reason) cause['reason'] = c.reason;
      cause['message'] = c.message;
      if (c.field) cause['field'] = c.field;
      return cause;
    });
  }
  const out: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason };
  if (Object.keys(details).length > 0) out['details'] = details;
  out['code'] = err.httpCode;
  return out;
}

/** Kubernetes' success Status of a delete that removed the object at once. */
export function successStatus(kind: string, name: string, uid: string): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind, uid } };
}

/** Any thrown value as an ApiError; what is not one is an internal error, logged with its stack. */
export function asApiError(err: unknown, log: (m: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  log(`internal error: ${errorDetail(err)}`);
  return new InternalError(errorMessage(err));
}

/** Kubernetes' 405 for a verb a resource does not have. */
export function methodNotAllowed(): ApiError {
  return new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

/** Kubernetes' 404 for a path it does not serve. */
export function notServed(): ApiError {
  return new ApiError('NotFound', 'the server could not find the requested resource');
}
