// Kubernetes label selectors and the name rules labels are built on.
//
// The syntax and the matching rules are those of k8s.io/apimachinery's
// labels.Parse, so a selector a user already passes to kubectl (-l) selects
// the same objects here:
//
//   selector    ::= requirement | requirement "," selector
//   requirement ::= [!] KEY [ ("in" | "notin") "(" VALUES ")" | ("=" | "==" | "!=") VALUE | (">" | "<") INTEGER ]
//
// Whitespace separates tokens; "in" and "notin" are keywords only where an
// operator is expected, so `x in (in)` is valid. An empty selector selects
// everything. Requirements are kept sorted by key (deterministic String()).
//
// The DNS-1123/DNS-1035 name checks live here too because label keys are made
// of them, and the API server's validation reuses them for object names.

/** The operators of a requirement, spelled as Kubernetes' selection.Operator. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted, without duplicates; empty for exists and !. */
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>>;

/** A label selector string that does not parse or names an invalid key/value. */
export class SelectorParseError extends Error {
  constructor(
    readonly selector: string,
    readonly detail: string,
  ) {
    super(`unable to parse label selector "${selector}": ${detail}`);
    this.name = 'SelectorParseError';
  }
}

// ---------------------------------------------------------------- name rules

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME})?`;

const dns1123LabelRe = new RegExp(`^${DNS1123_LABEL}$`);
const dns1123SubdomainRe = new RegExp(`^${DNS1123_SUBDOMAIN}$`);
const dns1035LabelRe = new RegExp(`^${DNS1035_LABEL}$`);
const qualifiedNameRe = new RegExp(`^${QUALIFIED_NAME}$`);
const labelValueRe = new RegExp(`^${LABEL_VALUE}$`);

export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
export const DNS1035_LABEL_MAX_LENGTH = 63;
export const LABEL_VALUE_MAX_LENGTH = 63;
const QUALIFIED_NAME_MAX_LENGTH = 63;

/** Kubernetes' validation.MaxLenError. */
export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** Kubernetes' validation.RegexError: the message, examples and the regex. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  const eg = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${eg}regex used for validation is '${fmt}')`;
}

/** Problems with value as a DNS-1123 label (a namespace name); [] when valid. */
export function isDNS1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!dns1123LabelRe.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL,
        'my-name',
        '123-abc',
      ),
    );
  }
  return errs;
}

/** Problems with value as a DNS-1123 subdomain (a pod name); [] when valid. */
export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!dns1123SubdomainRe.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        'example.com',
      ),
    );
  }
  return errs;
}

/** Problems with value as a DNS-1035 label (a service name); [] when valid. */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1035_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1035_LABEL_MAX_LENGTH));
  if (!dns1035LabelRe.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL,
        'my-name',
        'abc-123',
      ),
    );
  }
  return errs;
}

const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/**
 * Problems with value as a qualified name: an optional DNS-1123 subdomain
 * prefix and "/", then a name of at most 63 characters. Label keys,
 * annotation keys, finalizers and resource names are qualified names.
 */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const msg of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_MAX_LENGTH) errs.push(`name part ${maxLenError(QUALIFIED_NAME_MAX_LENGTH)}`);
  if (!qualifiedNameRe.test(name)) {
    errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

/** Problems with key as a label key; [] when valid. */
export function validateLabelKey(key: string): string[] {
  return isQualifiedName(key);
}

/** Problems with value as a label value (may be empty); [] when valid. */
export function validateLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX_LENGTH) errs.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!labelValueRe.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  }
  return errs;
}

// ---------------------------------------------------------------- selector

function hasLabel(labels: Labels | undefined, key: string): boolean {
  return labels !== undefined && Object.prototype.hasOwnProperty.call(labels, key);
}

const INTEGER_RE = /^[+-]?[0-9]+$/;

function parseInteger(s: string): bigint | undefined {
  if (!INTEGER_RE.test(s)) return undefined;
  const v = BigInt(s);
  // Kubernetes parses with ParseInt(.., 64): outside int64 is not a number.
  if (v > 9223372036854775807n || v < -9223372036854775808n) return undefined;
  return v;
}

