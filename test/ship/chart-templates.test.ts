/** Every value a chart template reads is defined in values.yaml, and every block is closed. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, expect } from '@jest/globals';
import { loadYamlFile } from './lib/values.js';
import { isDefined, scanTemplate } from './lib/template-values.js';
import type { Values } from './lib/values.js';

const chart = path.resolve('helm/nomad-promoter');
const values = loadYamlFile(path.join(chart, 'values.yaml'));

function templateFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f)).sort().map((f) => path.join(dir, f));
}

/** `file:line: .Values.x.y is not defined in values.yaml` for each undefined reference. */
function undefinedRefs(files: string[], vals: Values): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const scan = scanTemplate(fs.readFileSync(file, 'utf8'));
    for (const e of scan.structureErrors) problems.push(`${path.basename(file)}: ${e}`);
    for (const ref of scan.refs) {
      if (!isDefined(vals, ref.path)) {
        problems.push(`${path.basename(file)}:${ref.line}: .Values.${ref.path.join('.')} is not defined in values.yaml`);
      }
    }
  }
  return problems;
}

describe('chart templates', () => {
  const files = templateFiles(path.join(chart, 'templates'));

  test('the chart has the expected templates', () => {
    const names = files.map((f) => path.basename(f));
    for (const t of ['_helpers.tpl', 'deployment.yaml', 'configmap.yaml', 'secret.yaml', 'service.yaml',
      'servicemonitor.yaml', 'pdb.yaml', 'serviceaccount.yaml', 'NOTES.txt']) {
      expect(names).toContain(t);
    }
  });

  test('read only values that values.yaml defines', () => {
    expect(undefinedRefs(files, values)).toEqual([]);
  });

  test('the reference scan sees through with-scopes (it found nested paths)', () => {
    const refs = files.flatMap((f) => scanTemplate(fs.readFileSync(f, 'utf8')).refs.map((r) => r.path.join('.')));
    expect(refs).toContain('nomad.tls.caCertKey');
    expect(refs).toContain('nomad.token.existingSecret');
  });

  test('every top-level value is used by some template', () => {
    const used = new Set(files.flatMap((f) => scanTemplate(fs.readFileSync(f, 'utf8')).refs.map((r) => r.path[0])));
    expect(Object.keys(values).filter((k) => !used.has(k))).toEqual([]);
  });

  // Replicas, strategy and HA as rendered by helm: chart-render.test.ts.
  test('the Deployment has both probes and a read-only root', () => {
    const text = fs.readFileSync(path.join(chart, 'templates', 'deployment.yaml'), 'utf8');
    expect(text).toMatch(/path: \/healthz/);
    expect(text).toMatch(/path: \/readyz/);
    expect(text).toMatch(/mountPath: \/tmp/);
    expect(values.securityContext).toMatchObject({
      runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('catches a template reading undefined values, also inside with-blocks', () => {
    const problems = undefinedRefs(templateFiles(path.resolve('test/fixtures/ship/helm-undefined')), values);
    expect(problems).toEqual([
      'bad.yaml:6: .Values.image.registry is not defined in values.yaml',
      'bad.yaml:9: .Values.nomad.adress is not defined in values.yaml',
      'bad.yaml:12: .Values.metrics.port is not defined in values.yaml',
    ]);
  });

  test('catches an unclosed block', () => {
    expect(scanTemplate('{{- if .Values.x }}\na: 1\n').structureErrors).toEqual(['line 1: {{ if }} is never closed']);
    expect(scanTemplate('{{- end }}').structureErrors).toEqual(['line 1: {{ end }} without an open block']);
  });
});
