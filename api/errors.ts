// API errors: one class per Kubernetes Status reason, and the mapping to and
// from gRPC statuses. The server throws these; the client library turns every
// failed call back into the same class, so callers use `instanceof`.
//
// On the wire an error is a gRPC status code plus a `tsk-status-bin` trailer
// holding a tsk.v1.Status message (reason, message, causes with field paths).

import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Status, StatusCause } from './gen/tsk/v1/api';
import { errorMessage } from '../util/errors';

export const STATUS_TRAILER = 'tsk-status-bin';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'Gone'
  | 'TooManyRequests'
  | 'InternalError';

export interface Cause {
  readonly field: string;
  readonly message: string;
  /** FieldValueInvalid, FieldValueRequired, FieldValueDuplicate, FieldValueNotSupported, FieldValueForbidden. */
  readonly reason?: string;
}

/** HTTP-equivalent codes, as Kubernetes' Status.code carries them. */
const HTTP_CODE: Record<StatusReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  Expired: 410,
  RequestEntityTooLarge: 413,
  ServiceUnavailable: 503,
  Timeout: 504,
  Unauthorized: 401,
  Forbidden: 403,
  MethodNotAllowed: 405,
  UnsupportedMediaType: 415,
  NotAcceptable: 406,
  Gone: 410,
  TooManyRequests: 429,
  InternalError: 500,
};

const GRPC_CODE: Record<StatusReason, GrpcStatus> = {
  NotFound: GrpcStatus.NOT_FOUND,
  AlreadyExists: GrpcStatus.ALREADY_EXISTS,
  Conflict: GrpcStatus.ABORTED,
  Invalid: GrpcStatus.INVALID_ARGUMENT,
  BadRequest: GrpcStatus.INVALID_ARGUMENT,
  Expired: GrpcStatus.OUT_OF_RANGE,
  RequestEntityTooLarge: GrpcStatus.RESOURCE_EXHAUSTED,
  ServiceUnavailable: GrpcStatus.UNAVAILABLE,
  Timeout: GrpcStatus.DEADLINE_EXCEEDED,
  Unauthorized: GrpcStatus.UNAUTHENTICATED,
  Forbidden: GrpcStatus.PERMISSION_DENIED,
  MethodNotAllowed: GrpcStatus.UNIMPLEMENTED,
  UnsupportedMediaType: GrpcStatus.INVALID_ARGUMENT,
  NotAcceptable: GrpcStatus.INVALID_ARGUMENT,
  Gone: GrpcStatus.OUT_OF_RANGE,
  TooManyRequests: GrpcStatus.RESOURCE_EXHAUSTED,
  InternalError: GrpcStatus.INTERNAL,
};