/** Whether one requirement holds for a label set, as Kubernetes' Requirement.Matches. */
export function requirementMatches(r: Requirement, labels: Labels | undefined): boolean {
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return hasLabel(labels, r.key) && r.values.includes(labels![r.key]!);
    case '!=':
    case 'notin':
      return !hasLabel(labels, r.key) || !r.values.includes(labels![r.key]!);
    case 'exists':
      return hasLabel(labels, r.key);
    case '!':
      return !hasLabel(labels, r.key);
    case 'gt':
    case 'lt': {
      if (!hasLabel(labels, r.key)) return false;
      const have = parseInteger(labels![r.key]!);
      const want = r.values.length === 1 ? parseInteger(r.values[0]!) : undefined;
      if (have === undefined || want === undefined) return false;
      return r.operator === 'gt' ? have > want : have < want;
    }
  }
}

function requirementString(r: Requirement): string {
  const values = r.values.join(',');
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

/** An AND of requirements. Immutable. */
export class LabelSelector {
  readonly requirements: readonly Requirement[];

  constructor(requirements: readonly Requirement[]) {
    this.requirements = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Whether every requirement holds for labels (undefined: no labels). */
  matches(labels: Labels | undefined): boolean {
    for (const r of this.requirements) if (!requirementMatches(r, labels)) return false;
    return true;
  }

  /** True when the selector does not restrict anything (selects everything). */
  empty(): boolean {
    return this.requirements.length === 0;
  }

  /**
   * The single value key must have for a match (from `key=v`, `key==v` or
   * `key in (v)`), or undefined. Lets a store use an index.
   */
  requiresExactMatch(key: string): string | undefined {
    for (const r of this.requirements) {
      if (r.key !== key) continue;
      if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
      return undefined;
    }
    return undefined;
  }

  /** The canonical form: requirements sorted by key, joined by ",". */
  toString(): string {
    return this.requirements.map(requirementString).join(',');
  }
}

/** The selector that selects everything. */
export function everything(): LabelSelector {
  return new LabelSelector([]);
}

/**
 * The selector matching exactly the given labels (key=value for each), as
 * an RC's selector map means. An empty or undefined map selects everything.
 * No validation, like Kubernetes' SelectorFromSet.
 */
export function selectorFromSet(set: Labels | undefined): LabelSelector {
  return new LabelSelector(Object.entries(set ?? {}).map(([key, value]) => ({ key, operator: '=', values: [value] })));
}

/**
 * Builds one requirement, checking what Kubernetes' NewRequirement checks.
 * Returns the problems instead of throwing so the parser can name them.
 */
export function newRequirement(key: string, operator: LabelOperator, values: readonly string[]): Requirement | string[] {
  const errs: string[] = [];
  for (const msg of validateLabelKey(key)) errs.push(`key "${key}": ${msg}`);
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push("for 'in', 'notin' operators, values set can't be empty");
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push('exact-match compatibility requires one single value');
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push('values set must be empty for exists and does not exist');
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push("for 'Gt', 'Lt' operators, exactly one value is required");
      for (const v of values) {
        if (parseInteger(v) === undefined) errs.push(`value "${v}": for 'Gt', 'Lt' operators, the value must be an integer`);
      }
      break;
  }
  for (const v of values) {
    for (const msg of validateLabelValue(v)) errs.push(`value "${v}" of key "${key}": ${msg}`);
  }
  if (errs.length > 0) return errs;
  const sorted = [...new Set(values)].sort();
  return { key, operator, values: sorted };
}

// ---------------------------------------------------------------- lexer

type Tok = 'end' | 'closePar' | 'comma' | 'not' | 'doubleEquals' | 'equals' | 'gt' | 'ident' | 'in' | 'lt' | 'notEquals' | 'notin' | 'openPar' | 'error';

interface Token {
  readonly tok: Tok;
  readonly lit: string;
  /** 0-based offset in the selector string. */
  readonly pos: number;
}

const SYMBOLS: Readonly<Record<string, Tok>> = {
  ')': 'closePar',
  ',': 'comma',
  '!': 'not',
  '==': 'doubleEquals',
  '=': 'equals',
  '>': 'gt',
  '<': 'lt',
  '!=': 'notEquals',
  '(': 'openPar',
};

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecial(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isWhitespace(s[i]!)) i++;
    if (i >= s.length) {
      out.push({ tok: 'end', lit: '', pos: i });
      return out;
    }
    const start = i;
    if (isSpecial(s[i]!)) {
      // Longest run of special characters that is still an operator ("!=" not "!" "=").
      let best: Tok | undefined;
      let bestLen = 0;
      let buf = '';
      while (i < s.length && isSpecial(s[i]!)) {
        buf += s[i];
        const t = SYMBOLS[buf];
        if (t !== undefined) {
          best = t;
          bestLen = buf.length;
        } else if (best !== undefined) {
          break;
        }
        i++;
      }
      if (best === undefined) {
        out.push({ tok: 'error', lit: buf, pos: start });
        return out;
      }
      i = start + bestLen;
      out.push({ tok: best, lit: s.slice(start, i), pos: start });
      continue;
    }
    while (i < s.length && !isSpecial(s[i]!) && !isWhitespace(s[i]!)) i++;
    const word = s.slice(start, i);
    out.push({ tok: word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'ident', lit: word, pos: start });
  }
}

