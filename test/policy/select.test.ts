import { describe, expect, test } from '@jest/globals';
import type { Policy } from '../../src/domain/policy.js';
import { parsePolicies } from '../../src/policy/load.js';
import { selectPolicy } from '../../src/policy/select.js';
import type { SelectionTarget } from '../../src/policy/select.js';

function policies(text: string): Policy[] {
  const r = parsePolicies(text, 'p.yaml');
  expect(r.errors).toEqual([]);
  return r.policies;
}

const SET = policies(`
name: checkout-canary
priority: 10
match: { namespaces: ["prod", "stage-*"], jobs: ["checkout-*"], groups: ["api"], meta: { team: payments } }
---
name: checkout-any
match: { jobs: ["checkout-*"] }
---
name: web-b
priority: 5
match: { jobs: ["web-*"] }
---
name: web-a
priority: 5
match: { jobs: ["web-*"] }
---
name: web-c
priority: 5
match: { jobs: ["web-*"] }
---
name: web-low
priority: -1
match: { jobs: ["web-*"] }
---
name: pinned-only
match: { jobs: ["nothing-matches-this"] }
`);

function target(over: Partial<SelectionTarget> = {}): SelectionTarget {
  return { namespace: 'prod', job: 'checkout-api', group: 'api', jobMeta: { team: 'payments' }, groupMeta: {}, ...over };
}

describe('matching', () => {
  test('the highest-priority match wins', () => {
    const s = selectPolicy(SET, target());
    expect(s.policy?.name).toBe('checkout-canary');
    expect(s.tiedWith).toBeUndefined();
    expect(s.reason).toBe('matched policy "checkout-canary" (priority 10)');
  });

  test('every match key must hold: namespace glob', () => {
    expect(selectPolicy(SET, target({ namespace: 'stage-eu' })).policy?.name).toBe('checkout-canary');
    expect(selectPolicy(SET, target({ namespace: 'dev' })).policy?.name).toBe('checkout-any');
  });

  test('every match key must hold: group', () => {
    expect(selectPolicy(SET, target({ group: 'worker' })).policy?.name).toBe('checkout-any');
  });

  test('meta globs apply to job Meta; a missing key does not match', () => {
    expect(selectPolicy(SET, target({ jobMeta: { team: 'search' } })).policy?.name).toBe('checkout-any');
    expect(selectPolicy(SET, target({ jobMeta: {} })).policy?.name).toBe('checkout-any');
    // group Meta is not job Meta
    expect(selectPolicy(SET, target({ jobMeta: {}, groupMeta: { team: 'payments' } })).policy?.name).toBe('checkout-any');
  });

  test('meta values are globs', () => {
    const set = policies('name: pay\nmatch: { meta: { team: "pay*", tier: "*" } }\n');
    expect(selectPolicy(set, target({ jobMeta: { team: 'payments-eu', tier: '' } })).policy?.name).toBe('pay');
    expect(selectPolicy(set, target({ jobMeta: { team: 'payments-eu' } })).policy).toBeUndefined();
  });

  test('a group no policy matches is left alone', () => {
    const s = selectPolicy(SET, target({ job: 'billing' }));
    expect(s.policy).toBeUndefined();
    expect(s.reason).toBe('no policy matches');
  });

  test('globs see job IDs with slashes and dots as plain characters', () => {
    const set = policies('name: all\nmatch: { jobs: ["team/*"] }\n');
    expect(selectPolicy(set, target({ job: 'team/api.v2' })).policy?.name).toBe('all');
  });

  test('a tie goes to the name that sorts first, and the others are reported', () => {
    const s = selectPolicy(SET, target({ job: 'web-frontend' }));
    expect(s.policy?.name).toBe('web-a');
    expect(s.tiedWith).toEqual(['web-b', 'web-c']);
    expect(s.reason).toContain('tied with "web-b", "web-c"');
  });

  test('negative priorities lose to the default 0 and still govern alone', () => {
    const lowOnly = SET.filter((p) => p.name === 'web-low');
    expect(selectPolicy(lowOnly, target({ job: 'web-x' })).policy?.name).toBe('web-low');
  });
});

describe('pinning', () => {
  test('job Meta pins a policy, overriding match', () => {
    const s = selectPolicy(SET, target({ jobMeta: { 'nomad-promoter.policy': 'pinned-only' } }));
    expect(s.policy?.name).toBe('pinned-only');
    expect(s.reason).toBe('pinned by job Meta nomad-promoter.policy = "pinned-only"');
  });

  test('group Meta wins over job Meta', () => {
    const s = selectPolicy(
      SET,
      target({ jobMeta: { 'nomad-promoter.policy': 'web-a' }, groupMeta: { 'nomad-promoter.policy': 'pinned-only' } }),
    );
    expect(s.policy?.name).toBe('pinned-only');
    expect(s.reason).toContain('group Meta');
  });

  test('"none" opts out, even where a policy matches', () => {
    const s = selectPolicy(SET, target({ jobMeta: { team: 'payments', 'nomad-promoter.policy': 'none' } }));
    expect(s.policy).toBeUndefined();
    expect(s.reason).toBe('opted out by job Meta nomad-promoter.policy = "none"');
  });

  test('group "none" opts one group out of a job-wide pin', () => {
    const s = selectPolicy(
      SET,
      target({ jobMeta: { 'nomad-promoter.policy': 'web-a' }, groupMeta: { 'nomad-promoter.policy': 'none' } }),
    );
    expect(s.policy).toBeUndefined();
  });

  test('a pin naming an unknown policy governs nothing and is reported', () => {
    const s = selectPolicy(SET, target({ groupMeta: { 'nomad-promoter.policy': 'chekout-canary' } }));
    expect(s.policy).toBeUndefined();
    expect(s.pinnedUnknown).toBe('chekout-canary');
    expect(s.reason).toContain('unknown policy "chekout-canary"');
  });

  test('an empty pin value is no pin', () => {
    expect(selectPolicy(SET, target({ groupMeta: { 'nomad-promoter.policy': ' ' } })).policy?.name).toBe('checkout-canary');
  });
});
