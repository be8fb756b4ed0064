/**
 * A small subset of HashiCorp go-bexpr, the filter language of Nomad's `?filter=`:
 *   Status == "running" and not (JobID != `web` or TaskGroups.web.Promoted == true)
 * Supported: `==`, `!=`, `contains`, `not contains`, `in`, `not in`, `matches`, `not matches`,
 * `is empty`, `is not empty`, `and`, `or`, `not`, parentheses; values as "double" or `back`-quoted
 * strings, numbers, true/false or bare words; selectors as dotted paths (map keys allowed).
 * Parse errors are reported with go-bexpr's `line:col (offset): message` prefix. `matches`
 * patterns are Go (RE2) regular expressions, compiled once when the filter is parsed; like
 * go-bexpr, a pattern that does not compile is an error of the evaluation that reaches it.
 */

export class FilterSyntaxError extends Error {}
/** An error go-bexpr reports while evaluating an expression against an object. */
export class FilterEvalError extends Error {}
/** A selector naming a field that does not exist on the object (go-bexpr errors at evaluation). */
export class FilterFieldError extends FilterEvalError {}

type MatchOp = '==' | '!=' | 'contains' | 'not contains' | 'in' | 'not in' | 'matches' | 'not matches' | 'is empty' | 'is not empty';

export type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'match'; selector: string[]; op: MatchOp; value?: string; regex?: CompiledRegex };

/** A `matches` pattern, compiled when the filter is parsed: the RegExp, or Go's compile error. */
type CompiledRegex = { ok: true; re: RegExp } | { ok: false; error: string };

interface Token {
  type: 'word' | 'string' | 'op' | 'lparen' | 'rparen' | 'eof';
  text: string;
  pos: number;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ type: c === '(' ? 'lparen' : 'rparen', text: c, pos: i });
      i++;
    } else if (c === '=' || c === '!') {
      if (src[i + 1] !== '=') throw syntaxError(src, i, `invalid input "${c}"`);
      tokens.push({ type: 'op', text: `${c}=`, pos: i });
      i += 2;
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === '\\' && j + 1 < src.length) {
          j++;
        }
        text += src[j];
        j++;
      }
      if (j >= src.length) throw syntaxError(src, i, 'unterminated string');
      tokens.push({ type: 'string', text, pos: i });
      i = j + 1;
    } else {
      let j = i;
      while (j < src.length && !/[\s()=!"`]/.test(src[j] as string)) j++;
      tokens.push({ type: 'word', text: src.slice(i, j), pos: i });
      i = j;
    }
  }
  tokens.push({ type: 'eof', text: '', pos: src.length });
  return tokens;
}

function syntaxError(src: string, pos: number, message: string): FilterSyntaxError {
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return new FilterSyntaxError(`${line}:${col} (${pos}): ${message}`);
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Expr {
    const expr = this.parseOr();
    const t = this.peek();
    if (t.type !== 'eof') throw this.fail(t, `unexpected "${t.text}"`);
    return expr;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    this.i++;
    return t;
  }

  private isWord(t: Token, word: string): boolean {
    return t.type === 'word' && t.text === word;
  }

  private fail(t: Token, message: string): FilterSyntaxError {
    return syntaxError(this.src, t.pos, t.type === 'eof' ? 'no match found, unexpected end of input' : message);
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isWord(this.peek(), 'not')) {
      this.next();
      return { kind: 'not', operand: this.parseNot() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    if (t.type === 'lparen') {
      this.next();
      const inner = this.parseOr();
      const close = this.next();
      if (close.type !== 'rparen') throw this.fail(close, `expected ")", found "${close.text}"`);
      return inner;
    }
    // `value in Selector` / `value not in Selector`
    const second = this.peek(1);
    const third = this.peek(2);
    if ((t.type === 'string' || t.type === 'word') && (this.isWord(second, 'in') || (this.isWord(second, 'not') && this.isWord(third, 'in')))) {
      const value = this.next().text;
      const negated = this.isWord(this.next(), 'not');
      if (negated) this.next();
      return { kind: 'match', selector: this.parseSelector(), op: negated ? 'not in' : 'in', value };
    }
    const selector = this.parseSelector();
    const op = this.parseOperator();
    if (op === 'is empty' || op === 'is not empty') return { kind: 'match', selector, op };
    const value = this.parseValue();
    if (op === 'matches' || op === 'not matches') return { kind: 'match', selector, op, value, regex: compileGoRegex(value) };
    return { kind: 'match', selector, op, value };
  }

  private parseSelector(): string[] {
    const t = this.next();
    if (t.type !== 'word' || !/^[A-Za-z_]/.test(t.text)) throw this.fail(t, `expected a selector, found "${t.text}"`);
    const parts = t.text.split('.');
    if (parts.some((p) => p === '')) throw this.fail(t, `invalid selector "${t.text}"`);
    return parts;
  }

  private parseOperator(): MatchOp {
    const t = this.next();
    if (t.type === 'op') return t.text as MatchOp;
    if (this.isWord(t, 'contains') || this.isWord(t, 'matches')) return t.text as MatchOp;
    if (this.isWord(t, 'is')) {
      if (this.isWord(this.peek(), 'not')) {
        this.next();
        this.expectWord('empty');
        return 'is not empty';
      }
      this.expectWord('empty');
      return 'is empty';
    }
    if (this.isWord(t, 'not')) {
      const n = this.next();
      if (this.isWord(n, 'contains') || this.isWord(n, 'matches')) return `not ${n.text}` as MatchOp;
      throw this.fail(n, `expected "contains" or "matches", found "${n.text}"`);
    }
    throw this.fail(t, `no match found, expected: "!=", "==", "contains", "is", "matches", "not" or "in", found "${t.text}"`);
  }

  private expectWord(word: string): void {
    const t = this.next();
    if (!this.isWord(t, word)) throw this.fail(t, `expected "${word}", found "${t.text}"`);
  }

  private parseValue(): string {
    const t = this.next();
    if (t.type === 'string' || (t.type === 'word' && !['and', 'or', 'not'].includes(t.text))) return t.text;
    throw this.fail(t, `expected a value, found "${t.text}"`);
  }
}

/** Go's regexp error codes for the JS RegExp errors that have one. */
const GO_REGEX_ERRORS: [RegExp, string][] = [
  [/Unterminated group/, 'missing closing )'],
  [/Unmatched '\)'/, 'unexpected )'],
  [/Unterminated character class/, 'missing closing ]'],
  [/Nothing to repeat/, 'missing argument to repetition operator'],
];

/**
 * Compiles a Go (RE2) pattern as a JS RegExp. A leading flag group (`(?i)`, `(?s)`, `(?m)`,
 * combined) becomes the RegExp's flags; what RE2 refuses and JS accepts (lookarounds,
 * backreferences) is refused. Errors read like Go's `regexp.Compile` ones, behind go-bexpr's
 * `Failed to compile regular expression "<pattern>": ` prefix.
 */
function compileGoRegex(pattern: string): CompiledRegex {
  const fail = (why: string): CompiledRegex => ({
    ok: false,
    error: `Failed to compile regular expression ${JSON.stringify(pattern)}: error parsing regexp: ${why}`,
  });
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next)) return fail(`invalid escape sequence: \`\\${next}\``);
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
    } else if (ch === '(' && /^\(\?(=|!|<=|<!)/.test(pattern.slice(i))) {
      return fail(`invalid or unsupported Perl syntax: \`${pattern.slice(i, i + 3)}\``);
    }
  }
  const lead = /^\(\?([ims]+)\)/.exec(pattern);
  const flags = lead ? [...new Set(lead[1])].join('') : '';
  try {
    return { ok: true, re: new RegExp(lead ? pattern.slice(lead[0].length) : pattern, flags) };
  } catch (e) {
    const message = (e as Error).message;
    const known = GO_REGEX_ERRORS.find(([js]) => js.test(message));
    const reason = known ? known[1] : (message.split(': ').at(-1) ?? message).toLowerCase();
    return fail(`${reason}: \`${pattern}\``);
  }
}

