/** Helm values: load, merge like `helm install -f`, validate against values.schema.json. */
import fs from 'node:fs';
import { parse } from 'yaml';
import AjvModule from 'ajv';
import type { ErrorObject } from 'ajv';

const Ajv = AjvModule.default;

export type Values = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function loadYamlFile(file: string): Values {
  const doc: unknown = parse(fs.readFileSync(file, 'utf8'));
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new Error(`${file}: top level is not a mapping`);
  return doc;
}

/** Helm's coalescing: maps merge key by key, anything else replaces, null deletes the key. */
export function mergeValues(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isPlainObject(value) && isPlainObject(current)) out[key] = mergeValues(current, value);
    else out[key] = value;
  }
  return out;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '/';
  const p = e.params as Record<string, unknown>;
  let detail = '';
  if (e.keyword === 'additionalProperties') detail = `: ${String(p.additionalProperty)}`;
  else if (e.keyword === 'enum') detail = `: ${(p.allowedValues as unknown[]).join(', ')}`;
  else if (e.keyword === 'propertyNames') detail = `: ${String(p.propertyName)}`;
  return `${where} ${e.message ?? e.keyword}${detail}`;
}

/** Returns one readable line per schema violation; empty when the values are valid. */
export function schemaErrors(schema: object, values: Values, label: string): string[] {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validate = ajv.compile(schema);
  if (validate(values)) return [];
  return (validate.errors ?? []).map((e) => `${label}: ${describe(e)}`);
}
