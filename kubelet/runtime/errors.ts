// Errors of the container side of the runtime. Callers tell them apart with
// instanceof; messages name the container, sandbox or step they are about.

/** Base class of every error the runtime raises on purpose. */
export class RuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No container or sandbox with that ID (or name, for the CLI). */
export class NotFoundError extends RuntimeError {
  constructor(
    readonly kind: 'container' | 'sandbox',
    readonly id: string,
  ) {
    super(`${kind} "${id}" not found`);
  }
}

/** The operation does not fit the object's state (start of a running container...). */
export class InvalidStateError extends RuntimeError {}

/** A setup step failed; the message names the step or syscall ("pivot_root: Invalid argument"). */
export class SetupError extends RuntimeError {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`${step}: ${detail}`);
  }
}