export function parseFilter(src: string): Expr {
  return new Parser(src, tokenize(src)).parse();
}

const MISSING = Symbol('missing');

/** Follows the selector; a missing top-level field is an error, a missing map key is "missing". */
function resolve(datum: unknown, selector: string[]): unknown {
  let cur: unknown = datum;
  for (let i = 0; i < selector.length; i++) {
    const key = selector[i] as string;
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return MISSING;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) {
      if (i === 0) {
        throw new FilterFieldError(
          `error finding value in datum: /${selector.join('/')} at part 0: couldn't find key: struct field with name "${key}"`,
        );
      }
      return MISSING;
    }
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function equals(actual: unknown, literal: string): boolean {
  if (actual === MISSING || actual === undefined) return false;
  if (actual === null) return literal === '' || literal === 'null';
  if (typeof actual === 'boolean') return String(actual) === literal.toLowerCase();
  if (typeof actual === 'number') return Number(literal) === actual;
  if (typeof actual === 'string') return actual === literal;
  return false;
}

function isEmpty(v: unknown): boolean {
  if (v === MISSING || v === null || v === undefined || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function contains(collection: unknown, literal: string): boolean {
  if (typeof collection === 'string') return collection.includes(literal);
  if (Array.isArray(collection)) return collection.some((v) => equals(v, literal));
  if (collection && typeof collection === 'object') return Object.prototype.hasOwnProperty.call(collection, literal);
  return false;
}

function evaluateMatch(expr: Extract<Expr, { kind: 'match' }>, datum: unknown): boolean {
  const actual = resolve(datum, expr.selector);
  const value = expr.value ?? '';
  switch (expr.op) {
    case '==':
      return equals(actual, value);
    case '!=':
      return !equals(actual, value);
    case 'contains':
    case 'in':
      return contains(actual, value);
    case 'not contains':
    case 'not in':
      return !contains(actual, value);
    case 'matches':
    case 'not matches': {
      if (typeof actual !== 'string') return expr.op === 'not matches';
      const regex = expr.regex ?? compileGoRegex(value);
      if (!regex.ok) throw new FilterEvalError(regex.error);
      const hit = regex.re.test(actual);
      return expr.op === 'matches' ? hit : !hit;
    }
    case 'is empty':
      return isEmpty(actual);
    case 'is not empty':
      return !isEmpty(actual);
  }
}

export function evaluateFilter(expr: Expr, datum: unknown): boolean {
  switch (expr.kind) {
    case 'and':
      return evaluateFilter(expr.left, datum) && evaluateFilter(expr.right, datum);
    case 'or':
      return evaluateFilter(expr.left, datum) || evaluateFilter(expr.right, datum);
    case 'not':
      return !evaluateFilter(expr.operand, datum);
    case 'match':
      return evaluateMatch(expr, datum);
  }
}
