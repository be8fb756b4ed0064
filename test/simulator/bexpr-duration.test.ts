import { describe, expect, test } from '@jest/globals';

import { FilterEvalError, FilterFieldError, FilterSyntaxError, evaluateFilter, parseFilter } from '../../src/simulator/bexpr.js';
import { parseGoDuration } from '../../src/simulator/index.js';

describe('parseGoDuration (Go time.ParseDuration, in ms)', () => {
  test.each([
    ['300ms', 300],
    ['5m', 300_000],
    ['300000ms', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2us', 0.002],
    ['0', 0],
    ['-1s', -1000],
    ['1m0.25s', 60_250],
  ])('%s = %p ms', (input, ms) => {
    expect(parseGoDuration(input)).toBeCloseTo(ms, 6);
  });

  test.each(['5', '', 's', '1d', '5 m', 'abc', '1.2.3s'])('%p is an error', (input) => {
    expect(() => parseGoDuration(input)).toThrow(/time: /);
  });
});

describe('filter expressions (go-bexpr subset)', () => {
  const d = {
    ID: 'abc',
    Status: 'running',
    JobVersion: 2,
    IsMultiregion: false,
    Meta: { team: 'blue' },
    Tags: ['x', 'y'],
    TaskGroups: { web: { Promoted: true, DesiredCanaries: 1 } },
    RequireProgressBy: null,
  };
  const ok = (src: string): boolean => evaluateFilter(parseFilter(src), d);

  test.each([
    ['Status == "running"', true],
    ['Status == `running`', true],
    ['Status == running', true],
    ['Status != "running"', false],
    ['JobVersion == 2', true],
    ['JobVersion == 3', false],
    ['IsMultiregion == false', true],
    ['TaskGroups.web.Promoted == true', true],
    ['TaskGroups.api.Promoted == true', false],
    ['TaskGroups.api.Promoted != true', true],
    ['Status == "running" and JobVersion == 3', false],
    ['Status == "x" or JobVersion == 2', true],
    ['not Status == "x"', true],
    ['not (Status == "running" or Status == "paused")', false],
    ['(Status == "a" or Status == "running") and not IsMultiregion == true', true],
    ['"web" in TaskGroups', true],
    ['"api" not in TaskGroups', true],
    ['Tags contains "y"', true],
    ['Tags not contains "z"', true],
    ['ID matches "^a.c$"', true],
    ['Meta.team == blue', true],
    ['RequireProgressBy is empty', true],
    ['Meta is not empty', true],
  ])('%s -> %p', (src, expected) => {
    expect(ok(src)).toBe(expected);
  });

  test.each(['Status ==', 'Status = "x"', '(Status == "x"', 'Status == "x" and', '== "x"', 'Status "x"', 'Status == "unterminated'])(
    '%p does not parse',
    (src) => {
      expect(() => parseFilter(src)).toThrow(FilterSyntaxError);
      expect(() => parseFilter(src)).toThrow(/^\d+:\d+ \(\d+\): /);
    },
  );

  test('an unknown top-level field is an evaluation error', () => {
    expect(() => ok('Nope == "x"')).toThrow(FilterFieldError);
  });

  test.each([
    ['(', 'missing closing ): `(`'],
    [')', 'unexpected ): `)`'],
    ['[a', 'missing closing ]: `[a`'],
    ['*', 'missing argument to repetition operator: `*`'],
    ['a(?!b)', 'invalid or unsupported Perl syntax: `(?!`'],
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
  ])('matches %p: parses, and fails with Go\'s message when evaluated on a string', (pattern, why) => {
    const expr = parseFilter(`ID matches ${JSON.stringify(pattern)}`);
    expect(() => evaluateFilter(expr, d)).toThrow(FilterEvalError);
    expect(() => evaluateFilter(expr, d)).toThrow(`Failed to compile regular expression ${JSON.stringify(pattern)}: error parsing regexp: ${why}`);
    // A missing map key never reaches the pattern.
    expect(evaluateFilter(parseFilter(`Meta.nope matches ${JSON.stringify(pattern)}`), d)).toBe(false);
  });

  test.each([
    ['ID matches "(?i)^ABC$"', true],
    ['ID matches "(?s)a.c"', true],
    ['ID matches `\\\\1`', false], // raw string: the pattern is \\1, an escaped backslash then 1, not a backreference
    ['ID matches "[\\]1]"', false],
    ['ID not matches "^b"', true],
  ])('Go regexp syntax: %s -> %p', (src, expected) => {
    expect(ok(src)).toBe(expected);
  });
});
