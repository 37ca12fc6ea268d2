// Kubernetes resource quantities ("100m", "0.5", "128Mi", "1e3", "2G").
//
// The grammar and the numbers are those of k8s.io/apimachinery's
// resource.ParseQuantity:
//
//   quantity        ::= signedNumber suffix
//   signedNumber    ::= number | sign number
//   number          ::= digits | digits "." digits | digits "." | "." digits
//   suffix          ::= binarySI | decimalExponent | decimalSI
//   binarySI        ::= Ki | Mi | Gi | Ti | Pi | Ei
//   decimalSI       ::= n | u | m | "" | k | M | G | T | P | E
//   decimalExponent ::= ("e" | "E") signedInteger
//
// A value is kept exactly as a count of nano-units (bigint), rounded up (away
// from zero) when the input is finer than 1n, as Kubernetes does "so that a
// request for some resource gets some". The suffix family the user wrote
// decides the canonical String() form (1536Mi, 1500m, 1e3), as in Kubernetes.

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** Kubernetes' resource.ErrFormatWrong. */
export const ERR_FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/** Kubernetes' resource.ErrNumeric. */
export const ERR_NUMERIC = 'unable to parse numeric part of quantity';
/** Kubernetes' resource.ErrSuffix. */
export const ERR_SUFFIX = "unable to parse quantity's suffix";

export class QuantityParseError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'QuantityParseError';
  }
}

const NANO = 1_000_000_000n;
/** Kubernetes caps binary quantities at the largest int64. */
const MAX_INT64 = 9223372036854775807n;
/** Larger decimal exponents would build huge numbers for nothing; no resource is that big. */
const MAX_DECIMAL_EXPONENT = 1000;

interface Suffix {
  readonly base: 2 | 10;
  readonly exponent: number;
  readonly format: QuantityFormat;
}

const DECIMAL_SI: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SI: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX_BY_EXPONENT = new Map(Object.entries(DECIMAL_SI).map(([s, e]) => [e, s]));
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

function interpretSuffix(suffix: string): Suffix | undefined {
  const dec = DECIMAL_SI[suffix];
  if (dec !== undefined && Object.prototype.hasOwnProperty.call(DECIMAL_SI, suffix)) {
    return { base: 10, exponent: dec, format: 'DecimalSI' };
  }
  const bin = BINARY_SI[suffix];
  if (bin !== undefined && Object.prototype.hasOwnProperty.call(BINARY_SI, suffix)) {
    return { base: 2, exponent: bin, format: 'BinarySI' };
  }
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const rest = suffix.slice(1);
    if (!/^[+-]?[0-9]+$/.test(rest)) return undefined;
    const e = Number(rest);
    // Kubernetes reads the exponent as an int32.
    if (!Number.isSafeInteger(e) || e > 2147483647 || e < -2147483648) return undefined;
    return { base: 10, exponent: e, format: 'DecimalExponent' };
  }
  return undefined;
}

interface Split {
  readonly positive: boolean;
  /** Integer digits without leading zeros ("0" when none). */
  readonly num: string;
  readonly denom: string;
  readonly suffix: string;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Splits like Kubernetes' parseQuantityString, including its leniency ("1.", ".5", "+"). */
function splitQuantity(str: string): Split {
  let pos = 0;
  const end = str.length;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  const numStart = pos;
  while (pos < end && isDigit(str[pos])) pos++;
  const num = str.slice(numStart, pos) || '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    const denomStart = pos;
    while (pos < end && isDigit(str[pos])) pos++;
    denom = str.slice(denomStart, pos);
  }
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos]!)) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) throw new QuantityParseError(str, ERR_FORMAT_WRONG);
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

/** a / b for positive b, rounded away from zero. */
function divAway(a: bigint, b: bigint): bigint {
  const q = a / b;
  if (q * b === a) return q;
  return a < 0n ? q - 1n : q + 1n;
}

/** An exact resource quantity. Immutable. */
export class Quantity {
  private constructor(
    /** The value in nano-units (1e-9). */
    readonly nanos: bigint,
    readonly format: QuantityFormat,
  ) {}

  static fromNanos(nanos: bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(nanos, format);
  }

