import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { compileCondition, evaluateCondition, renameIdentifiers } from '../../src/policy/cel.js';
import type { CelContext, CompiledCondition } from '../../src/policy/cel.js';

const PROM: CelContext = { provider: 'prometheus', scope: 'deployment' };
const HTTP: CelContext = { provider: 'http', scope: 'allocation' };
const NOMAD: CelContext = { provider: 'nomad', scope: 'allocation' };

function compiled(expr: string, ctx: CelContext): CompiledCondition {
  const r = compileCondition(expr, ctx);
  if (!r.ok) throw new Error(r.error);
  return r.condition;
}

function run(expr: string, ctx: CelContext, vars: Record<string, unknown>) {
  return evaluateCondition(compiled(expr, ctx), vars);
}

const BASE = { namespace: 'prod', job: 'checkout-api', group: 'api' };

describe('type-checking at load', () => {
  test.each([
    ['result < "0.01"', PROM, 'CEL type error: no such overload: double < string'],
    ['result * 100', PROM, 'CEL expression must be a bool, but its type is double'],
    ['response.status == 200', PROM, 'CEL: unknown variable "response" (a prometheus check with scope deployment has: namespace, job, group, result, results)'],
    ['result < 1 && alloc.id != ""', PROM, 'CEL: unknown variable "alloc" (a prometheus check with scope deployment has: namespace, job, group, result, results); "alloc" needs "scope: allocation"'],
    ['response.status == "200"', HTTP, 'CEL type error: no such overload: int == string'],
    ['response.latency < 100', HTTP, 'CEL type error: No such key: latency'],
    ['checks.all(c, c.status == 1)', NOMAD, 'CEL type error: no such overload: string == int'],
    ['results.all(r, r.labels.code == 500)', PROM, 'CEL type error: no such overload: string == int'],
    ['result <', PROM, 'CEL syntax error: Unexpected token: EOF'],
    ['  ', PROM, 'empty CEL expression'],
  ])('%s', (expr, ctx, error) => {
    const r = compileCondition(expr, ctx);
    expect(r.ok ? 'compiled' : r.error).toBe(error);
  });

  test('error offsets point into the expression', () => {
    const r = compileCondition('result < 0.1 || bogus', PROM);
    expect(r.ok ? undefined : r.offset).toBe(16);
  });
});

describe('int and double', () => {
  test.each([
    ['result < 0.01', 0.005, true],
    ['result < 1', 0.5, true],
    ['result < 1', 1.5, false],
    ['result == 0', 0, true],
    ['result == 0', 0.1, false],
    ['0 == result', 0, true],
    ['result != 0', 0, false],
    ['result >= 1', 1, true],
    ['result * 100 < 5', 0.04, true],
    ['result + 1 > 2', 1.5, true],
    ['1 - result > 0.5', 0.2, true],
    ['result / 2 == 1', 2, true],
    ['result == 0.0', 0, true],
  ])('%s with result=%d -> %s', (expr, result, want) => {
    expect(run(expr, PROM, { ...BASE, result, results: [] })).toEqual({ ok: true, value: want });
  });

  test('http status is an int and compares with int and double literals', () => {
    const vars = { ...BASE, alloc: { id: 'a', name: 'n', node: 'x' }, response: { status: 200, body: '', headers: {}, ms: 3 } };
    expect(run('response.status == 200', HTTP, vars)).toEqual({ ok: true, value: true });
    expect(run('response.status == 200.0', HTTP, vars)).toEqual({ ok: true, value: true });
    expect(run('response.status >= 200 && response.status < 300', HTTP, vars)).toEqual({ ok: true, value: true });
    expect(run('response.ms < 250', HTTP, vars)).toEqual({ ok: true, value: true });
  });
});

