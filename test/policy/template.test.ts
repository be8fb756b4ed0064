import { describe, expect, test } from '@jest/globals';
import { checkTemplate, redactSecrets, renderTemplate, templateNames } from '../../src/policy/template.js';
import type { TemplateVars } from '../../src/policy/template.js';

const VARS: TemplateVars = {
  namespace: 'prod',
  job: 'checkout-api',
  group: 'api',
  deploymentId: 'd-1',
  jobVersion: 7,
  jobMeta: { team: 'payments', 'nomad-promoter.policy': 'checkout-canary' },
  canaryAllocIds: ['a1', 'a2'],
  newAllocIds: ['a1', 'a2', 'a3'],
  stableAllocIds: ['s1'],
  alloc: {
    id: 'a1',
    name: 'checkout-api.api[0]',
    node: 'node-1',
    ip: '10.0.0.5',
    ports: { http: { port: 8080 }, admin: { port: 9000, ip: '10.0.1.5' }, v6: { port: 80, ip: 'fd00::1' } },
  },
  env: { PROMOTER_VAR_TOKEN: 's3cret', HOME: '/root' },
};

describe('templateNames', () => {
  test('finds each name once, whitespace inside braces allowed', () => {
    expect(templateNames('{{job}}-{{  group }}/{{ job }} {{\tdeployment.id\t}}')).toEqual(['job', 'group', 'deployment.id']);
  });

  test('text without placeholders has none', () => {
    expect(templateNames('sum(rate(x{code=~"5.."}[1m]))')).toEqual([]);
  });
});

describe('checkTemplate', () => {
  test('every contract name is known in allocation scope', () => {
    const all =
      '{{ namespace }}{{ job }}{{ group }}{{ deployment.id }}{{ job.version }}{{ job.meta.team }}' +
      '{{ canary.allocIds }}{{ canary.allocIdsRegex }}{{ new.allocIdsRegex }}{{ stable.allocIdsRegex }}' +
      '{{ alloc.id }}{{ alloc.name }}{{ alloc.node }}{{ alloc.ip }}{{ alloc.port.http }}{{ alloc.addr.http }}' +
      '{{ env.PROMOTER_VAR_TOKEN }}';
    expect(checkTemplate(all, 'allocation')).toEqual([]);
  });

  test('alloc.* names need allocation scope', () => {
    expect(checkTemplate('http://{{ alloc.addr.http }}/ {{ alloc.id }}', 'deployment')).toEqual([
      'template name "alloc.addr.http" needs "scope: allocation" (this check has scope deployment)',
      'template name "alloc.id" needs "scope: allocation" (this check has scope deployment)',
    ]);
  });

  test('only PROMOTER_VAR_* environment variables are visible', () => {
    expect(checkTemplate('{{ env.HOME }}', 'deployment')).toEqual([
      'template name "env.HOME": only environment variables whose names start with PROMOTER_VAR_ are visible',
    ]);
    expect(checkTemplate('{{ env.PROMOTER_VAR_X }}', 'deployment')).toEqual([]);
  });

  test('unknown names, empty and logical placeholders, unclosed braces', () => {
    expect(checkTemplate('{{ jobs }}', 'deployment')).toEqual(['unknown template name "jobs"']);
    expect(checkTemplate('{{ alloc.port. }}', 'allocation')).toEqual(['template name "alloc.port." needs a port label after "alloc.port."']);
    expect(checkTemplate('{{ job.meta. }}', 'deployment')).toEqual(['unknown template name "job.meta."']);
    expect(checkTemplate('{{ }}', 'deployment')).toEqual(['empty template placeholder "{{ }}"']);
    expect(checkTemplate('{{ if job }}x{{ end }}', 'deployment')).toEqual([
      'template placeholder "{{ if job }}" must hold a single name (templates have no logic)',
      'unknown template name "end"',
    ]);
    expect(checkTemplate('up{job="{{ job }"}', 'deployment')).toEqual([
      'unclosed "{{" in template (a placeholder is written {{ name }})',
    ]);
  });
});

