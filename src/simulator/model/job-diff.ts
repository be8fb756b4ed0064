/**
 * `GET /v1/job/:id/versions?diffs=true`: Nomad's JobDiff of one version against the next, in its
 * JSON shape (Type Added|Deleted|Edited|None; Fields, Objects, TaskGroups, Tasks; empty lists as
 * null). A simplification of Nomad's structs/diff.go: every field is compared generically (Meta
 * and Env as `Name[key]` fields, other nested objects as Objects, lists as an Object of their
 * elements), without Nomad's per-field annotations or contextual "None" fields.
 */
import type { JobGroup, JobTask, JobVersion } from './types.js';

type DiffType = 'Added' | 'Deleted' | 'Edited' | 'None';

interface FieldDiff {
  Type: DiffType;
  Name: string;
  Old: string;
  New: string;
  Annotations: null;
}

interface ObjectDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
}

/** Fields Nomad's Job.Diff leaves out: identity, bookkeeping, and what is diffed separately. */
const JOB_IGNORED = new Set([
  'ID',
  'Status',
  'StatusDescription',
  'Version',
  'Stable',
  'CreateIndex',
  'ModifyIndex',
  'JobModifyIndex',
  'SubmitTime',
  'Update',
  'TaskGroups',
]);

/** Maps Nomad diffs as `Name[key]` fields; other objects (a task's Config) become Objects. */
const FLAT_MAPS = new Set(['Meta', 'Env']);

type Value = unknown;

const isRecord = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: Value): boolean => v === null || v === undefined || ['string', 'number', 'boolean'].includes(typeof v);
const text = (v: Value): string => (v === null || v === undefined ? '' : String(v));

function typeOf(old: Value, now: Value): DiffType {
  const absent = (v: Value): boolean => v === null || v === undefined;
  if (absent(old) && !absent(now)) return 'Added';
  if (!absent(old) && absent(now)) return 'Deleted';
  return 'Edited';
}

function field(name: string, old: Value, now: Value): FieldDiff | null {
  if (text(old) === text(now)) return null;
  const type: DiffType = text(old) === '' ? 'Added' : text(now) === '' ? 'Deleted' : 'Edited';
  return { Type: type, Name: name, Old: text(old), New: text(now), Annotations: null };
}

const orNull = <T>(list: T[]): T[] | null => (list.length > 0 ? list : null);

/** Fields and Objects of two records, keys in sorted order. */
function diffRecords(old: Record<string, Value>, now: Record<string, Value>, ignored: Set<string> = new Set()) {
  const fields: FieldDiff[] = [];
  const objects: ObjectDiff[] = [];
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].filter((k) => !ignored.has(k)).sort();
  for (const key of keys) {
    const a = old[key];
    const b = now[key];
    if (isScalar(a) && isScalar(b)) {
      const f = field(key, a, b);
      if (f) fields.push(f);
    } else if (Array.isArray(a) || Array.isArray(b)) {
      const list = (v: Value): Value[] => (Array.isArray(v) ? v : []);
      const entries = (v: Value): Record<string, Value> => Object.fromEntries(list(v).map((x, i) => [`${key}[${i}]`, x]));
      const o = objectDiff(key, entries(a), entries(b), a, b);
      if (o) objects.push(o);
    } else if (FLAT_MAPS.has(key)) {
      // Nomad flattens these maps: one field per key, named `Key[k]`.
      const ra = isRecord(a) ? a : {};
      const rb = isRecord(b) ? b : {};
      for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
        const f = field(`${key}[${k}]`, ra[k], rb[k]);
        if (f) fields.push(f);
      }
    } else {
      const o = objectDiff(key, isRecord(a) ? a : {}, isRecord(b) ? b : {}, a, b);
      if (o) objects.push(o);
    }
  }
  return { fields, objects };
}

function objectDiff(name: string, old: Record<string, Value>, now: Record<string, Value>, rawOld: Value, rawNew: Value): ObjectDiff | null {
  const { fields, objects } = diffRecords(old, now);
  if (fields.length === 0 && objects.length === 0) return null;
  return { Type: typeOf(rawOld, rawNew), Name: name, Fields: orNull(fields), Objects: orNull(objects) };
}

/** Pairs the named members (groups, tasks) of two lists, sorted by name. */
function byName<T extends { Name: string }>(old: T[], now: T[]): [string, T | undefined, T | undefined][] {
  const names = [...new Set([...old.map((x) => x.Name), ...now.map((x) => x.Name)])].sort();
  return names.map((n) => [n, old.find((x) => x.Name === n), now.find((x) => x.Name === n)]);
}

function taskDiff(name: string, old: JobTask | undefined, now: JobTask | undefined) {
  const { fields, objects } = diffRecords(old ?? {}, now ?? {}, new Set(['Name']));
  const type: DiffType = !old ? 'Added' : !now ? 'Deleted' : fields.length + objects.length > 0 ? 'Edited' : 'None';
  return { Type: type, Name: name, Fields: orNull(fields), Objects: orNull(objects), Annotations: null };
}

function groupDiff(name: string, old: JobGroup | undefined, now: JobGroup | undefined) {
  const { fields, objects } = diffRecords(old ?? {}, now ?? {}, new Set(['Name', 'Tasks']));
  const tasks = byName(old?.Tasks ?? [], now?.Tasks ?? [])
    .map(([n, a, b]) => taskDiff(n, a, b))
    .filter((t) => t.Type !== 'None');
  const changed = fields.length + objects.length + tasks.length > 0;
  const type: DiffType = !old ? 'Added' : !now ? 'Deleted' : changed ? 'Edited' : 'None';
  return { Type: type, Name: name, Fields: orNull(fields), Objects: orNull(objects), Tasks: orNull(tasks), Updates: null };
}

/** Nomad's `old.Diff(new)`: what changed from `old` to `now`. */
export function diffJobVersions(old: JobVersion, now: JobVersion): Record<string, unknown> {
  const { fields, objects } = diffRecords(old, now, JOB_IGNORED);
  const groups = byName(old.TaskGroups, now.TaskGroups)
    .map(([n, a, b]) => groupDiff(n, a, b))
    .filter((g) => g.Type !== 'None');
  const changed = fields.length + objects.length + groups.length > 0;
  return { Type: changed ? 'Edited' : 'None', ID: now.ID, Fields: orNull(fields), Objects: orNull(objects), TaskGroups: orNull(groups) };
}