describe('variables per provider', () => {
  const results = [
    { labels: { code: '500', alloc_id: 'a1' }, value: 0.02 },
    { labels: { code: '200', alloc_id: 'a1' }, value: 0.9 },
  ];

  test('prometheus: macros and map access over results', () => {
    const vars = { ...BASE, result: 0.02, results };
    const cases: [string, boolean][] = [
      ['results.all(r, r.value < 1)', true],
      ['results.exists(r, r.labels.code == "500")', true],
      ['results.exists(r, r.labels["code"].startsWith("5") && r.value > 0.05)', false],
      ['results.filter(r, r.labels.code.matches("^5..$")).size() == 1', true],
      ['results.map(r, r.value).exists(v, v > 0.5)', true],
      ['results.exists_one(r, r.value > 0.5)', true],
      ['size(results) == 2 && results[1].labels.alloc_id == "a1"', true],
      ['"code" in results[0].labels', true],
    ];
    for (const [expr, want] of cases) expect([expr, run(expr, PROM, vars)]).toEqual([expr, { ok: true, value: want }]);
  });

  test('nomad: macros over checks', () => {
    const checks = [
      { name: 'http', status: 'success', mode: 'healthiness', output: 'ok' },
      { name: 'ready', status: 'failure', mode: 'readiness', output: 'HTTP 503' },
    ];
    const vars = { ...BASE, alloc: { id: 'a', name: 'n', node: 'x' }, checks };
    expect(run("checks.all(c, c.status == 'success')", NOMAD, vars)).toEqual({ ok: true, value: false });
    expect(run("checks.filter(c, c.mode == 'healthiness').all(c, c.status == 'success')", NOMAD, vars)).toEqual({ ok: true, value: true });
    expect(run("checks.exists(c, c.output.contains('503'))", NOMAD, vars)).toEqual({ ok: true, value: true });
    expect(run('checks.all(c, c.status == "success")', NOMAD, { ...vars, checks: [] })).toEqual({ ok: true, value: true });
  });

  test('http: JSON body as dyn, lower-case headers, numbers in JSON are doubles', () => {
    const vars = {
      ...BASE,
      alloc: { id: 'a1', name: 'n', node: 'x' },
      response: { status: 200, body: { status: 'ok', checks: [{ up: true }], count: 3 }, headers: { 'content-type': 'application/json' }, ms: 12.5 },
    };
    const cases: [string, boolean][] = [
      ['response.body.status == "ok"', true],
      ['response.body.count == 3', true],
      ['response.body.count > 2', true],
      ['response.body.checks.all(c, c.up)', true],
      ['has(response.body.status)', true],
      ['response.headers["content-type"].startsWith("application/json")', true],
      ['alloc.id == "a1" && job.endsWith("-api") && group == "api"', true],
    ];
    for (const [expr, want] of cases) expect([expr, run(expr, HTTP, vars)]).toEqual([expr, { ok: true, value: want }]);
  });

  test('http: a text body is a string', () => {
    const vars = { ...BASE, alloc: { id: 'a', name: 'n', node: 'x' }, response: { status: 200, body: 'OK', headers: {}, ms: 1 } };
    expect(run('response.body == "OK"', HTTP, vars)).toEqual({ ok: true, value: true });
  });

  test('namespace works although CEL reserves the word', () => {
    expect(run('namespace == "prod" && result < 1', PROM, { ...BASE, result: 0 })).toEqual({ ok: true, value: true });
    expect(run('namespace.startsWith("pr")', PROM, { ...BASE, result: 0 })).toEqual({ ok: true, value: true });
    expect(compileCondition('namespace + 1 == 2', PROM)).toMatchObject({ ok: false, error: 'CEL type error: no such overload: string + int' });
  });
});

describe('renameIdentifiers', () => {
  test('renames the identifier only: not fields, strings or comments', () => {
    const src = `namespace == "namespace" && response.body.namespace == 'x' // namespace\n|| r"namespace" == namespace`;
    const out = renameIdentifiers(src);
    expect(out.length).toBe(src.length);
    expect(out).toBe(`__nspace_ == "namespace" && response.body.namespace == 'x' // namespace\n|| r"namespace" == __nspace_`);
  });
});

