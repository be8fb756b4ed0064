import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '../../src/domain/policy.js';
import { parseDuration } from '../../src/policy/duration.js';
import { formatPolicyError, loadPolicies, parsePolicies } from '../../src/policy/load.js';

/** The full example of docs/policy.md. */
const CONTRACT_EXAMPLE = `name: checkout-canary            # required, unique across all files, [a-z0-9-]+
match:
  namespaces: ["prod", "stage-*"]
  jobs: ["checkout-*"]
  groups: ["api"]
  meta: { team: payments }
priority: 0
mode: enforce

checks:
  error-rate:
    scope: deployment
    prometheus:
      address: http://prometheus:9090
      query: >-
        sum(rate(http_requests_total{alloc_id=~"{{ canary.allocIdsRegex }}",code=~"5.."}[1m]))
        / sum(rate(http_requests_total{alloc_id=~"{{ canary.allocIdsRegex }}"}[1m]))
      timeout: 10s
    pass: "result < 0.01"
    fail: "result >= 0.05"
    interval: 30s
    count: 5
    initialDelay: 0s
    failureLimit: 0
    inconclusiveLimit: 0
    consecutiveErrorLimit: 4
    noData: inconclusive
  healthz:
    scope: allocation
    http:
      url: "http://{{ alloc.addr.http }}/healthz"
      method: GET
      headers: { Authorization: "Bearer {{ env.PROMOTER_VAR_HEALTH_TOKEN }}" }
      body: ""
      timeout: 5s
    pass: "response.status == 200"
    interval: 5s
    count: 3
  service-checks:
    scope: allocation
    nomad: {}
    pass: "checks.all(c, c.status == 'success')"

canary:
  analysis: [error-rate]
  bake: 5m
  promote: auto
  together: false
  timeout: 1h
  onTimeout: fail

health:
  checks: [healthz]

rollout:
  analysis: [error-rate]

onFailure:
  rollback: auto
`;

function only(text: string, file = 'p.yaml'): Policy {
  const r = parsePolicies(text, file);
  expect(r.errors.map(formatPolicyError)).toEqual([]);
  expect(r.policies).toHaveLength(1);
  return r.policies[0] as Policy;
}

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2h45m30.5s', 9_930_500],
    ['0', 0],
    ['0s', 0],
    ['1500us', 1.5],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['', '30', '5 minutes', '5min', '-5s', '1d', 's', '1h 30m', '.s'])('"%s" is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('the contract example', () => {
  test('loads with every key as written', () => {
    expect(only(CONTRACT_EXAMPLE)).toEqual({
      name: 'checkout-canary',
      source: 'p.yaml:1:1',
      match: { namespaces: ['prod', 'stage-*'], jobs: ['checkout-*'], groups: ['api'], meta: { team: 'payments' } },
      priority: 0,
      mode: 'enforce',
      checks: {
        'error-rate': {
          name: 'error-rate',
          scope: 'deployment',
          source: {
            kind: 'prometheus',
            address: 'http://prometheus:9090',
            query:
              'sum(rate(http_requests_total{alloc_id=~"{{ canary.allocIdsRegex }}",code=~"5.."}[1m])) / sum(rate(http_requests_total{alloc_id=~"{{ canary.allocIdsRegex }}"}[1m]))',
            timeoutMs: 10_000,
          },
          pass: 'result < 0.01',
          fail: 'result >= 0.05',
          intervalMs: 30_000,
          count: 5,
          initialDelayMs: 0,
          failureLimit: 0,
          inconclusiveLimit: 0,
          consecutiveErrorLimit: 4,
          noData: 'inconclusive',
        },
        healthz: {
          name: 'healthz',
          scope: 'allocation',
          source: {
            kind: 'http',
            url: 'http://{{ alloc.addr.http }}/healthz',
            method: 'GET',
            headers: { Authorization: 'Bearer {{ env.PROMOTER_VAR_HEALTH_TOKEN }}' },
            body: '',
            timeoutMs: 5_000,
          },
          pass: 'response.status == 200',
          intervalMs: 5_000,
          count: 3,
          initialDelayMs: 0,
          failureLimit: 0,
          inconclusiveLimit: 0,
          consecutiveErrorLimit: 4,
          noData: 'inconclusive',
        },
        'service-checks': {
          name: 'service-checks',
          scope: 'allocation',
          source: { kind: 'nomad', timeoutMs: 10_000 },
          pass: "checks.all(c, c.status == 'success')",
          intervalMs: 30_000,
          count: 1,
          initialDelayMs: 0,
          failureLimit: 0,
          inconclusiveLimit: 0,
          consecutiveErrorLimit: 4,
          noData: 'inconclusive',
        },
      },
      canary: { analysis: ['error-rate'], bakeMs: 300_000, promote: 'auto', together: false, timeoutMs: 3_600_000, onTimeout: 'fail' },
      health: { checks: ['healthz'] },
      rollout: { analysis: ['error-rate'] },
      onFailure: { rollback: 'auto' },
    });
  });
});

