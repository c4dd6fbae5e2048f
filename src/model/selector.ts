/**
 * Kubernetes label selectors: the string syntax `kubectl get -l` and `?labelSelector=` accept,
 * parsed and matched as k8s.io/apimachinery/pkg/labels does (selector.go: Lexer, Parser,
 * Requirement.Matches), and the equality selector of a Service.
 *
 *     <selector>    ::= "" | <requirement> { "," <requirement> }
 *     <requirement> ::= ["!"] KEY | KEY ("=" | "==" | "!=") VALUE | KEY ("in" | "notin") "(" VALUES ")"
 *                     | KEY (">" | "<") INTEGER
 *
 * Whitespace (space, tab, CR, LF) separates tokens and is otherwise ignored. `in` and `notin`
 * are keywords only where an operator is expected, so `in=notin` is a valid requirement.
 */

import { compareStrings, quote } from './text.ts';

/** Operators, named as `selection.Operator`; `==` parses to `Equals`. */
export const Operator = {
  Equals: '=',
  NotEquals: '!=',
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
  GreaterThan: 'gt',
  LessThan: 'lt',
} as const;
export type Operator = (typeof Operator)[keyof typeof Operator];

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  /**
   * Sorted, without duplicates. One value for `=`, `!=`, `gt` and `lt`; at least one for `in`
   * and `notin` (`in ()` is `in ("")`, as Kubernetes parses it); none for `exists` and `!`.
   */
  readonly values: readonly string[];
}

/**
 * A parsed selector: requirements ANDed, sorted by key, then by their rendering. No
 * requirements selects everything. `Nothing` selects nothing: a Service without a selector.
 */
export type Selector =
  | { readonly kind: 'Requirements'; readonly requirements: readonly Requirement[] }
  | { readonly kind: 'Nothing' };

/** Selects every set of labels: what the empty string parses to. */
export const Everything: Selector = Object.freeze({ kind: 'Requirements', requirements: Object.freeze([]) });

/** Selects no labels at all; parseSelector never returns it. */
export const Nothing: Selector = Object.freeze({ kind: 'Nothing' });

/** What `selectorToString` renders `Nothing` as, like `kubectl describe`: not parseable. */
export const NothingString = '<none>';

/** Label keys and values Kubernetes accepts: name parts and values at most 63 characters. */
export const MaxLabelNameLength = 63;
export const MaxLabelValueLength = 63;
/** DNS-1123 subdomain prefix of a label key, at most 253 characters. */
export const MaxLabelPrefixLength = 253;

/**
 * A selector string that does not parse. The message says what was expected, where (a 0-based
 * offset into the string) and what arrived, e.g.
 * `labelSelector: expected "(" after "in" at position 7, got "a"`.
 */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  /** What the parser needed, e.g. `"(" after "in"`. */
  readonly expected: string;
  /** What arrived, quoted, or `end of string`. */
  readonly got: string;
  /** 0-based offset (UTF-16 code units) of what arrived. */
  readonly position: number;

  constructor(expected: string, got: string, position: number) {
    super(`labelSelector: expected ${expected} at position ${position}, got ${got}`);
    this.expected = expected;
    this.got = got;
    this.position = position;
  }
}

/**
 * Parses a label selector as Kubernetes does, validating keys (optional DNS subdomain prefix
 * and "/", then a name of at most 63 characters of A-Z, a-z, 0-9, "-", "_", "." that begins and
 * ends with an alphanumeric) and values (the same, possibly empty). `>` and `<` take an
 * integer, as in Kubernetes. The empty or all-whitespace string is `Everything`. The result is
 * frozen.
 *
 * @throws SelectorError for anything Kubernetes would reject.
 */
export function parseSelector(s: string): Selector {
  return new Parser(s).parse();
}

/**
 * Whether `labels` satisfy every requirement. As Kubernetes: `!=` and `notin` match when the
 * key is absent; `gt` and `lt` never match an absent key or a value that is not an integer.
 */
export function matches(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  if (selector.kind === 'Nothing') return false;
  return selector.requirements.every((r) => requirementMatches(r, labels));
}