describe('matches is RE2', () => {
  const NOMAD_VARS = (output: string) => ({ ...BASE, alloc: { id: 'a', name: 'n', node: 'x' }, checks: [{ name: 'c', status: 'success', mode: 'healthiness', output }] });

  test('a pattern that makes a backtracking engine run for minutes answers at once', () => {
    // JavaScript's RegExp takes minutes on this input (exponential backtracking); RE2 is linear.
    expect(run("checks.all(c, c.output.matches('^(a|a)*$'))", NOMAD, NOMAD_VARS(`${'a'.repeat(30)}b`))).toEqual({ ok: true, value: false });
    expect(run("checks.all(c, c.output.matches('^(a|a)*$'))", NOMAD, NOMAD_VARS('a'.repeat(30)))).toEqual({ ok: true, value: true });
  });

  test('partial match as in CEL, RE2 syntax', () => {
    expect(run('checks.exists(c, c.output.matches("ok"))', NOMAD, NOMAD_VARS('all ok here'))).toEqual({ ok: true, value: true });
    expect(run('checks.exists(c, c.output.matches("^ok$"))', NOMAD, NOMAD_VARS('all ok here'))).toEqual({ ok: true, value: false });
    expect(run('checks.exists(c, c.output.matches("(?i)OK"))', NOMAD, NOMAD_VARS('ok'))).toEqual({ ok: true, value: true });
  });

  test('a pattern RE2 does not support is an evaluation error naming matches and the pattern', () => {
    const r = run('checks.exists(c, c.output.matches("(?<=a)b"))', NOMAD, NOMAD_VARS('ab'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^CEL evaluation error: .*invalid regular expression "\(\?<=a\)b"/);
    expect(!r.ok && r.error).not.toContain('__re2m_');
  });

  test('only method calls are renamed: a field named matches stays a field', () => {
    const src = `x.matches("a") && response.body.matches == 1 && "y.matches(" == x.matches ("b")`;
    const out = renameIdentifiers(src);
    expect(out.length).toBe(src.length);
    expect(out).toBe(`x.__re2m_("a") && response.body.matches == 1 && "y.matches(" == x.__re2m_ ("b")`);
    expect(compileCondition('response.body.matches == 1', HTTP)).toMatchObject({ ok: true });
  });
});

describe('cost bounds', () => {
  const nested = (depth: number) => {
    const vars = ['a', 'b', 'c', 'd', 'e'].slice(0, depth);
    let body = `${vars.join(' + ')} > 1e300`;
    for (const v of [...vars].reverse()) body = `results.map(r, r.value).exists(${v}, ${body})`;
    return body;
  };
  const samples = (n: number) => Array.from({ length: n }, (_, i) => ({ labels: {}, value: i }));

  test('comprehensions nested 4 deep are rejected at load, pointing at the innermost', () => {
    const expr = nested(4);
    const r = compileCondition(expr, PROM);
    expect(r).toEqual({ ok: false, error: 'CEL expression too costly: comprehensions nested 4 deep (at most 3)', offset: expr.lastIndexOf('results.map') });
    expect(compileCondition(nested(3), PROM)).toMatchObject({ ok: true });
  });

  test('an expression of more than 1000 nodes is rejected at load', () => {
    const r = compileCondition(Array.from({ length: 600 }, () => 'result').join(' + ') + ' > 0.0', PROM);
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('maxAstNodes (1000)') });
  });

  test('over the step budget for the actual input: an error result, not evaluated', () => {
    const c = compiled(nested(3), PROM);
    expect(evaluateCondition(c, { ...BASE, result: 0, results: samples(20) })).toEqual({ ok: true, value: false });
    const r = evaluateCondition(c, { ...BASE, result: 0, results: samples(300) });
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/^CEL expression too costly for this input: about .* steps over lists of up to 300 items \(at most 1e\+7\); not evaluated$/) });
  });

  test('a single comprehension over a large list stays within the budget', () => {
    const c = compiled('results.all(r, r.value >= 0.0)', PROM);
    expect(evaluateCondition(c, { ...BASE, result: 0, results: samples(100_000) })).toEqual({ ok: true, value: true });
  });
});

describe('evaluateCondition never throws', () => {
  test('runtime errors are results', () => {
    const vars = { ...BASE, results: [] };
    expect(run('result < 1', PROM, vars)).toEqual({ ok: false, error: 'CEL evaluation error: variable "result" has no value' });
    expect(run('results[0].value < 1', PROM, { ...vars, result: 0 })).toMatchObject({ ok: false });
    const http = { ...BASE, alloc: { id: 'a', name: 'n', node: 'x' }, response: { status: 200, body: {}, headers: {}, ms: 1 } };
    expect(run('response.body.missing == 1', HTTP, http)).toEqual({ ok: false, error: 'CEL evaluation error: No such key: missing' });
    expect(run('response.body', HTTP, { ...http, response: { ...http.response, body: 'text' } })).toEqual({
      ok: false,
      error: 'CEL expression returned string, not a bool',
    });
    expect(run('response.headers["x"] == "y"', HTTP, http)).toMatchObject({ ok: false });
  });

  test('NaN compares false, never throws', () => {
    expect(run('result < 1', PROM, { ...BASE, result: Number.NaN })).toEqual({ ok: true, value: false });
  });

  test('arbitrary variables and expressions: always a result, never an exception', () => {
    const exprs = ['result < 1', 'results.all(r, r.value < 1)', 'results.exists(r, r.labels.code == "5")', 'result / 0 > 1'];
    fc.assert(
      fc.property(fc.constantFrom(...exprs), fc.anything(), fc.anything(), (expr, result, results) => {
        const r = run(expr, PROM, { ...BASE, result, results });
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });
});
