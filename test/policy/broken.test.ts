/**
 * The broken-policy corpus: one file per error class, each with the exact position and message
 * a user sees from `nomad-promoter validate`.
 */
import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPolicyError, loadPolicies } from '../../src/policy/load.js';

const fixtures = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const broken = `${fixtures}broken/`;

/** Errors as `file:line:col: message`, with the fixture directory stripped for readability. */
async function errorsOf(paths: string[], dir: string): Promise<string[]> {
  const result = await loadPolicies(paths);
  expect(result.errors.length > 0 ? result.policies : []).toEqual([]);
  return result.errors.map((e) => formatPolicyError(e).split(dir).join(''));
}

// [file, "line:col: message"]
const CASES: [string, string][] = [
  ["bad-check-name.yaml", "3:3: checks.Error_Rate: invalid check name \"Error_Rate\" (use lower-case letters, digits and \"-\")"],
  ["bad-duration-number.yaml", "6:15: checks.error-rate.interval: invalid duration \"30\" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)"],
  ["bad-duration.yaml", "3:9: canary.bake: invalid duration \"5 minutes\" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)"],
  ["bad-enum-mode.yaml", "2:7: mode: invalid value \"enforcing\" (expected one of: enforce, dry-run)"],
  ["bad-enum-nodata.yaml", "6:13: checks.error-rate.noData: invalid value \"skip\" (expected one of: pass, fail, inconclusive)"],
  ["bad-enum-ontimeout.yaml", "4:14: canary.onTimeout: invalid value \"abort\" (expected one of: fail, promote, wait)"],
  ["bad-enum-promote.yaml", "3:12: canary.promote: invalid value \"automatic\" (expected one of: auto, manual)"],
  ["bad-enum-rollback.yaml", "3:13: onFailure.rollback: invalid value \"always\" (expected one of: auto, revert, none)"],
  ["bad-enum-scope.yaml", "4:12: checks.healthz.scope: invalid value \"pod\" (expected one of: deployment, allocation)"],
  ["bad-glob.yaml", "3:10: match.jobs[0]: invalid glob \"checkout-[api\": missing closing \"]\""],
  ["bad-http-method.yaml", "7:15: checks.healthz.http.method: invalid value \"FETCH\" (expected one of: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)"],
  ["bad-meta-glob.yaml", "3:17: match.meta.team: invalid glob \"{payments\": missing closing \"}\""],
  ["bad-name.yaml", "1:7: name: invalid name \"Checkout_Canary\" (use lower-case letters, digits and \"-\")"],
  ["bad-url.yaml", "6:12: checks.healthz.http.url: not a URL (expected http://host[:port][/path])"],
  ["cel-alloc-in-deployment.yaml", "5:11: checks.error-rate.pass: CEL: unknown variable \"alloc\" (a prometheus check with scope deployment has: namespace, job, group, result, results); \"alloc\" needs \"scope: allocation\""],
  ["cel-not-bool.yaml", "5:11: checks.error-rate.pass: CEL expression must be a bool, but its type is double"],
  ["cel-syntax.yaml", "5:27: checks.error-rate.pass: CEL syntax error: Unexpected token: EOF"],
  ["cel-type.yaml", "6:12: checks.error-rate.fail: CEL type error: no such overload: double >= string"],
  ["cel-unknown-variable.yaml", "5:11: checks.error-rate.pass: CEL: unknown variable \"response\" (a prometheus check with scope deployment has: namespace, job, group, result, results)"],
  ["duplicate-name.yaml", "4:7: name: duplicate policy name \"checkout-canary\" (first defined at duplicate-name.yaml:1:7)"],
  ["health-deployment-scope.yaml", "7:12: health.checks[0]: check \"error-rate\" has scope deployment; health checks need \"scope: allocation\""],
  ["missing-name.yaml", "1:1: missing required key \"name\""],
  ["missing-pass.yaml", "3:3: checks.error-rate: missing required key \"pass\""],
  ["missing-query.yaml", "4:5: checks.error-rate.prometheus: missing required key \"query\""],
  ["negative-limit.yaml", "6:19: checks.error-rate.failureLimit: must be at least 0"],
  ["no-provider.yaml", "3:3: checks.error-rate: needs one provider: prometheus, http or nomad"],
  ["nomad-deployment-scope.yaml", "4:5: checks.service-checks.nomad: Nomad service checks are per allocation; set \"scope: allocation\" on this check"],
  ["not-a-mapping.yaml", "1:1: a policy must be a mapping"],
  ["template-alloc-in-deployment.yaml", "5:14: checks.error-rate.prometheus.query: template name \"alloc.id\" needs \"scope: allocation\" (this check has scope deployment)"],
  ["template-env-not-promoter.yaml", "8:24: checks.healthz.http.headers.Authorization: template name \"env.HEALTH_TOKEN\": only environment variables whose names start with PROMOTER_VAR_ are visible"],
  ["template-logic.yaml", "5:14: checks.error-rate.prometheus.query: template placeholder \"{{ job | upper }}\" must hold a single name (templates have no logic)"],
  ["template-unclosed.yaml", "5:14: checks.error-rate.prometheus.query: unclosed \"{{\" in template (a placeholder is written {{ name }})"],
  ["template-unknown-name.yaml", "5:14: checks.error-rate.prometheus.query: unknown template name \"deployment.ID\""],
  ["two-providers.yaml", "5:5: checks.error-rate: has two providers (prometheus and http); a check uses exactly one"],
  ["undefined-check-canary.yaml", "7:26: canary.analysis[1]: undefined check \"latency\" (defined checks: error-rate)"],
  ["undefined-check-health.yaml", "3:12: health.checks[0]: undefined check \"healthz\" (this policy defines no checks)"],
  ["undefined-check-rollout.yaml", "8:7: rollout.analysis[0]: undefined check \"error_rate\" (defined checks: error-rate)"],
  ["unknown-key-check.yaml", "7:5: unknown key \"intervall\" in checks.error-rate (did you mean \"interval\"?)"],
  ["unknown-key-provider.yaml", "7:7: unknown key \"header\" in checks.healthz.http (did you mean \"headers\"?)"],
  ["unknown-key-top.yaml", "2:1: unknown key \"priorty\" (did you mean \"priority\"?)"],
  ["wrong-type-bool.yaml", "3:13: canary.together: must be true or false"],
  ["wrong-type-count.yaml", "6:12: checks.error-rate.count: must be an integer"],
  ["wrong-type-list.yaml", "3:9: match.jobs: must be a list"],
  ["yaml-syntax.yaml", "4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]"],
  ["zero-timeout.yaml", "3:12: canary.timeout: must be longer than 0s"],
];

