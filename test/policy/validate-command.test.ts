import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicies } from '../../src/policy/load.js';
import { runValidate } from '../../src/policy/validate-command.js';

const fixtures = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const examples = fileURLToPath(new URL('../../examples/policies/', import.meta.url));

async function validate(paths: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runValidate(paths, (l) => lines.push(l));
  return { code, lines };
}

describe('runValidate', () => {
  test('valid policies: exit 0 and a one-line summary', async () => {
    const loaded = await loadPolicies([examples]);
    expect(loaded.policies.length).toBeGreaterThanOrEqual(4);
    const { code, lines } = await validate([examples]);
    expect(code).toBe(0);
    expect(lines).toEqual([`${loaded.policies.length} policies valid (${loaded.files?.length} files)`]);
  });

  test('one file with one policy', async () => {
    const { code, lines } = await validate([`${fixtures}duplicates/a.yaml`]);
    expect(code).toBe(0);
    expect(lines).toEqual(['1 policy valid (1 file)']);
  });

  test('invalid policies: exit 1, every error as file:line:col: message, then a count', async () => {
    const file = `${fixtures}broken/bad-duration.yaml`;
    const other = `${fixtures}broken/bad-enum-mode.yaml`;
    const { code, lines } = await validate([file, other]);
    expect(code).toBe(1);
    expect(lines).toEqual([
      `${file}:3:9: canary.bake: invalid duration "5 minutes" (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)`,
      `${other}:1:7: name: duplicate policy name "checkout-canary" (first defined at ${file}:1:7)`,
      `${other}:2:7: mode: invalid value "enforcing" (expected one of: enforce, dry-run)`,
      '3 errors in 2 files',
    ]);
  });

  test('a missing path: exit 1', async () => {
    const missing = `${fixtures}does-not-exist`;
    const { code, lines } = await validate([missing]);
    expect(code).toBe(1);
    expect(lines).toEqual([`${missing}: no such file or directory`, '1 error in 1 file']);
  });

  test('a directory with no policy: exit 1 and a message saying nothing would be governed', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'validate-empty-'));
    try {
      await writeFile(join(empty, 'README.txt'), 'not a policy\n');
      await writeFile(join(empty, 'blank.yaml'), '# nothing yet\n');
      const { code, lines } = await validate([empty]);
      expect(code).toBe(1);
      expect(lines).toEqual([`no policy found in ${empty} (1 file): the daemon would govern no deployment`]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('no paths: usage error, exit 2', async () => {
    const { code, lines } = await validate([]);
    expect(code).toBe(2);
    expect(lines[0]).toMatch(/^usage: nomad-promoter validate PATH/);
  });
});
