/** Secrets in provider messages: every value listed is hidden, whatever its length. */
import { describe, expect, test } from '@jest/globals';
import { interpret } from '../../src/checks/prometheus.js';
import { describeError, redact } from '../../src/checks/secrets.js';

describe('redact', () => {
  test.each([
    ['1 character', 'Q'],
    ['2 characters', 'Qz'],
    ['3 characters', 'Q9z'],
    ['4 characters', 'Qp4Z'],
  ])('a %s secret is hidden', (_name, secret) => {
    const out = redact(`auth failed for token ${secret}, retry`, [secret]);
    expect(out).toBe('auth failed for token [redacted], retry');
  });

  test('a short secret is hidden wherever its characters appear (the price of never showing it)', () => {
    expect(redact('connect ECONNREFUSED 10.0.0.1:80', ['0.'])).toBe('connect ECONNREFUSED 1[redacted]1:80');
  });

  test('empty values hide nothing', () => {
    expect(redact('nothing to hide', ['', ''])).toBe('nothing to hide');
  });

  test('overlapping occurrences and overlapping secrets leave no character of a secret', () => {
    expect(redact('id=aaa', ['aa'])).toBe('id=[redacted]');
    expect(redact('v=abcde!', ['abcd', 'cde'])).toBe('v=[redacted]!');
  });

  test('the message is cut after redaction, so a cut never leaves part of a secret', () => {
    const secret = 'tok-0123456789';
    const text = `${'x'.repeat(995)}${secret} and more`;
    const out = redact(text, [secret]);
    expect(out).not.toContain('tok-');
    expect(out.length).toBeLessThanOrEqual(1001);
  });

  test('a short secret does not mangle [redacted] markers of an earlier pass', () => {
    expect(redact('Bearer [redacted] at e1', ['e'])).toBe('B[redacted]ar[redacted]r [redacted] at [redacted]1');
  });
});

describe('short secrets in provider messages', () => {
  test('an error with a 3-character secret', () => {
    expect(describeError('request failed', new Error('bad key "k3y"'), ['k3y'])).toBe('request failed: bad key "[redacted]"');
  });

  test('Prometheus echoing a 2-character secret in its error and warnings', () => {
    const body = { status: 'error', errorType: 'bad_data', error: 'unknown label value "Qz"' };
    expect(interpret(400, JSON.stringify(body), ['Qz'])).toEqual({
      kind: 'error',
      message: 'Prometheus query failed (HTTP 400, bad_data): unknown label value "[redacted]"',
    });
    const ok = { status: 'success', data: { resultType: 'vector', result: [] }, warnings: ['remote Qz down'] };
    expect(interpret(200, JSON.stringify(ok), ['Qz'])).toMatchObject({ warnings: ['remote [redacted] down'] });
  });
});
