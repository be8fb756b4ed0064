/**
 * CEL `pass`/`fail` expressions (docs/policy.md "Expressions"), on @marcbachmann/cel-js.
 *
 * Three adjustments make the contract's forms work:
 * - `namespace` is a reserved word in CEL, so the parser refuses it as an identifier. Before
 *   parsing, the identifier `namespace` (not a field such as `x.namespace`, not inside a string
 *   or comment) is renamed to a same-length internal name, so positions do not move, and the
 *   internal name is translated back in messages.
 * - `result` is a double and users write `result < 1` or `result == 0`. CEL orders int against
 *   double already; equality and arithmetic between int and double are added as operator
 *   overloads that compare and compute numerically (`result == 0` holds for 0.0).
 * - `matches` runs RE2 (linear time), not JavaScript's RegExp (see MATCHES_ALIAS).
 */
import { Environment } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';
import type { CheckScope, CheckSource } from '../domain/policy.js';
import { estimatedSteps, largestCollection, MAX_COMPREHENSION_DEPTH, MAX_EVALUATION_STEPS, MAX_EXPRESSION_NODES, shapeOf } from './cel-cost.js';
import type { ExpressionShape } from './cel-cost.js';

export type CelProvider = CheckSource['kind'];

export interface CelContext {
  provider: CelProvider;
  scope: CheckScope;
}

export interface CompiledCondition extends CelContext {
  expression: string;
  /** @internal evaluates against already-converted variables; may throw. */
  readonly run: (vars: Record<string, unknown>) => unknown;
  /** @internal size and comprehension nesting, for the cost estimate before each run. */
  readonly shape: ExpressionShape;
}

export type CompileResult =
  | { ok: true; condition: CompiledCondition }
  /** `offset` is the character offset of the problem inside the expression, when known. */
  | { ok: false; error: string; offset?: number };

export type EvaluationResult = { ok: true; value: boolean } | { ok: false; error: string };

/** Same length as `namespace`, so error offsets still point into the user's text. */
const NAMESPACE_ALIAS = '__nspace_';
/**
 * The library's built-in `matches` uses JavaScript's backtracking RegExp, which can run for
 * minutes on a pattern such as `^(a|a)*$`, and cannot be replaced; calls of `.matches(...)` are
 * renamed to this same-length function, which runs RE2 (as the CEL spec says) in linear time.
 */
const MATCHES_ALIAS = '__re2m_';
const ALIASES: [alias: string, name: string][] = [
  [NAMESPACE_ALIAS, 'namespace'],
  [MATCHES_ALIAS, 'matches'],
];

const patterns = new Map<string, RE2JS>();
const PATTERN_CACHE_LIMIT = 500;

/** CEL `matches`: true when `pattern` (RE2 syntax) matches any part of `text`. */
function re2Matches(text: string, pattern: string): boolean {
  let re = patterns.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      throw new Error(`invalid regular expression "${pattern}": ${(e as Error).message}`);
    }
    if (patterns.size >= PATTERN_CACHE_LIMIT) patterns.clear();
    patterns.set(pattern, re);
  }
  return re.matcher(text).find();
}

class PromSample {
  constructor(
    readonly labels: Record<string, string>,
    readonly value: number,
  ) {}
}
class HttpResponse {
  constructor(
    readonly status: bigint,
    readonly body: unknown,
    readonly headers: Record<string, string>,
    readonly ms: number,
  ) {}
}
class NomadCheck {
  constructor(
    readonly name: string,
    readonly status: string,
    readonly mode: string,
    readonly output: string,
  ) {}
}
class AllocInfo {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly node: string,
  ) {}
}

const NUMERIC_OPS: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
};