/** Base of every API error. */
export class ApiError extends Error {
  readonly causes: readonly Cause[];
  constructor(
    readonly reason: StatusReason,
    message: string,
    causes: readonly Cause[] = [],
    readonly details: { kind?: string; name?: string; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = `${reason}Error`;
    this.causes = causes;
  }
  get httpCode(): number {
    return HTTP_CODE[this.reason];
  }
  get grpcCode(): GrpcStatus {
    return GRPC_CODE[this.reason];
  }
}

export class NotFoundError extends ApiError {
  constructor(kind: string, name: string) {
    super('NotFound', `${kind.toLowerCase()}s "${name}" not found`, [], { kind, name });
  }
}

export class AlreadyExistsError extends ApiError {
  constructor(kind: string, name: string) {
    super('AlreadyExists', `${kind.toLowerCase()}s "${name}" already exists`, [], { kind, name });
  }
}

/** A stale resourceVersion, a failed precondition, or an already bound pod. */
export class ConflictError extends ApiError {
  constructor(message: string, details: { kind?: string; name?: string } = {}) {
    super('Conflict', message, [], details);
  }
}

/** Validation failed; causes name each field. */
export class InvalidError extends ApiError {
  constructor(kind: string, name: string, causes: readonly Cause[]) {
    const list = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    super('Invalid', `${kind} "${name}" is invalid: ${list}`, causes, { kind, name });
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string, causes: readonly Cause[] = []) {
    super('BadRequest', message, causes);
  }
}

/** The requested resourceVersion was compacted away: re-list and watch again. */
export class ExpiredError extends ApiError {
  constructor(message: string) {
    super('Expired', message);
  }
}

export class TooLargeError extends ApiError {
  constructor(message: string) {
    super('RequestEntityTooLarge', message);
  }
}

export class UnavailableError extends ApiError {
  constructor(message: string) {
    super('ServiceUnavailable', message);
  }
}

/**
 * The connection to the API server broke while the call was out: the server
 * may or may not have acted on it. A controller must treat a create that
 * failed this way as possibly done (as a Timeout), or it creates twice.
 */
export class ConnectionLostError extends UnavailableError {}

/** Whether the call that failed with `err` may all the same have been carried out: it timed out, or its connection broke. */
export function outcomeUnknown(err: unknown): boolean {
  return err instanceof ConnectionLostError || (err instanceof ApiError && err.reason === 'Timeout');
}

/**
 * API Priority and Fairness refused the request: its priority level's queues
 * were full (Kubernetes' 429). It was not carried out; retry after a moment.
 */
export class TooManyRequestsError extends ApiError {
  constructor(message: string) {
    super('TooManyRequests', message, [], { retryAfterSeconds: 1 });
  }
}

export class InternalError extends ApiError {
  constructor(message: string) {
    super('InternalError', message);
  }
}

/** A request without a valid identity (no credential, or one the server does not accept): Kubernetes' 401. */
export class UnauthorizedError extends ApiError {
  constructor(message = 'Unauthorized') {
    super('Unauthorized', message);
  }
}

/**
 * Kubernetes' NewForbidden: `pods "web-1" is forbidden: <why>`, or
 * `pods is forbidden: <why>` without a name, or `forbidden: <why>` for a
 * request that names no resource (a path such as /version).
 */
export class ForbiddenError extends ApiError {
  constructor(resource: string, name: string, why: string, kind?: string) {
    const message = resource === '' ? `forbidden: ${why}` : name === '' ? `${resource} is forbidden: ${why}` : `${resource} "${name}" is forbidden: ${why}`;
    super('Forbidden', message, [], { kind, name: name || undefined });
  }
}

function build(reason: StatusReason, message: string, causes: readonly Cause[], kind?: string, name?: string): ApiError {
  const err = new ApiError(reason, message, causes, { kind, name });
  // The subclasses' constructors compose messages; a decoded error keeps the
  // server's exact words, so only the prototype is taken from the subclass.
  Object.setPrototypeOf(err, (CLASS_FOR[reason] ?? ApiError).prototype);
  return err;
}

/** The subclass for each reason that has one; the rest are plain ApiErrors. */
const CLASS_FOR: Partial<Record<StatusReason, { prototype: ApiError }>> = {
  NotFound: NotFoundError,
  AlreadyExists: AlreadyExistsError,
  Conflict: ConflictError,
  Invalid: InvalidError,
  BadRequest: BadRequestError,
  Expired: ExpiredError,
  RequestEntityTooLarge: TooLargeError,
  ServiceUnavailable: UnavailableError,
  TooManyRequests: TooManyRequestsError,
  Unauthorized: UnauthorizedError,
  Forbidden: ForbiddenError,
  InternalError: InternalError,
};

const REASONS = new Set<string>(Object.keys(HTTP_CODE));

function reasonForCode(code: GrpcStatus): StatusReason {
  switch (code) {
    case GrpcStatus.NOT_FOUND:
      return 'NotFound';
    case GrpcStatus.ALREADY_EXISTS:
      return 'AlreadyExists';
    case GrpcStatus.ABORTED:
    case GrpcStatus.FAILED_PRECONDITION:
      return 'Conflict';
    case GrpcStatus.INVALID_ARGUMENT:
      return 'BadRequest';
    case GrpcStatus.OUT_OF_RANGE:
      return 'Expired';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'RequestEntityTooLarge';
    case GrpcStatus.UNAVAILABLE:
      return 'ServiceUnavailable';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'Timeout';
    case GrpcStatus.UNAUTHENTICATED:
      return 'Unauthorized';
    case GrpcStatus.PERMISSION_DENIED:
      return 'Forbidden';
    case GrpcStatus.UNIMPLEMENTED:
      return 'MethodNotAllowed';
    default:
      return 'InternalError';
  }
}

/** The Status message of an error (the `tsk-status-bin` trailer's content, and a failed BindResult's error). */
export function toStatus(err: unknown): Status {
  const apiErr = err instanceof ApiError ? err : new InternalError(errorMessage(err));
  return {
    reason: apiErr.reason,
    message: apiErr.message,
    code: apiErr.httpCode,
    kind: apiErr.details.kind ?? '',
    name: apiErr.details.name ?? '',
    causes: apiErr.causes.map((c): StatusCause => ({ field: c.field, message: c.message, reason: c.reason ?? '' })),
  };
}

/** The ApiError subclass a Status stands for; `code` decides the reason when the Status names none the client knows. */
export function fromStatus(s: Status, code: GrpcStatus, fallbackMessage: string): ApiError {
  const reason = REASONS.has(s.reason ?? '') ? (s.reason as StatusReason) : reasonForCode(code);
  const causes = (s.causes ?? []).map((c) => ({ field: c.field ?? '', message: c.message ?? '', reason: c.reason || undefined }));
  return build(reason, s.message || fallbackMessage, causes, s.kind || undefined, s.name || undefined);
}

/** Server side: the gRPC error object to pass to a callback or stream. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const apiErr = err instanceof ApiError ? err : new InternalError(errorMessage(err));
  const metadata = new Metadata();
  metadata.set(STATUS_TRAILER, Buffer.from(Status.encode(toStatus(apiErr)).finish()));
  return { code: apiErr.grpcCode, details: apiErr.message, metadata, name: apiErr.name, message: apiErr.message };
}

/** Client side: the ApiError subclass for a failed call. */
export function fromServiceError(err: ServiceError): ApiError {
  const raw = err.metadata?.get(STATUS_TRAILER)[0];
  if (raw instanceof Buffer) return fromStatus(Status.decode(raw), err.code, err.details);
  const reason = reasonForCode(err.code);
  const message = err.code === GrpcStatus.UNAVAILABLE ? `the server is unavailable: ${err.details}` : err.details || err.message;
  return build(reason, message, []);
}
