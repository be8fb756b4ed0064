/** Runs the real `nomad-promoter validate` on policy text, once the CLI is built (npm ci builds it). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export const cliBuilt = fs.existsSync(path.resolve('dist/cli.js'));

export function validatePolicyText(text: string): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ship-policy-'));
  try {
    fs.writeFileSync(path.join(dir, 'policy.yaml'), text);
    const run = spawnSync(process.execPath, [path.resolve('bin/nomad-promoter'), 'validate', dir], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
