/** The example policies shipped inside the chart values and the Nomad job file. */
import fs from 'node:fs';
import path from 'node:path';
import { loadYamlFile, isPlainObject } from './values.js';

export interface ShippedPolicy {
  source: string;
  text: string;
}

function chartPolicies(file: string, label: string): ShippedPolicy[] {
  const policies = loadYamlFile(file).policies;
  const files = isPlainObject(policies) && isPlainObject(policies.files) ? policies.files : {};
  return Object.entries(files).map(([name, text]) => ({ source: `${label} policies.files.${name}`, text: String(text) }));
}

/** Heredoc bodies of `template` blocks rendering into local/policies/, dedented like `<<-`. */
export function nomadJobPolicies(file: string): ShippedPolicy[] {
  const hcl = fs.readFileSync(file, 'utf8');
  const out: ShippedPolicy[] = [];
  for (const block of hcl.split(/\n\s*template\s*\{/).slice(1)) {
    if (!/destination\s*=\s*"local\/policies\//.test(block)) continue;
    const m = /<<-(\w+)\n([\s\S]*?)\n\s*\1\n/.exec(block);
    if (!m) continue;
    const lines = (m[2] ?? '').split('\n');
    const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)?.[0].length ?? 0));
    out.push({ source: `${path.basename(file)} template`, text: lines.map((l) => l.slice(indent)).join('\n') + '\n' });
  }
  return out;
}

export function shippedPolicies(root: string): ShippedPolicy[] {
  const chart = path.join(root, 'helm/nomad-promoter');
  return [
    ...chartPolicies(path.join(chart, 'values.yaml'), 'values.yaml'),
    ...fs.readdirSync(path.join(chart, 'ci')).filter((f) => /\.ya?ml$/.test(f)).sort()
      .flatMap((f) => chartPolicies(path.join(chart, 'ci', f), `ci/${f}`)),
    ...nomadJobPolicies(path.join(root, 'deploy/nomad/nomad-promoter.nomad.hcl')),
  ];
}