describe('defaults', () => {
  test('a policy with only a name gets every default of docs/policy.md', () => {
    expect(only('name: minimal\n')).toEqual({
      name: 'minimal',
      source: 'p.yaml:1:1',
      match: { namespaces: ['*'], jobs: ['*'], groups: ['*'], meta: {} },
      priority: 0,
      mode: 'enforce',
      checks: {},
      canary: { analysis: [], bakeMs: 0, promote: 'auto', together: false, onTimeout: 'fail' },
      health: { checks: [] },
      rollout: { analysis: [] },
      onFailure: { rollback: 'auto' },
    });
  });

  test('no canary timeout unless given', () => {
    expect(only('name: a\ncanary: { bake: 1m }\n').canary.timeoutMs).toBeUndefined();
  });

  test('a check gets interval 30s, count 1, no delay, limits 0/0/4, noData inconclusive, scope deployment', () => {
    const p = only('name: a\nchecks:\n  up:\n    prometheus: { query: up }\n    pass: result == 1\n');
    expect(p.checks.up).toEqual({
      name: 'up',
      scope: 'deployment',
      source: { kind: 'prometheus', query: 'up', timeoutMs: 10_000 },
      pass: 'result == 1',
      intervalMs: 30_000,
      count: 1,
      initialDelayMs: 0,
      failureLimit: 0,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 4,
      noData: 'inconclusive',
    });
  });

  test('an http check gets method GET, no headers, an empty body and a 10s timeout', () => {
    const p = only('name: a\nchecks:\n  h:\n    http: { url: "http://svc/healthz" }\n    pass: response.status == 200\n');
    expect(p.checks.h?.source).toEqual({ kind: 'http', url: 'http://svc/healthz', method: 'GET', headers: {}, body: '', timeoutMs: 10_000 });
  });

  test('empty sections (key with no value) mean their defaults', () => {
    const p = only('name: a\nmatch:\ncanary:\nhealth:\nrollout:\nonFailure:\nchecks:\n');
    expect(p.match.jobs).toEqual(['*']);
    expect(p.canary.promote).toBe('auto');
    expect(p.onFailure.rollback).toBe('auto');
  });

  test('lower-case HTTP methods are accepted and normalised', () => {
    const p = only('name: a\nchecks:\n  h:\n    http: { url: "http://svc/x", method: post }\n    pass: response.status == 200\n');
    expect(p.checks.h?.source).toMatchObject({ method: 'POST' });
  });
});

