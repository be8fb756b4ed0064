/** The chart's values.schema.json accepts the shipped values and rejects broken ones clearly. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, expect } from '@jest/globals';
import { loadYamlFile, mergeValues, schemaErrors } from './lib/values.js';

const chart = path.resolve('helm/nomad-promoter');
const schema = JSON.parse(fs.readFileSync(path.join(chart, 'values.schema.json'), 'utf8')) as object;
const defaults = loadYamlFile(path.join(chart, 'values.yaml'));
const ciFiles = fs.readdirSync(path.join(chart, 'ci')).filter((f) => /\.ya?ml$/.test(f)).sort();
const fixtures = path.resolve('test/fixtures/ship');

describe('values.schema.json', () => {
  test('is a draft-07 schema that rejects unknown top-level keys', () => {
    expect((schema as { $schema?: string }).$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect((schema as { additionalProperties?: unknown }).additionalProperties).toBe(false);
  });

  test('accepts values.yaml as shipped', () => {
    expect(schemaErrors(schema, defaults, 'values.yaml')).toEqual([]);
  });

  test('there are example overrides in ci/', () => {
    expect(ciFiles.length).toBeGreaterThanOrEqual(2);
  });

  test.each(ciFiles)('accepts ci/%s merged over values.yaml, as helm -f does', (file) => {
    const merged = mergeValues(defaults, loadYamlFile(path.join(chart, 'ci', file)));
    expect(schemaErrors(schema, merged, `ci/${file}`)).toEqual([]);
  });

  test('rejects a broken values file, naming each offending key', () => {
    const broken = mergeValues(defaults, loadYamlFile(path.join(fixtures, 'values-broken.yaml')));
    const errors = schemaErrors(schema, broken, 'values-broken.yaml');
    expect(errors).toEqual(
      expect.arrayContaining([
        'values-broken.yaml: / must NOT have additional properties: replicaCount',
        'values-broken.yaml: /nomad must NOT have additional properties: adress',
        'values-broken.yaml: /image/pullPolicy must be equal to one of the allowed values: Always, IfNotPresent, Never',
        'values-broken.yaml: /service/port must be integer',
        'values-broken.yaml: /policies/files property name must be valid: checkout.json',
      ]),
    );
  });

  test('merging follows helm: maps merge, lists and scalars replace, null deletes', () => {
    const merged = mergeValues(
      { a: { b: 1, c: [1, 2] }, d: 'x', e: 1 },
      { a: { c: [3] }, d: null, f: { g: true } },
    );
    expect(merged).toEqual({ a: { b: 1, c: [3] }, e: 1, f: { g: true } });
  });
});