/** Whether two label sets are equal (null: no object, equal only to null). */
export function sameLabels(a: Readonly<Record<string, string>> | null, b: Readonly<Record<string, string>> | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * A Service's equality selector (`spec.selector`). `null` (a selectorless Service) and `{}` both
 * give `Nothing`: the EndpointSlice controller skips Services without a selector, and the API
 * server stores an empty selector as none (protobuf drops empty maps), so selecting every pod
 * in the namespace would be wrong. Keys and values are taken as validated by the API server.
 */
export function selectorFromMap(map: Readonly<Record<string, string>> | null): Selector {
  if (map === null) return Nothing;
  const keys = Object.keys(map).sort(compareStrings);
  if (keys.length === 0) return Nothing;
  return Object.freeze({
    kind: 'Requirements',
    requirements: Object.freeze(
      keys.map((key) => Object.freeze({ key, operator: Operator.Equals, values: Object.freeze([map[key]!]) })),
    ),
  });
}

/**
 * The canonical string: requirements sorted by key (then by rendering), values sorted, `==`
 * written `=`, no whitespace except around `in` and `notin`, e.g. `!canary,app=web,tier in (a,b)`.
 * `parseSelector(selectorToString(s))` equals `s`; `Everything` is `""`, `Nothing` is `<none>`.
 */
export function selectorToString(selector: Selector): string {
  if (selector.kind === 'Nothing') return NothingString;
  return [...selector.requirements].sort(byKeyThenText).map(requirementToString).join(',');
}

// Private:

const Token = {
  Identifier: 'Identifier',
  In: 'In',
  NotIn: 'NotIn',
  Equals: 'Equals',
  DoubleEquals: 'DoubleEquals',
  NotEquals: 'NotEquals',
  DoesNotExist: 'DoesNotExist',
  GreaterThan: 'GreaterThan',
  LessThan: 'LessThan',
  OpenPar: 'OpenPar',
  ClosedPar: 'ClosedPar',
  Comma: 'Comma',
  End: 'End',
} as const;
type TokenType = (typeof Token)[keyof typeof Token];

interface Lexeme {
  readonly type: TokenType;
  readonly text: string;
  readonly position: number;
}

// Maps, not object literals: an identifier such as "constructor" must not find a prototype member.
const symbols: ReadonlyMap<string, TokenType> = new Map([
  ['==', Token.DoubleEquals],
  ['!=', Token.NotEquals],
  ['=', Token.Equals],
  ['!', Token.DoesNotExist],
  ['>', Token.GreaterThan],
  ['<', Token.LessThan],
  ['(', Token.OpenPar],
  [')', Token.ClosedPar],
  [',', Token.Comma],
]);

const keywords: ReadonlyMap<string, TokenType> = new Map([
  ['in', Token.In],
  ['notin', Token.NotIn],
]);

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecial(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

/**
 * Kubernetes' Lexer: special symbols by longest match (so "===" is "==" then "="); any other run
 * of characters up to whitespace or a special symbol is a keyword (`in`, `notin`) or an identifier.
 */
function lex(s: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  while (true) {
    while (i < s.length && isWhitespace(s[i]!)) i++;
    if (i >= s.length) {
      out.push({ type: Token.End, text: '', position: s.length });
      return out;
    }
    const start = i;
    if (isSpecial(s[i]!)) {
      const two = s.slice(i, i + 2);
      const text = symbols.has(two) ? two : s[i]!;
      out.push({ type: symbols.get(text)!, text, position: start });
      i += text.length;
      continue;
    }
    while (i < s.length && !isSpecial(s[i]!) && !isWhitespace(s[i]!)) i++;
    const text = s.slice(start, i);
    out.push({ type: keywords.get(text) ?? Token.Identifier, text, position: start });
  }
}

/** The operators that take values: all but `exists` and `!`. */
type BinaryOperator = Exclude<Operator, typeof Operator.Exists | typeof Operator.DoesNotExist>;

const operatorTokens: Readonly<Partial<Record<TokenType, BinaryOperator>>> = {
  [Token.Equals]: Operator.Equals,
  [Token.DoubleEquals]: Operator.Equals,
  [Token.NotEquals]: Operator.NotEquals,
  [Token.In]: Operator.In,
  [Token.NotIn]: Operator.NotIn,
  [Token.GreaterThan]: Operator.GreaterThan,
  [Token.LessThan]: Operator.LessThan,
};

/** Kubernetes' Parser, with the same grammar and lookahead; errors say expected and got. */
class Parser {
  readonly tokens: Lexeme[];
  position = 0;

  constructor(s: string) {
    this.tokens = lex(s);
  }

  parse(): Selector {
    const requirements: Requirement[] = [];
    let next = this.lookahead(true);
    if (next.type === Token.End) return Everything;
    while (true) {
      if (next.type !== Token.Identifier && next.type !== Token.DoesNotExist) {
        throw fail(requirements.length === 0 ? '"!" or a label key' : '"!" or a label key after ","', next);
      }
      requirements.push(this.parseRequirement());
      const after = this.consume(true);
      if (after.type === Token.End) break;
      if (after.type !== Token.Comma) throw fail('"," or end of string', after);
      next = this.lookahead(true);
    }
    // Sorted by key, as labels.Parse does "to grant deterministic parsing", then by rendering
    // so that one key's requirements come out in one order too.
    requirements.sort(byKeyThenText);
    return Object.freeze({ kind: 'Requirements', requirements: Object.freeze(requirements) });
  }

  parseRequirement(): Requirement {
    let token = this.consume(true);
    const negated = token.type === Token.DoesNotExist;
    if (negated) {
      token = this.consume(true);
      if (token.type !== Token.Identifier) throw fail('a label key after "!"', token);
    }
    validateKey(token);
    const key = token.text;
    const next = this.lookahead(true);
    if (negated) return requirement(key, Operator.DoesNotExist, []);
    if (next.type === Token.End || next.type === Token.Comma) return requirement(key, Operator.Exists, []);

    const opToken = this.consume(false);
    const operator = operatorTokens[opToken.type];
    if (operator === undefined) {
      throw fail(`"=", "==", "!=", "in", "notin", ">", "<", "," or end of string after ${quote(key)}`, opToken);
    }
    switch (operator) {
      case Operator.In:
      case Operator.NotIn:
        return requirement(key, operator, this.parseValues(opToken));
      case Operator.GreaterThan:
      case Operator.LessThan:
        return requirement(key, operator, [this.parseInteger(opToken)]);
      case Operator.Equals:
      case Operator.NotEquals:
        return requirement(key, operator, [this.parseExactValue(opToken)]);
      default:
        return unreachable(operator);
    }
  }

  /** `( v1, v2 )`. As Kubernetes: empty entries are the empty value, so `()` and `(,a)` contain "". */
  parseValues(op: Lexeme): string[] {
    const open = this.consume(true);
    if (open.type !== Token.OpenPar) throw fail(`"(" after ${quote(op.text)}`, open);
    const values = new Set<string>();
    const first = this.lookahead(true);
    if (first.type === Token.ClosedPar) {
      this.consume(true);
      return [''];
    }
    if (first.type !== Token.Identifier && first.type !== Token.Comma) throw fail('a value, "," or ")"', first);
    while (true) {
      const token = this.consume(true);
      if (token.type === Token.Identifier) {
        validateValue(token);
        values.add(token.text);
        const next = this.lookahead(true);
        if (next.type === Token.ClosedPar) break;
        if (next.type !== Token.Comma) throw fail('"," or ")"', next);
      } else if (token.type === Token.Comma) {
        if (values.size === 0) values.add(''); // "(,"
        const next = this.lookahead(true);
        if (next.type === Token.ClosedPar) {
          values.add(''); // ",)"
          break;
        }
        if (next.type === Token.Comma) {
          this.consume(true);
          values.add(''); // ",,"
        }
      } else {
        throw fail('a value, "," or ")"', token);
      }
    }
    this.consume(true); // the ")" seen by lookahead
    return [...values];
  }

  /** The value after `=`, `==` or `!=`; empty when a "," or the end follows. */
  parseExactValue(op: Lexeme): string {
    const next = this.lookahead(true);
    if (next.type === Token.End || next.type === Token.Comma) return '';
    const token = this.consume(true);
    if (token.type !== Token.Identifier) throw fail(`a value after ${quote(op.text)}`, token);
    validateValue(token);
    return token.text;
  }

  /** The value after `>` or `<`: a label value that is a 64-bit integer. */
  parseInteger(op: Lexeme): string {
    const token = this.consume(true);
    if (token.type !== Token.Identifier || !isInt64(token.text)) {
      throw fail(`an integer after ${quote(op.text)}`, token);
    }
    validateValue(token);
    return token.text;
  }

  /** In a value position ("values" context) the keywords `in` and `notin` are identifiers. */
  lookahead(values: boolean): Lexeme {
    const token = this.tokens[this.position]!;
    const keyword = token.type === Token.In || token.type === Token.NotIn;
    return values && keyword ? { ...token, type: Token.Identifier } : token;
  }

  consume(values: boolean): Lexeme {
    const token = this.lookahead(values);
    if (token.type !== Token.End) this.position++;
    return token;
  }
}

function requirement(key: string, operator: Operator, values: readonly string[]): Requirement {
  return Object.freeze({ key, operator, values: Object.freeze([...new Set(values)].sort(compareStrings)) });
}

const nameRe = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const prefixChars = 'a-z, 0-9, "-" and "." beginning and ending with an alphanumeric';
const nameChars = 'A-Z, a-z, 0-9, "-", "_" and "." beginning and ending with an alphanumeric';

/** validation.IsQualifiedName: `[prefix/]name`. */
function validateKey(token: Lexeme): void {
  const parts = token.text.split('/');
  if (parts.length > 2) throw fail('a label key with at most one "/"', token);
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') throw fail('a DNS subdomain prefix before "/" in a label key', token);
    if (prefix.length > MaxLabelPrefixLength) {
      throw fail(`a label key prefix of at most ${MaxLabelPrefixLength} characters`, token);
    }
    if (!dns1123SubdomainRe.test(prefix)) {
      throw fail(`a label key prefix that is a DNS subdomain (${prefixChars})`, token);
    }
    if (name === '') throw fail('a label name after "/"', token);
  }
  if (name.length > MaxLabelNameLength) throw fail(`a label name of at most ${MaxLabelNameLength} characters`, token);
  if (!nameRe.test(name)) throw fail(`a label key of ${nameChars}`, token);
}

/** validation.IsValidLabelValue: empty, or a name of at most 63 characters. */
function validateValue(token: Lexeme): void {
  if (token.text.length > MaxLabelValueLength) {
    throw fail(`a label value of at most ${MaxLabelValueLength} characters`, token);
  }
  if (token.text !== '' && !nameRe.test(token.text)) throw fail(`a label value of ${nameChars}`, token);
}

const maxInt64 = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64), restricted to what a label value can hold (no sign). */
function isInt64(s: string): boolean {
  return /^[0-9]+$/.test(s) && BigInt(s) <= maxInt64;
}

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key]! : '';
  switch (r.operator) {
    case Operator.Equals:
    case Operator.In:
      return has && r.values.includes(value);
    case Operator.NotEquals:
    case Operator.NotIn:
      return !has || !r.values.includes(value);
    case Operator.Exists:
      return has;
    case Operator.DoesNotExist:
      return !has;
    case Operator.GreaterThan:
    case Operator.LessThan: {
      if (!has || !isInt64(value) || r.values.length !== 1 || !isInt64(r.values[0]!)) return false;
      const have = BigInt(value);
      const want = BigInt(r.values[0]!);
      return r.operator === Operator.GreaterThan ? have > want : have < want;
    }
    default:
      return unreachable(r.operator);
  }
}

/** Requirement.String(), with `==` written `=`. */
function requirementToString(r: Requirement): string {
  switch (r.operator) {
    case Operator.Exists:
      return r.key;
    case Operator.DoesNotExist:
      return `!${r.key}`;
    case Operator.Equals:
    case Operator.NotEquals:
      return `${r.key}${r.operator}${r.values[0] ?? ''}`;
    case Operator.GreaterThan:
      return `${r.key}>${r.values[0] ?? ''}`;
    case Operator.LessThan:
      return `${r.key}<${r.values[0] ?? ''}`;
    case Operator.In:
    case Operator.NotIn:
      return `${r.key} ${r.operator} (${[...r.values].sort(compareStrings).join(',')})`;
    default:
      return unreachable(r.operator);
  }
}

function byKeyThenText(a: Requirement, b: Requirement): number {
  return compareStrings(a.key, b.key) || compareStrings(requirementToString(a), requirementToString(b));
}

function fail(expected: string, got: Lexeme): SelectorError {
  return new SelectorError(expected, got.type === Token.End ? 'end of string' : quote(got.text), got.position);
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
