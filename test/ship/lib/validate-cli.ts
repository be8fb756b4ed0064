/** Runs the real `nomad-promoter validate` on policy text, once the CLI is built (npm ci builds it). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export const cliBuilt = fs.existsSync(path.resolve('dist/cli.js'));

/** `into`: a directory whose files are there too, as when a user adds a file to it. */
export function validatePolicyText(text: string, options: { file?: string; into?: string } = {}): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ship-policy-'));
  try {
    if (options.into) fs.cpSync(path.resolve(options.into), dir, { recursive: true });
    fs.writeFileSync(path.join(dir, options.file ?? 'policy.yaml'), text);
    const run = spawnSync(process.execPath, [path.resolve('bin/nomad-promoter'), 'validate', dir], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