// ---------------------------------------------------------------- parser

class Parser {
  private readonly tokens: Token[];
  private at = 0;

  constructor(private readonly selector: string) {
    this.tokens = lex(selector);
  }

  private fail(token: Token, what: string): never {
    const found = token.tok === 'end' ? 'end of string' : token.tok === 'error' ? token.lit : `'${token.lit}'`;
    throw new SelectorParseError(this.selector, `found ${found} at position ${token.pos}, expected: ${what}`);
  }

  /** In value position "in" and "notin" are plain identifiers. */
  private peek(values: boolean): Token {
    const t = this.tokens[this.at] ?? this.tokens[this.tokens.length - 1]!;
    if (t.tok === 'error') this.fail(t, 'an operator (=, ==, !=, in, notin, >, <) or !');
    if (values && (t.tok === 'in' || t.tok === 'notin')) return { ...t, tok: 'ident' };
    return t;
  }

  private next(values: boolean): Token {
    const t = this.peek(values);
    if (this.at < this.tokens.length - 1) this.at++;
    return t;
  }

  parse(): Requirement[] {
    const out: Requirement[] = [];
    for (;;) {
      const t = this.peek(true);
      if (t.tok === 'end') return out;
      if (t.tok !== 'ident' && t.tok !== 'not') this.fail(t, '!, identifier, or end of string');
      out.push(this.requirement());
      const sep = this.next(true);
      if (sep.tok === 'end') return out;
      if (sep.tok !== 'comma') this.fail(sep, "',' or end of string");
      const after = this.peek(true);
      if (after.tok !== 'ident' && after.tok !== 'not') this.fail(after, "identifier after ','");
    }
  }

  private requirement(): Requirement {
    const first = this.peek(true);
    let negated = false;
    if (first.tok === 'not') {
      negated = true;
      this.next(true);
    }
    const keyTok = this.next(true);
    if (keyTok.tok !== 'ident') this.fail(keyTok, negated ? "identifier after '!'" : 'identifier');
    const key = keyTok.lit;
    const keyErrs = validateLabelKey(key);
    if (keyErrs.length > 0)
      this.invalid(
        first,
        keyErrs.map((m) => `key "${key}": ${m}`),
      );
    const follow = this.peek(true);
    if (follow.tok === 'end' || follow.tok === 'comma') return this.build(first, key, negated ? '!' : 'exists', []);
    if (negated) this.fail(follow, "',' or end of string after '!" + key + "'");
    const opTok = this.next(false);
    let op: LabelOperator;
    switch (opTok.tok) {
      case 'in':
        op = 'in';
        break;
      case 'notin':
        op = 'notin';
        break;
      case 'equals':
        op = '=';
        break;
      case 'doubleEquals':
        op = '==';
        break;
      case 'notEquals':
        op = '!=';
        break;
      case 'gt':
        op = 'gt';
        break;
      case 'lt':
        op = 'lt';
        break;
      default:
        return this.fail(opTok, 'in, notin, =, ==, !=, >, <');
    }
    const values = op === 'in' || op === 'notin' ? this.valueSet() : this.exactValue();
    return this.build(first, key, op, values);
  }

