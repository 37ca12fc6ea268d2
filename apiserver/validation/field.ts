// Field paths and field errors, shaped like Kubernetes' util/validation/field:
// a cause names the field (`spec.containers[1].ports[0].containerPort`), its
// reason is a CauseType (FieldValueInvalid, ...) and its message is the
// error body Kubernetes prints after the field (`Invalid value: 0: must be
// between 1 and 65535, inclusive`), so users see the words they know.

import type { Cause } from '../../api/errors';

export type CauseReason =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotFound';

/**
 * An immutable field path. The text is built only when asked for (a cause
 * is reported): validation walks every field of every request, and almost
 * all of them are valid, so paths are a parent link and a step, not strings.
 */
export class Path {
  private text: string | undefined;
  private constructor(
    private readonly parent: Path | undefined,
    /** ".name" (or "name" at the root), "[3]" or "[key]". */
    private readonly step: string,
  ) {}

  static root(...names: string[]): Path {
    const p = new Path(undefined, names.join('.'));
    p.text = p.step;
    return p;
  }

  child(...names: string[]): Path {
    return new Path(this, names.length === 1 ? names[0]! : names.join('.'));
  }

  index(i: number): Path {
    return new Path(this, `[${i}]`);
  }

  key(k: string): Path {
    return new Path(this, `[${k}]`);
  }

  toString(): string {
    if (this.text === undefined) {
      const head = this.parent!.toString();
      this.text = this.step.startsWith('[') ? `${head}${this.step}` : head === '' ? this.step : `${head}.${this.step}`;
    }
    return this.text;
  }
}

/** How Kubernetes prints a bad value: strings quoted, numbers bare, the rest as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function cause(path: Path, reason: CauseReason, message: string): Cause {
  return { field: path.toString(), reason, message };
}

function withDetail(head: string, detail: string): string {
  return detail ? `${head}: ${detail}` : head;
}

export function invalid(path: Path, value: unknown, detail: string): Cause {
  return cause(path, 'FieldValueInvalid', withDetail(`Invalid value: ${formatValue(value)}`, detail));
}

export function required(path: Path, detail = ''): Cause {
  return cause(path, 'FieldValueRequired', withDetail('Required value', detail));
}

export function duplicate(path: Path, value: unknown): Cause {
  return cause(path, 'FieldValueDuplicate', `Duplicate value: ${formatValue(value)}`);
}

export function duplicateWithDetail(path: Path, value: unknown, detail: string): Cause {
  return cause(path, 'FieldValueDuplicate', withDetail(`Duplicate value: ${formatValue(value)}`, detail));
}

export function notSupported(path: Path, value: unknown, supported: readonly string[]): Cause {
  const detail = supported.length > 0 ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : '';
  return cause(path, 'FieldValueNotSupported', withDetail(`Unsupported value: ${formatValue(value)}`, detail));
}

export function forbidden(path: Path, detail: string): Cause {
  return cause(path, 'FieldValueForbidden', withDetail('Forbidden', detail));
}

export function tooLong(path: Path, maxBytes: number): Cause {
  return cause(path, 'FieldValueTooLong', `Too long: must have at most ${maxBytes} bytes`);
}

/** Kubernetes' field.TooMany: a list with more than `max` items. */
export function tooMany(path: Path, actual: number, max: number): Cause {
  return cause(path, 'FieldValueTooMany', `Too many: ${actual}: must have at most ${max} items`);
}

export function notFound(path: Path, value: unknown): Cause {
  return cause(path, 'FieldValueNotFound', `Not found: ${formatValue(value)}`);
}

/** Each message of a string validator as an Invalid cause. */
export function invalidEach(path: Path, value: unknown, messages: readonly string[]): Cause[] {
  return messages.map((m) => invalid(path, value, m));
}