describe('documents and files', () => {
  test('several documents per file; empty documents are skipped', () => {
    const r = parsePolicies('---\nname: a\n---\n---\n# only a comment\n---\nname: b\n...\n', 'many.yaml');
    expect(r.errors).toEqual([]);
    expect(r.policies.map((p) => [p.name, p.source])).toEqual([
      ['a', 'many.yaml:2:1'],
      ['b', 'many.yaml:7:1'],
    ]);
  });

  test('an empty file holds no policies and no errors', () => {
    expect(parsePolicies('', 'empty.yaml')).toMatchObject({ policies: [], errors: [] });
  });

  test('aliases resolve to their anchors', () => {
    const p = only('name: a\nmatch:\n  jobs: &jobs ["checkout-*"]\n  groups: *jobs\n');
    expect(p.match.groups).toEqual(['checkout-*']);
  });

  test('a syntax error in one document does not hide errors of the next', () => {
    const r = parsePolicies('name: a\nmatch: {jobs: [x}\n---\nname: B\n', 'two.yaml');
    expect(r.errors.map(formatPolicyError)).toEqual([
      'two.yaml:2:17: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'two.yaml:2:18: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
      'two.yaml:4:7: name: invalid name "B" (use lower-case letters, digits and "-")',
    ]);
  });

  test('a duplicate YAML key is reported at the second key', () => {
    const r = parsePolicies('name: a\npriority: 1\npriority: 2\n', 'dup.yaml');
    expect(r.errors.map(formatPolicyError)).toEqual(['dup.yaml:3:1: duplicate key "priority" (first defined at 2:1): keys must be unique']);
    expect(r.policies).toEqual([]);
  });

  test('a duplicate key hides no other error of its document', () => {
    const r = parsePolicies(
      [
        'name: a',
        'mode: yolo',
        'checks:',
        '  x:',
        '    prometheus: { query: up, query: down }',
        '    pass: "result <"',
        '    count: 2',
        '    count: 3',
        'canary:',
        '  bake: 5 minutes',
        'priority: high',
        'mode: enforce',
        '---',
        'name: B',
        '',
      ].join('\n'),
      'dup.yaml',
    );
    expect(r.errors.map(formatPolicyError)).toEqual([
      'dup.yaml:2:7: mode: invalid value "yolo" (expected one of: enforce, dry-run)',
      'dup.yaml:5:30: duplicate key "query" (first defined at 5:19): keys must be unique',
      'dup.yaml:6:20: checks.x.pass: CEL syntax error: Unexpected token: EOF',
      'dup.yaml:8:5: duplicate key "count" (first defined at 7:5): keys must be unique',
      'dup.yaml:10:9: canary.bake: invalid duration "5 minutes" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)',
      'dup.yaml:11:11: priority: must be an integer',
      'dup.yaml:12:1: duplicate key "mode" (first defined at 2:1): keys must be unique',
      'dup.yaml:14:7: name: invalid name "B" (use lower-case letters, digits and "-")',
    ]);
  });

  test('the duplicate value is not read (the first counts)', () => {
    const r = parsePolicies('name: a\npriority: 1\npriority: x\n', 'dup.yaml');
    expect(r.errors.map(formatPolicyError)).toEqual(['dup.yaml:3:1: duplicate key "priority" (first defined at 2:1): keys must be unique']);
  });

  test('a real syntax error stops the document: nothing else of it is checked', () => {
    const r = parsePolicies('name: a\npriority: 1\npriority: x\nmatch: {jobs: [x}\n', 'dup.yaml');
    expect(r.errors.map(formatPolicyError)).toEqual([
      'dup.yaml:4:17: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'dup.yaml:4:18: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  test('a CEL error points into the expression, quoted or not', () => {
    const r = parsePolicies(
      'name: a\nchecks:\n  x:\n    prometheus: { query: up }\n    pass: "result < 0.1 && job"\n    fail: result > 0.5 || foo\n',
      'cel.yaml',
    );
    expect(r.errors.map(formatPolicyError)).toEqual([
      // 5:12: just inside the quote; 6:27: at `foo`
      'cel.yaml:5:12: checks.x.pass: CEL type error: Logical operator requires bool operands, got \'string\'',
      'cel.yaml:6:27: checks.x.fail: CEL: unknown variable "foo" (a prometheus check with scope deployment has: namespace, job, group, result, results)',
    ]);
  });

  test('a CEL error in a block scalar points at the scalar', () => {
    const r = parsePolicies('name: a\nchecks:\n  x:\n    prometheus: { query: up }\n    pass: >-\n      result <\n', 'block.yaml');
    expect(r.errors.map(formatPolicyError)).toEqual(['block.yaml:5:11: checks.x.pass: CEL syntax error: Unexpected token: EOF']);
  });
});

describe('loadPolicies', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'policies-'));
    await writeFile(join(dir, 'b.yaml'), 'name: second\n');
    await writeFile(join(dir, 'a.yml'), 'name: first\n---\nname: first-b\n');
    await writeFile(join(dir, 'notes.txt'), 'name: ignored\n');
    await writeFile(join(dir, 'c.YAML'), 'name: third\n');
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'd.yaml'), 'name: nested\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a directory: its *.yaml and *.yml files, sorted by name, not recursive', async () => {
    const r = await loadPolicies([dir]);
    expect(r.errors).toEqual([]);
    expect(r.policies.map((p) => p.name)).toEqual(['first', 'first-b', 'second', 'third']);
    expect(r.files).toEqual([join(dir, 'a.yml'), join(dir, 'b.yaml'), join(dir, 'c.YAML')]);
  });

  test('files and directories mixed; a file listed twice is read once', async () => {
    const r = await loadPolicies([join(dir, 'nested', 'd.yaml'), dir, join(dir, 'b.yaml')]);
    expect(r.errors).toEqual([]);
    expect(r.policies.map((p) => p.name)).toEqual(['nested', 'first', 'first-b', 'second', 'third']);
  });

  test('a missing path is an error for the whole path', async () => {
    const missing = join(dir, 'missing');
    const r = await loadPolicies([missing, dir]);
    expect(r.errors.map(formatPolicyError)).toEqual([`${missing}: no such file or directory`]);
    expect(r.policies).toEqual([]);
  });

  test('policy sources name the file', async () => {
    const r = await loadPolicies([join(dir, 'a.yml')]);
    expect(r.policies.map((p) => p.source)).toEqual([`${join(dir, 'a.yml')}:1:1`, `${join(dir, 'a.yml')}:3:1`]);
  });
});