  /** A quantity of n thousandths (cpu millicores). */
  static fromMilli(milli: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(milli) * 1_000_000n, format);
  }

  /** A quantity of n units (bytes: pass 'BinarySI' to print 128Mi). */
  static fromValue(value: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(value) * NANO, format);
  }

  static zero(): Quantity {
    return new Quantity(0n, 'DecimalSI');
  }

  /** The value in units rounded up away from zero, like Kubernetes' Value(). */
  value(): number {
    return Number(divAway(this.nanos, NANO));
  }

  /** The value in thousandths rounded up away from zero, like MilliValue(). */
  milliValue(): number {
    return Number(divAway(this.nanos, 1_000_000n));
  }

  /** Exact value in units as bigint, rounded up away from zero. */
  bigValue(): bigint {
    return divAway(this.nanos, NANO);
  }

  sign(): -1 | 0 | 1 {
    return this.nanos < 0n ? -1 : this.nanos > 0n ? 1 : 0;
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than other. */
  cmp(other: Quantity): -1 | 0 | 1 {
    return this.nanos < other.nanos ? -1 : this.nanos > other.nanos ? 1 : 0;
  }

  equals(other: Quantity): boolean {
    return this.nanos === other.nanos;
  }

  /** The sum, in this quantity's format (the other's when this is zero). */
  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, this.nanos === 0n ? other.format : this.format);
  }

  sub(other: Quantity): Quantity {
    return new Quantity(this.nanos - other.nanos, this.nanos === 0n ? other.format : this.format);
  }

  neg(): Quantity {
    return new Quantity(-this.nanos, this.format);
  }

  /** The canonical form, as Kubernetes' Quantity.String(). */
  toString(): string {
    if (this.nanos === 0n) return '0';
    let format = this.format;
    if (format === 'BinarySI') {
      // Small or fractional binary values print as decimal rather than round.
      const small = this.nanos > -1024n * NANO && this.nanos < 1024n * NANO;
      if (small || this.nanos % NANO !== 0n) format = 'DecimalSI';
    }
    if (format === 'BinarySI') return binaryString(this.nanos / NANO);
    return decimalString(this.nanos, format);
  }

  toJSON(): string {
    return this.toString();
  }
}

function binaryString(bytes: bigint): string {
  let n = bytes;
  let exp = 0;
  while (exp < BINARY_SUFFIXES.length - 1 && n % 1024n === 0n) {
    n /= 1024n;
    exp++;
  }
  return `${n}${BINARY_SUFFIXES[exp]}`;
}

function decimalString(nanos: bigint, format: QuantityFormat): string {
  let mantissa = nanos;
  let exp = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exp++;
  }
  // Kubernetes prints exponents that are multiples of 3 (1500m, not 15e-1).
  const r = ((exp % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(r);
  exp -= r;
  if (format === 'DecimalExponent') return exp === 0 ? `${mantissa}` : `${mantissa}e${exp}`;
  if (exp > 18) {
    mantissa *= 10n ** BigInt(exp - 18);
    exp = 18;
  }
  return `${mantissa}${DECIMAL_SUFFIX_BY_EXPONENT.get(exp) ?? ''}`;
}

/**
 * Parses a quantity exactly as Kubernetes accepts it. Throws
 * QuantityParseError with Kubernetes' message for a malformed quantity.
 */
export function parseQuantity(input: string): Quantity {
  if (input.length === 0) throw new QuantityParseError(input, ERR_FORMAT_WRONG);
  const split = splitQuantity(input);
  const suffix = interpretSuffix(split.suffix);
  if (!suffix) throw new QuantityParseError(input, ERR_SUFFIX);
  let format = suffix.format;
  // value = digits * 10^pow10 * 2^pow2
  let digits = BigInt(split.num + split.denom);
  let pow10 = -split.denom.length;
  if (suffix.base === 10) {
    pow10 += suffix.exponent;
  } else {
    digits <<= BigInt(suffix.exponent);
  }
  const shift = pow10 + 9;
  if (shift > MAX_DECIMAL_EXPONENT) throw new QuantityParseError(input, ERR_NUMERIC);
  let nanos = shift >= 0 ? digits * 10n ** BigInt(shift) : divAway(digits, 10n ** BigInt(-shift));
  if (format === 'BinarySI') {
    if (nanos > MAX_INT64 * NANO) nanos = MAX_INT64 * NANO;
    if (nanos > 0n && nanos < NANO) format = 'DecimalSI';
  }
  return Quantity.fromNanos(split.positive ? nanos : -nanos, format);
}

/** Kubernetes' message for an invalid quantity, or undefined when it parses. */
export function quantityError(input: string): string | undefined {
  try {
    parseQuantity(input);
    return undefined;
  } catch (err) {
    if (err instanceof QuantityParseError) return err.reason;
    throw err;
  }
}

/** Parses, or returns undefined for an invalid quantity. */
export function tryParseQuantity(input: string): Quantity | undefined {
  try {
    return parseQuantity(input);
  } catch (err) {
    if (err instanceof QuantityParseError) return undefined;
    throw err;
  }
}