function baseEnvironment(): Environment {
  const env = new Environment({ homogeneousAggregateLiterals: false, limits: { maxAstNodes: MAX_EXPRESSION_NODES } })
    .registerType('PromSample', { ctor: PromSample, fields: { labels: 'map<string, string>', value: 'double' } })
    .registerType('HttpResponse', {
      ctor: HttpResponse,
      fields: { status: 'int', body: 'dyn', headers: 'map<string, string>', ms: 'double' },
    })
    .registerType('NomadCheck', {
      ctor: NomadCheck,
      fields: { name: 'string', status: 'string', mode: 'string', output: 'string' },
    })
    .registerType('Alloc', { ctor: AllocInfo, fields: { id: 'string', name: 'string', node: 'string' } });
  env.registerFunction(`string.${MATCHES_ALIAS}(string): bool`, re2Matches);
  // Registering `double == int` also provides `int == double` and both `!=` forms.
  env.registerOperator('double == int', (a: number, b: bigint) => a === Number(b));
  for (const [op, f] of Object.entries(NUMERIC_OPS)) {
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => f(a, Number(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => f(Number(a), b));
  }
  return env;
}

/** The CEL variables of a provider and scope, with their CEL types (for docs and messages). */
export function celVariables(ctx: CelContext): Record<string, string> {
  const vars: Record<string, string> = { namespace: 'string', job: 'string', group: 'string' };
  if (ctx.scope === 'allocation') vars.alloc = 'Alloc{id, name, node: string}';
  if (ctx.provider === 'prometheus') {
    vars.result = 'double';
    vars.results = 'list<PromSample{labels: map<string, string>, value: double}>';
  } else if (ctx.provider === 'http') {
    vars.response = 'HttpResponse{status: int, body: dyn, headers: map<string, string>, ms: double}';
  } else {
    vars.checks = 'list<NomadCheck{name, status, mode, output: string}>';
  }
  return vars;
}

let base: Environment | undefined;
const environments = new Map<string, Environment>();

function environmentFor(ctx: CelContext): Environment {
  const key = `${ctx.provider}/${ctx.scope}`;
  let env = environments.get(key);
  if (env) return env;
  base ??= baseEnvironment();
  env = base
    .clone()
    .registerVariable(NAMESPACE_ALIAS, 'string')
    .registerVariable('job', 'string')
    .registerVariable('group', 'string');
  if (ctx.scope === 'allocation') env.registerVariable('alloc', 'Alloc');
  if (ctx.provider === 'prometheus') env.registerVariable('result', 'double').registerVariable('results', 'list<PromSample>');
  else if (ctx.provider === 'http') env.registerVariable('response', 'HttpResponse');
  else env.registerVariable('checks', 'list<NomadCheck>');
  environments.set(key, env);
  return env;
}

const IDENT_START = /[A-Za-z_]/;
const CALL = /\s*\(/y;

/** Whether an argument list starts at `at` (after optional spaces). */
function isCallAt(expr: string, at: number): boolean {
  CALL.lastIndex = at;
  return CALL.test(expr);
}
const IDENT_PART = /[A-Za-z0-9_]/;

/**
 * Renames the identifier `namespace` and the method call `.matches(` to their internal aliases;
 * strings, comments and fields (`x.namespace`, `x.matches`) stay.
 */
export function renameIdentifiers(expr: string): string {
  let out = '';
  let i = 0;
  let lastSignificant = '';
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '/' && expr[i + 1] === '/') {
      const end = expr.indexOf('\n', i);
      const stop = end < 0 ? expr.length : end;
      out += expr.slice(i, stop);
      i = stop;
      continue;
    }
    const str = /^([rRbB]{0,2})("""|'''|"|')/.exec(expr.slice(i));
    if (str && (str[1] === '' || !IDENT_PART.test(expr[i - 1] ?? ''))) {
      const raw = /[rR]/.test(str[1] as string);
      const quote = str[2] as string;
      let j = i + str[0].length;
      while (j < expr.length && !expr.startsWith(quote, j)) j += !raw && expr[j] === '\\' ? 2 : 1;
      j = Math.min(expr.length, j + quote.length);
      out += expr.slice(i, j);
      i = j;
      lastSignificant = quote;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < expr.length && /[0-9A-Za-z_.]/.test(expr[j] as string)) {
        // `1.size()` is not a thing in CEL, but `1.5e3` is: stop at a dot not followed by a digit.
        if (expr[j] === '.' && !/[0-9]/.test(expr[j + 1] ?? '')) break;
        j++;
      }
      out += expr.slice(i, j);
      i = j;
      lastSignificant = '0';
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < expr.length && IDENT_PART.test(expr[j] as string)) j++;
      const word = expr.slice(i, j);
      const afterDot = lastSignificant === '.';
      if (word === 'namespace' && !afterDot) out += NAMESPACE_ALIAS;
      else if (word === 'matches' && afterDot && isCallAt(expr, j)) out += MATCHES_ALIAS;
      else out += word;
      i = j;
      lastSignificant = 'a';
      continue;
    }
    if (!/\s/.test(c)) lastSignificant = c;
    out += c;
    i++;
  }
  return out;
}

function describeError(e: unknown): string {
  const err = e as { summary?: unknown; message?: unknown };
  const text =
    typeof err?.summary === 'string' ? err.summary : String(err?.message ?? e).split('\n')[0] ?? String(e);
  return ALIASES.reduce((t, [alias, name]) => t.split(alias).join(name), text);
}

function errorOffset(e: unknown): number | undefined {
  const err = e as { range?: { start?: unknown }; node?: { start?: unknown } };
  const start = err?.range?.start ?? err?.node?.start;
  return typeof start === 'number' ? start : undefined;
}

function unknownVariable(name: string, ctx: CelContext): string {
  const known = Object.keys(celVariables(ctx)).join(', ');
  const hint = name === 'alloc' && ctx.scope === 'deployment' ? '; "alloc" needs "scope: allocation"' : '';
  return `CEL: unknown variable "${name}" (a ${ctx.provider} check with scope ${ctx.scope} has: ${known})${hint}`;
}

const cache = new Map<string, CompileResult>();
const CACHE_LIMIT = 2000;

/**
 * Parses and type-checks a condition for a provider and scope. The expression must be of type
 * bool (or dyn, which is then checked at evaluation).
 */
export function compileCondition(expression: string, ctx: CelContext): CompileResult {
  const key = `${ctx.provider}/${ctx.scope}/${expression}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const result = compileUncached(expression, ctx);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, result);
  return result;
}

function compileUncached(expression: string, ctx: CelContext): CompileResult {
  if (expression.trim() === '') return { ok: false, error: 'empty CEL expression' };
  const env = environmentFor(ctx);
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(renameIdentifiers(expression));
  } catch (e) {
    return { ok: false, error: `CEL syntax error: ${describeError(e)}`, offset: errorOffset(e) };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    const text = describeError(checked.error);
    const unknown = /^Unknown variable: (\w+)/.exec(text);
    const error = unknown ? unknownVariable(unknown[1] as string, ctx) : `CEL type error: ${text}`;
    return { ok: false, error, offset: errorOffset(checked.error) };
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, error: `CEL expression must be a bool, but its type is ${checked.type}` };
  }
  const shape = shapeOf(parsed.ast);
  if (shape.depth > MAX_COMPREHENSION_DEPTH) {
    const error = `CEL expression too costly: comprehensions nested ${shape.depth} deep (at most ${MAX_COMPREHENSION_DEPTH})`;
    return { ok: false, error, offset: shape.deepestAt };
  }
  const run = (vars: Record<string, unknown>): unknown => parsed(vars);
  return { ok: true, condition: { ...ctx, expression, run, shape } };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out[k] = str(x);
  return out;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

/** JSON-like values as CEL sees them: every number is a double, as in CEL's JSON mapping. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x);
    return out;
  }
  return v === undefined ? null : v;
}

/** Plain provider variables (docs/policy.md "Expressions") -> the typed values CEL expects. */
function toCel(vars: Record<string, unknown>, ctx: CelContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ['job', 'group']) if (vars[name] !== undefined) out[name] = str(vars[name]);
  if (vars.namespace !== undefined) out[NAMESPACE_ALIAS] = str(vars.namespace);
  const alloc = vars.alloc as Record<string, unknown> | undefined;
  if (ctx.scope === 'allocation' && alloc) out.alloc = new AllocInfo(str(alloc.id), str(alloc.name), str(alloc.node));
  if (ctx.provider === 'prometheus') {
    if (vars.result !== undefined && vars.result !== null) out.result = num(vars.result);
    if (Array.isArray(vars.results)) {
      out.results = vars.results.map((r: Record<string, unknown>) => new PromSample(stringMap(r?.labels), num(r?.value)));
    }
  } else if (ctx.provider === 'http') {
    const r = vars.response as Record<string, unknown> | undefined;
    if (r) {
      const status = Number(r.status);
      out.response = new HttpResponse(
        BigInt(Number.isFinite(status) ? Math.trunc(status) : 0),
        jsonValue(r.body),
        stringMap(r.headers),
        num(r.ms ?? 0),
      );
    }
  } else if (Array.isArray(vars.checks)) {
    out.checks = vars.checks.map(
      (c: Record<string, unknown>) => new NomadCheck(str(c?.name), str(c?.status), str(c?.mode), str(c?.output)),
    );
  }
  return out;
}

/**
 * Evaluates a compiled condition against provider variables. Never throws: a runtime error
 * (missing variable, missing map key, division by zero, a dyn that is not a bool) is returned.
 */
export function evaluateCondition(compiled: CompiledCondition, vars: Record<string, unknown>): EvaluationResult {
  const longest = largestCollection(vars);
  const steps = estimatedSteps(compiled.shape, longest);
  if (steps > MAX_EVALUATION_STEPS) {
    return { ok: false, error: `CEL expression too costly for this input: about ${steps.toExponential(1)} steps over lists of up to ${longest} items (at most ${MAX_EVALUATION_STEPS.toExponential(0)}); not evaluated` };
  }
  try {
    const value = compiled.run(toCel(vars, compiled));
    if (typeof value !== 'boolean') {
      return { ok: false, error: `CEL expression returned ${value === null ? 'null' : typeof value}, not a bool` };
    }
    return { ok: true, value };
  } catch (e) {
    const text = describeError(e);
    const unknown = /^Unknown variable: (\w+)/.exec(text);
    if (unknown) return { ok: false, error: `CEL evaluation error: variable "${unknown[1]}" has no value` };
    return { ok: false, error: `CEL evaluation error: ${text}` };
  }
}
