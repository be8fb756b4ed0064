/** The README's set-up commands, its quick-start policy, and the links of the shipping docs. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, expect } from '@jest/globals';
import { cliBuilt, validatePolicyText } from './lib/validate-cli.js';

const readme = fs.readFileSync(path.resolve('README.md'), 'utf8');
const fences = [...readme.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] ?? '', body: m[2] ?? '' }));
/** Every Markdown file a user may open: the README, docs/ and the module READMEs under src/. */
const docs = ['README.md', ...['docs', 'src'].flatMap((dir) =>
  (fs.readdirSync(path.resolve(dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.md')).map((f) => path.join(dir, f)))];

describe('README', () => {
  test('gives the two set-up commands verbatim, each in its own code block', () => {
    const commands = fences.map((f) => f.body.trim());
    expect(commands).toContain('npm ci && ./bin/nomad-promoter demo');
    expect(commands).toContain('apt-get update && apt-get install -y prometheus chromium && npm test');
    expect(readme.indexOf('npm ci && ./bin/nomad-promoter demo')).toBeLessThan(readme.indexOf('## Quick start'));
  });

  test('lists every command of the CLI contract', () => {
    for (const c of ['run', 'validate PATH...', 'explain DEPLOYMENT_ID', 'demo', 'simulate']) {
      expect(readme).toContain(`| \`nomad-promoter ${c}\` |`);
    }
  });

  const policy = fences.find((f) => f.lang === 'yaml')?.body ?? '';
  const dedented = policy.replace(new RegExp(`^ {${/^ */.exec(policy)?.[0].length ?? 0}}`, 'gm'), '');
  (cliBuilt ? test : test.skip)('quick-start policy passes `nomad-promoter validate`', () => {
    expect(dedented).toContain('name: checkout-canary');
    expect(validatePolicyText(dedented)).toEqual(expect.objectContaining({ status: 0 }));
  });

  (cliBuilt ? test : test.skip)('quick start verbatim in a fresh checkout: policies/checkout.yaml, then `validate policies/` exits 0', () => {
    expect(readme).toContain('3. A policy, `policies/checkout.yaml`');
    expect(readme).toContain('./bin/nomad-promoter validate policies/');
    expect(validatePolicyText(dedented, { file: 'checkout.yaml', into: 'policies' })).toEqual({ status: 0, output: '1 policy valid (1 file)\n' });
  });
});

describe('relative links in the shipping docs', () => {
  // docs/policy.md is copied in from the policy contract; until it is, its links are not checked.
  const pending = new Set(fs.existsSync(path.resolve('docs/policy.md')) ? [] : [path.resolve('docs/policy.md')]);

  test.each(docs)('%s links only to files that exist inside the repository', (doc) => {
    const text = fs.readFileSync(path.resolve(doc), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1] ?? '')
      .filter((t) => !/^[a-z]+:/.test(t))
      .map((t) => path.relative(process.cwd(), path.resolve(path.dirname(path.resolve(doc)), t)));
    // A link out of the checkout works on one machine at most.
    const broken = targets.filter((t) => t.startsWith('..') || (!fs.existsSync(t) && !pending.has(path.resolve(t))));
    expect(broken).toEqual([]);
  });
});
