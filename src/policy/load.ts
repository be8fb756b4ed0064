/**
 * Loading policy files: the only file I/O of the policy module. Files or directories
 * (`*.yaml`, `*.yml`, sorted, not recursive); several YAML documents per file; every error of
 * every file reported at once, positioned (docs/policy.md "Durations and validation").
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { Policy } from '../domain/policy.js';
import type { PolicyError, PolicyLoadResult } from './errors.js';
import { readPolicy } from './validate.js';
import type { DocumentOutcome } from './validate.js';
import { DocumentReader } from './yaml-reader.js';

export type { PolicyError, PolicyLoadResult } from './errors.js';
export { formatPolicyError } from './errors.js';

const POLICY_FILE = /\.ya?ml$/i;

interface FileOutcome {
  errors: PolicyError[];
  documents: (DocumentOutcome & { file: string })[];
}

/** Larger files are rejected unread: parsing and checking them would hold up the daemon. */
export const MAX_POLICY_FILE_BYTES = 64 * 1024;
/** Errors reported per file; the rest are counted, so a broken file cannot flood the log. */
export const MAX_ERRORS_PER_FILE = 20;

function parseFile(text: string, file: string): FileOutcome {
  const lineCounter = new LineCounter();
  // Duplicate keys are reported by the reader (DocumentReader.mapping).
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const docs = Array.isArray(parsed) ? parsed : [];
  const errors: PolicyError[] = [];
  const documents: FileOutcome['documents'] = [];
  for (const doc of docs) {
    const reader = new DocumentReader(file, text, lineCounter, doc);
    // After a syntax error the tree is a guess; checking it would add noise.
    if (doc.errors.length > 0) {
      for (const e of doc.errors) reader.errorAt(reader.positionOf(e.pos[0]), `YAML syntax error: ${e.message}`);
      errors.push(...reader.errors);
      continue;
    }
    const root = reader.resolve(doc.contents);
    if (reader.isEmpty(root)) continue; // empty document, e.g. a trailing `---`
    const outcome = readPolicy(reader, root as NonNullable<typeof root>);
    errors.push(...reader.errors);
    documents.push({ ...outcome, file });
  }
  return { errors, documents };
}

function byPosition(a: PolicyError, b: PolicyError): number {
  return a.line - b.line || a.column - b.column;
}

/** The first MAX_ERRORS_PER_FILE errors of one file, then one error counting the rest. */
function capped(errors: PolicyError[]): PolicyError[] {
  if (errors.length <= MAX_ERRORS_PER_FILE) return errors;
  const rest = errors.length - MAX_ERRORS_PER_FILE;
  const file = errors[0]!.file;
  return [...errors.slice(0, MAX_ERRORS_PER_FILE), { file, line: 0, column: 0, message: `${rest} more ${rest === 1 ? 'error' : 'errors'} not shown` }];
}

/** Cross-document checks (duplicate names) and assembly of the result. */
function assemble(files: { file: string; outcome?: FileOutcome; error?: PolicyError }[]): PolicyLoadResult {
  const errors: PolicyError[] = [];
  const policies: Policy[] = [];
  const first = new Map<string, string>();
  for (const { file, outcome, error } of files) {
    const fileErrors: PolicyError[] = error ? [error] : [...(outcome?.errors ?? [])];
    for (const d of outcome?.documents ?? []) {
      if (d.name === undefined || !d.namePosition) continue;
      const where = `${d.file}:${d.namePosition.line}:${d.namePosition.column}`;
      const earlier = first.get(d.name);
      if (earlier !== undefined) {
        fileErrors.push({
          file: d.file,
          line: d.namePosition.line,
          column: d.namePosition.column,
          message: `name: duplicate policy name "${d.name}" (first defined at ${earlier})`,
        });
        continue;
      }
      first.set(d.name, where);
      if (d.policy) policies.push(d.policy);
    }
    errors.push(...capped(fileErrors.sort(byPosition)));
  }
  return errors.length > 0
    ? { policies: [], errors, files: files.map((f) => f.file) }
    : { policies, errors, files: files.map((f) => f.file) };
}

/**
 * Policies from YAML text (one file's content). `file` names it in errors and in each
 * policy's `source`.
 */
export function parsePolicies(text: string, file: string): PolicyLoadResult {
  return assemble([{ file, outcome: parseFile(text, file) }]);
}

async function expand(path: string): Promise<{ files: string[]; error?: PolicyError }> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : `cannot read (${code ?? String(e)})`;
    return { files: [], error: { file: path, line: 0, column: 0, message: why } };
  }
  if (!info.isDirectory()) return { files: [path] };
  const names = (await readdir(path)).filter((n) => POLICY_FILE.test(n)).sort();
  const files: string[] = [];
  for (const n of names) {
    const full = join(path, n);
    try {
      if ((await stat(full)).isFile()) files.push(full);
    } catch {
      // removed between readdir and stat (an editor's temporary file): not a policy
    }
  }
  return { files };
}

/**
 * Loads policies from files and directories. The set is all-or-nothing: when there is any
 * error, `policies` is empty and `errors` lists every problem found in every file.
 */
export async function loadPolicies(paths: string[]): Promise<PolicyLoadResult> {
  const entries: { file: string; outcome?: FileOutcome; error?: PolicyError }[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const { files, error } = await expand(p);
    if (error) entries.push({ file: p, error });
    for (const file of files) {
      if (seen.has(file)) continue;
      seen.add(file);
      try {
        const size = (await stat(file)).size;
        if (size > MAX_POLICY_FILE_BYTES) {
          const message = `file too large (${size} bytes; a policy file may have at most ${MAX_POLICY_FILE_BYTES})`;
          entries.push({ file, error: { file, line: 0, column: 0, message } });
          continue;
        }
        entries.push({ file, outcome: parseFile(await readFile(file, 'utf8'), file) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        entries.push({ file, error: { file, line: 0, column: 0, message: `cannot read (${code})` } });
      }
    }
  }
  return assemble(entries);
}