  private build(at: Token, key: string, op: LabelOperator, values: string[]): Requirement {
    const r = newRequirement(key, op, values);
    if (Array.isArray(r)) this.invalid(at, r);
    return r;
  }

  private invalid(at: Token, errs: string[]): never {
    throw new SelectorParseError(this.selector, `invalid requirement at position ${at.pos}: ${errs.join('; ')}`);
  }

  /** "(" [value {"," value}] ")"; empty items are the empty string, as in Kubernetes. */
  private valueSet(): string[] {
    const open = this.next(true);
    if (open.tok !== 'openPar') this.fail(open, "'('");
    const values = new Set<string>();
    let t = this.peek(true);
    if (t.tok === 'closePar') {
      // "in ()" means the one value "" in Kubernetes.
      this.next(true);
      return [''];
    }
    if (t.tok !== 'ident' && t.tok !== 'comma') this.fail(t, "',', ')' or identifier");
    let expectValue = true;
    for (;;) {
      t = this.next(true);
      if (t.tok === 'ident') {
        if (!expectValue) this.fail(t, "',' or ')'");
        values.add(t.lit);
        expectValue = false;
      } else if (t.tok === 'comma') {
        if (expectValue) values.add('');
        expectValue = true;
      } else if (t.tok === 'closePar') {
        if (expectValue) values.add('');
        return [...values];
      } else {
        this.fail(t, expectValue ? "',', ')' or identifier" : "',' or ')'");
      }
    }
  }

  private exactValue(): string[] {
    const t = this.peek(true);
    if (t.tok === 'end' || t.tok === 'comma') return [''];
    this.next(true);
    if (t.tok !== 'ident') this.fail(t, 'identifier');
    return [t.lit];
  }
}

/**
 * Parses a label selector string (`app=web,tier in (a,b),!canary`).
 * Throws SelectorParseError naming the position and what was expected, or
 * the invalid key/value. The empty string selects everything.
 */
export function parseSelector(selector: string): LabelSelector {
  return new LabelSelector(new Parser(selector).parse());
}

// ------------------------------------------------ metav1.LabelSelector objects

/** The object form of a selector (metav1.LabelSelector), as pods and workloads write it. */
export interface LabelSelectorObject {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key?: string; readonly operator?: string; readonly values?: readonly string[] }[];
}

const OBJECT_OPERATORS: Readonly<Record<string, LabelOperator>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * Kubernetes' metav1.LabelSelectorAsSelector: undefined (a nil selector)
 * selects nothing and is returned as undefined; `{}` selects everything.
 * Throws SelectorParseError on an operator or key the API server's
 * validation would have refused.
 */
export function labelSelectorAsSelector(ls: LabelSelectorObject | undefined): LabelSelector | undefined {
  if (ls === undefined) return undefined;
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key, operator: '=', values: [value] });
  for (const expr of ls.matchExpressions ?? []) {
    const op = OBJECT_OPERATORS[expr.operator ?? ''];
    if (op === undefined) throw new SelectorParseError(JSON.stringify(ls), `"${expr.operator ?? ''}" is not a valid label selector operator`);
    const r = newRequirement(expr.key ?? '', op, [...new Set(expr.values ?? [])].sort());
    if (Array.isArray(r)) throw new SelectorParseError(JSON.stringify(ls), r.join('; '));
    reqs.push(r);
  }
  return new LabelSelector(reqs);
}