describe('renderTemplate', () => {
  test('renders every name', () => {
    const cases: [string, string][] = [
      ['{{ namespace }}/{{ job }}/{{ group }}', 'prod/checkout-api/api'],
      ['{{ deployment.id }} v{{ job.version }}', 'd-1 v7'],
      ['{{ job.meta.team }} {{ job.meta.nomad-promoter.policy }}', 'payments checkout-canary'],
      ['{{ canary.allocIds }}', 'a1,a2'],
      ['alloc_id=~"{{ canary.allocIdsRegex }}"', 'alloc_id=~"a1|a2"'],
      ['{{ new.allocIdsRegex }} {{ stable.allocIdsRegex }}', 'a1|a2|a3 s1'],
      ['{{ alloc.id }} {{ alloc.name }} {{ alloc.node }} {{ alloc.ip }}', 'a1 checkout-api.api[0] node-1 10.0.0.5'],
      ['http://{{ alloc.addr.http }}/healthz :{{ alloc.port.http }}', 'http://10.0.0.5:8080/healthz :8080'],
      ['{{ alloc.addr.admin }} {{ alloc.addr.v6 }}', '10.0.1.5:9000 [fd00::1]:80'],
      ['Bearer {{env.PROMOTER_VAR_TOKEN}}', 'Bearer s3cret'],
      ['no placeholders }} {', 'no placeholders }} {'],
    ];
    for (const [text, want] of cases) expect(renderTemplate(text, VARS)).toEqual({ ok: true, text: want });
  });

  test('a name with no value is an error, never an empty string', () => {
    expect(renderTemplate('{{ alloc.addr.grpc }}', VARS)).toEqual({ ok: false, error: 'template name "alloc.addr.grpc" has no value here' });
    expect(renderTemplate('{{ job.meta.owner }}', VARS)).toEqual({ ok: false, error: 'template name "job.meta.owner" has no value here' });
    expect(renderTemplate('{{ env.PROMOTER_VAR_MISSING }}', VARS)).toEqual({
      ok: false,
      error: 'template name "env.PROMOTER_VAR_MISSING" has no value here',
    });
    expect(renderTemplate('{{ alloc.id }}', { job: 'x' })).toEqual({ ok: false, error: 'template name "alloc.id" has no value here' });
  });

  test('unknown and invisible names fail at render time too', () => {
    expect(renderTemplate('{{ env.HOME }}', VARS).ok).toBe(false);
    expect(renderTemplate('{{ nope }}', VARS)).toEqual({ ok: false, error: 'unknown template name "nope"' });
  });

  test('an empty ID list renders as a regex that matches nothing, not as ""', () => {
    const r = renderTemplate('{{ stable.allocIdsRegex }}', { ...VARS, stableAllocIds: [] });
    expect(r.ok).toBe(true);
    const regex = new RegExp(`^(?:${(r as { text: string }).text})$`);
    for (const s of ['', 'a1', 'none', '$none^']) expect(regex.test(s)).toBe(false);
    expect(renderTemplate('{{ canary.allocIds }}', { ...VARS, canaryAllocIds: [] })).toEqual({ ok: true, text: '' });
  });

  test('render errors never carry a secret value', () => {
    const r = renderTemplate('{{ env.PROMOTER_VAR_TOKEN }} {{ alloc.port.grpc }}', VARS);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain('s3cret');
  });
});

describe('redactSecrets', () => {
  test('replaces every PROMOTER_VAR_* value, and only those', () => {
    const env = { PROMOTER_VAR_TOKEN: 's3cret', PROMOTER_VAR_EMPTY: '', HOME: '/root' };
    expect(redactSecrets('GET /x Authorization: Bearer s3cret (s3cret) in /root', env)).toBe(
      'GET /x Authorization: Bearer [redacted] ([redacted]) in /root',
    );
  });

  test('a secret containing another is hidden whole', () => {
    const env = { PROMOTER_VAR_A: 'abc', PROMOTER_VAR_B: 'xxabcxx' };
    expect(redactSecrets('token=xxabcxx other=abc', env)).toBe('token=[redacted] other=[redacted]');
  });

  test('text without secrets is unchanged', () => {
    expect(redactSecrets('nothing here', { PROMOTER_VAR_A: 'zzz' })).toBe('nothing here');
  });

  test('short values are hidden too, whatever their length', () => {
    const env = { PROMOTER_VAR_PIN: '42', PROMOTER_VAR_K: 'Q' };
    expect(redactSecrets('pin 42 key Q', env)).toBe('pin [redacted] key [redacted]');
  });

  test('overlapping occurrences leave no character of a secret', () => {
    expect(redactSecrets('id=aaa', { PROMOTER_VAR_A: 'aa' })).toBe('id=[redacted]');
    expect(redactSecrets('v=abcde!', { PROMOTER_VAR_A: 'abcd', PROMOTER_VAR_B: 'cde' })).toBe('v=[redacted]!');
  });

  test('[redacted] markers already in the text are kept whole', () => {
    expect(redactSecrets('token [redacted] red', { PROMOTER_VAR_A: 'red' })).toBe('token [redacted] [redacted]');
  });
});