describe('broken policies', () => {
  test('the corpus covers every fixture file, at least 15 error classes', () => {
    const files = readdirSync(broken).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual([...new Set(CASES.map(([f]) => f))].sort());
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  test.each(CASES)('%s: %s', async (file, expected) => {
    expect(await errorsOf([`${broken}${file}`], broken)).toEqual([`${file}:${expected}`]);
  });
});

describe('every error at once', () => {
  test('a file with many mistakes reports all of them, in file order', async () => {
    expect(await errorsOf([`${fixtures}multi-error.yaml`], fixtures)).toEqual([
      "multi-error.yaml:2:7: name: invalid name \"Checkout\" (use lower-case letters, digits and \"-\")",
      "multi-error.yaml:4:10: match.jobs[0]: invalid glob \"checkout-[\": missing closing \"]\"",
      "multi-error.yaml:5:3: unknown key \"group\" in match (did you mean \"groups\"?)",
      "multi-error.yaml:6:11: priority: must be an integer",
      "multi-error.yaml:7:7: mode: invalid value \"audit\" (expected one of: enforce, dry-run)",
      "multi-error.yaml:11:14: checks.error-rate.prometheus.query: template name \"alloc.id\" needs \"scope: allocation\" (this check has scope deployment)",
      "multi-error.yaml:12:16: checks.error-rate.prometheus.timeout: invalid duration \"10\" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)",
      "multi-error.yaml:13:11: checks.error-rate.pass: CEL type error: no such overload: double < string",
      "multi-error.yaml:14:12: checks.error-rate.count: must be at least 1",
      "multi-error.yaml:19:33: checks.healthz.http.headers.Authorization: template name \"env.TOKEN\": only environment variables whose names start with PROMOTER_VAR_ are visible",
      "multi-error.yaml:20:27: checks.healthz.pass: CEL syntax error: Unexpected character: =",
      "multi-error.yaml:22:26: canary.analysis[1]: undefined check \"latency\" (defined checks: error-rate, healthz)",
      "multi-error.yaml:23:9: canary.bake: invalid duration \"5min\" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)",
      "multi-error.yaml:25:12: health.checks[0]: check \"error-rate\" has scope deployment; health checks need \"scope: allocation\"",
      "multi-error.yaml:27:13: onFailure.rollback: invalid value \"yes\" (expected one of: auto, revert, none)",
      "multi-error.yaml:31:14: rollout.analysis[0]: undefined check \"missing\" (this policy defines no checks)",
    ]);
  });

  test('a duplicate YAML key is one error among the others, not the only one', async () => {
    // The multi-error file with a duplicated key added at the top and inside a check.
    const multi = readFileSync(`${fixtures}multi-error.yaml`, 'utf8').split('\n');
    const at = multi.findIndex((l) => l.startsWith('mode:'));
    const check = multi.findIndex((l) => l.trim().startsWith('count:'));
    expect(at).toBe(6);
    expect(check).toBe(13);
    const lines = [...multi.slice(0, 7), 'priority: 1', ...multi.slice(7, 14), multi[13] as string, ...multi.slice(14)];
    const dir = await mkdtemp(join(tmpdir(), 'broken-'));
    try {
      await writeFile(join(dir, 'duplicate-key.yaml'), lines.join('\n'));
      const errors = await errorsOf([join(dir, 'duplicate-key.yaml')], `${dir}/`);
      expect(errors).toContain('duplicate-key.yaml:8:1: duplicate key "priority" (first defined at 6:1): keys must be unique');
      expect(errors).toContain('duplicate-key.yaml:16:5: duplicate key "count" (first defined at 15:5): keys must be unique');
      // Every error of the original file is still there, shifted by the inserted lines.
      expect(errors).toHaveLength(16 + 2);
      expect(errors).toContain('duplicate-key.yaml:2:7: name: invalid name "Checkout" (use lower-case letters, digits and "-")');
      expect(errors).toContain('duplicate-key.yaml:29:13: onFailure.rollback: invalid value "yes" (expected one of: auto, revert, none)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('duplicate names across files are reported at the second definition', async () => {
    const dir = `${fixtures}duplicates/`;
    expect(await errorsOf([dir], dir)).toEqual([
      'b.yaml:4:7: name: duplicate policy name "checkout-canary" (first defined at a.yaml:1:7)',
    ]);
  });

  test('errors from several files are all reported, duplicates across them included', async () => {
    const lines = await errorsOf([`${broken}bad-name.yaml`, `${fixtures}duplicates/a.yaml`, `${broken}bad-glob.yaml`], fixtures);
    expect(lines).toEqual([
      'broken/bad-name.yaml:1:7: name: invalid name "Checkout_Canary" (use lower-case letters, digits and "-")',
      'broken/bad-glob.yaml:1:7: name: duplicate policy name "checkout-canary" (first defined at duplicates/a.yaml:1:7)',
      'broken/bad-glob.yaml:3:10: match.jobs[0]: invalid glob "checkout-[api": missing closing "]"',
    ]);
  });
});
