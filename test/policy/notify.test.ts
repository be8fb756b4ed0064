/** The `notify` key of a policy: what it reads, and every mistake named at its place. */
import { describe, expect, test } from '@jest/globals';
import { formatPolicyError, parsePolicies } from '../../src/policy/load.js';

const HEAD = 'name: p\nnotify:\n';

function errorsOf(notify: string): string[] {
  const r = parsePolicies(HEAD + notify, 'p.yaml');
  expect(r.errors.length > 0 ? r.policies : []).toEqual([]);
  return r.errors.map(formatPolicyError);
}

describe('a valid notify block', () => {
  test('reads webhook and slack targets, with defaults for heldAfter and timeout', () => {
    const r = parsePolicies(
      `${HEAD}  - webhook:
      url: https://hooks.example.com/promoter
      headers: { Authorization: "Bearer {{ env.PROMOTER_VAR_HOOK }}", X-Job: "{{ namespace }}/{{ job }}" }
    on: [promoted, failed, held]
    heldAfter: 2m
  - slack:
      url: "{{ env.PROMOTER_VAR_SLACK_URL }}"
      prefix: "[{{ job }} v{{ job.version }}]"
    on: [rolled_back, timeout, human]
    timeout: 3s
`,
      'p.yaml',
    );
    expect(r.errors.map(formatPolicyError)).toEqual([]);
    expect(r.policies[0]?.notify).toEqual([
      {
        kind: 'webhook',
        url: 'https://hooks.example.com/promoter',
        headers: { Authorization: 'Bearer {{ env.PROMOTER_VAR_HOOK }}', 'X-Job': '{{ namespace }}/{{ job }}' },
        prefix: '',
        on: ['promoted', 'failed', 'held'],
        heldAfterMs: 120_000,
        timeoutMs: 10_000,
      },
      {
        kind: 'slack',
        url: '{{ env.PROMOTER_VAR_SLACK_URL }}',
        headers: {},
        prefix: '[{{ job }} v{{ job.version }}]',
        on: ['rolled_back', 'timeout', 'human'],
        heldAfterMs: 300_000,
        timeoutMs: 3_000,
      },
    ]);
  });

  test('a policy without notify has none', () => {
    const r = parsePolicies('name: p\n', 'p.yaml');
    expect(r.policies[0]?.notify).toBeUndefined();
  });
});

describe('a bad notify block is refused with its position', () => {
  test.each([
    ['not a list', '  webhook: {url: "http://h"}\n', ['p.yaml:3:3: notify: must be a list']],
    ['no target kind', '  - on: [promoted]\n', ['p.yaml:3:5: notify[0]: needs one target: webhook or slack']],
    [
      'both kinds',
      '  - webhook: {url: "http://h"}\n    slack: {url: "http://h"}\n    on: [failed]\n',
      ['p.yaml:4:5: notify[0]: has both webhook and slack; a target is exactly one of them'],
    ],
    ['unknown key', '  - webhook: {url: "http://h"}\n    when: [failed]\n', [
      'p.yaml:3:5: notify[0]: missing required key "on" (any of: promoted, failed, rolled_back, held, timeout, human)',
      'p.yaml:4:5: unknown key "when" in notify[0] (expected one of: webhook, slack, on, heldAfter, timeout)',
    ]],
    ['unknown key in webhook', '  - webhook: {url: "http://h", header: {a: b}}\n    on: [failed]\n', [
      'p.yaml:3:32: unknown key "header" in notify[0].webhook (did you mean "headers"?)',
    ]],
    ['missing url', '  - slack: {prefix: x}\n    on: [failed]\n', ['p.yaml:3:5: notify[0].slack: missing required key "url"']],
    ['bad url', '  - webhook: {url: "hooks.example.com/x"}\n    on: [failed]\n', [
      'p.yaml:3:20: notify[0].webhook.url: not a URL (expected http://host[:port][/path])',
    ]],
    ['not http', '  - slack: {url: "ftp://hooks.example.com/x"}\n    on: [failed]\n', [
      'p.yaml:3:18: notify[0].slack.url: not http:// or https://',
    ]],
    ['unknown event', '  - webhook: {url: "http://h"}\n    on: [promoted, aborted]\n', [
      'p.yaml:4:20: notify[0].on[1]: unknown event "aborted" (expected any of: promoted, failed, rolled_back, held, timeout, human)',
    ]],
    ['event twice', '  - webhook: {url: "http://h"}\n    on: [failed, failed]\n', ['p.yaml:4:18: notify[0].on[1]: event "failed" is listed twice']],
    ['empty on', '  - webhook: {url: "http://h"}\n    on: []\n', [
      'p.yaml:4:9: notify[0].on: must name at least one event (any of: promoted, failed, rolled_back, held, timeout, human)',
    ]],
    ['bad heldAfter', '  - webhook: {url: "http://h"}\n    on: [held]\n    heldAfter: 5 minutes\n', [
      'p.yaml:5:16: notify[0].heldAfter: invalid duration "5 minutes" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)',
    ]],
    ['heldAfter without held', '  - webhook: {url: "http://h"}\n    on: [failed]\n    heldAfter: 5m\n', [
      'p.yaml:5:16: notify[0].heldAfter: applies to the "held" event only; add held to "on" or remove heldAfter',
    ]],
    ['heldAfter beyond what a timer keeps', '  - webhook: {url: "http://h"}\n    on: [held]\n    heldAfter: 597h\n', ['p.yaml:5:16: notify[0].heldAfter: must be at most 596h']],
    ['timeout beyond what a timer keeps', '  - webhook: {url: "http://h"}\n    on: [failed]\n    timeout: 1000h\n', ['p.yaml:5:14: notify[0].timeout: must be at most 596h']],
    ['bad url with credentials, not quoted', '  - webhook: {url: "http://u:s3cret%zz@h/x"}\n    on: [failed]\n', [
      'p.yaml:3:20: notify[0].webhook.url: user:password@ is not valid percent-encoding (write a literal % as %25)',
    ]],
    ['zero timeout', '  - webhook: {url: "http://h"}\n    on: [failed]\n    timeout: 0s\n', ['p.yaml:5:14: notify[0].timeout: must be longer than 0s']],
    ['group template', '  - webhook: {url: "http://h", headers: {X-Group: "{{ group }}"}}\n    on: [failed]\n', [
      'p.yaml:3:51: notify[0].webhook.headers.X-Group: template name "group" is not available in notify (available: namespace, job, deployment.id, job.version, env.PROMOTER_VAR_*)',
    ]],
    ['env outside PROMOTER_VAR_', '  - slack: {url: "{{ env.SLACK_URL }}"}\n    on: [failed]\n', [
      'p.yaml:3:18: notify[0].slack.url: template name "env.SLACK_URL": only environment variables whose names start with PROMOTER_VAR_ are visible',
    ]],
    ['prefix with logic', '  - slack: {url: "http://h", prefix: "{{ job | upper }}"}\n    on: [failed]\n', [
      'p.yaml:3:38: notify[0].slack.prefix: template placeholder "{{ job | upper }}" must hold a single name (templates have no logic)',
    ]],
  ])('%s', (_what, notify, expected) => {
    expect(errorsOf(notify)).toEqual(expected);
  });
});