describe('limits that keep a broken file from flooding the log or holding up the daemon', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'policy-limits-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('a file with thousands of unknown keys: the first 20 errors, then a count of the rest', async () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i}: v`);
    const file = join(dir, 'keys.yaml');
    await writeFile(file, ['name: many', ...keys, ''].join('\n'));
    const r = await loadPolicies([file]);
    const lines = r.errors.map(formatPolicyError);
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe(`${file}:2:1: unknown key "k0" (expected one of: name, match, priority, mode, checks, canary, health, rollout, onFailure, notify)`);
    expect(lines[19]).toMatch(new RegExp(`^${file}:21:1: unknown key "k19" `));
    expect(lines[20]).toBe(`${file}: 4980 more errors not shown`);
  });

  test('the limit is per file: each file reports its own first errors', async () => {
    const bad = (n: string) => ['name: x', ...Array.from({ length: 30 }, (_, i) => `${n}${i}: v`), ''].join('\n');
    await mkdir(join(dir, 'two'));
    await writeFile(join(dir, 'two', 'a.yaml'), bad('a'));
    await writeFile(join(dir, 'two', 'b.yaml'), bad('b').replace('name: x', 'name: y'));
    const r = await loadPolicies([join(dir, 'two')]);
    expect(r.errors.filter((e) => e.file.endsWith('a.yaml'))).toHaveLength(21);
    expect(r.errors.filter((e) => e.file.endsWith('b.yaml'))).toHaveLength(21);
  });

  test('a file over 64 KiB is rejected unread, with its size', async () => {
    const file = join(dir, 'huge.yaml');
    const text = `name: huge\nmatch:\n  jobs: [${'"x", '.repeat(20_000)}"y"]\n`;
    await writeFile(file, text);
    const r = await loadPolicies([file]);
    expect(r.errors.map(formatPolicyError)).toEqual([`${file}: file too large (${Buffer.byteLength(text)} bytes; a policy file may have at most 65536)`]);
    expect(r.policies).toEqual([]);
  });
});
