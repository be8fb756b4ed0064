/**
 * Loading policy files: the only file I/O of the policy module. Files or directories
 * (`*.yaml`, `*.yml`, sorted, not recursive); several YAML documents per file; every error of
 * every file reported at once, positioned (docs/policy.md "Durations and validation").
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, isScalar, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Document, Node } from 'yaml';
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

function parseFile(text: string, file: string): FileOutcome {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const docs = Array.isArray(parsed) ? parsed : [];
  const errors: PolicyError[] = [];
  const documents: FileOutcome['documents'] = [];
  for (const doc of docs) {
    const reader = new DocumentReader(file, text, lineCounter, doc);
    // A duplicate key leaves a well-formed tree (the reader keeps the first definition), so it
    // is reported and the rest of the document is still checked. Other syntax errors make the
    // tree a guess; checking it would add noise.
    const syntax = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY');
    for (const e of doc.errors) {
      const at = reader.positionOf(e.pos[0]);
      reader.errorAt(at, e.code === 'DUPLICATE_KEY' ? duplicateKeyMessage(doc, e.pos[0], reader) : `YAML syntax error: ${e.message}`);
    }
    if (syntax.length > 0) {
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

/**
 * `duplicate key "count" (first defined at 4:5): keys must be unique`, for the key that starts at
 * `offset`; the library's own text when the key cannot be found (a key that is no scalar).
 */
function duplicateKeyMessage(doc: Document.Parsed, offset: number, reader: DocumentReader): string {
  let message = 'duplicate key: Map keys must be unique';
  visit(doc, {
    Map(_, map) {
      const dup = map.items.find((p) => isNode(p.key) && p.key.range?.[0] === offset);
      if (!dup || !isScalar(dup.key)) return undefined;
      const value = dup.key.value;
      const first = map.items.find((p) => isScalar(p.key) && p.key.value === value);
      const where = first && first !== dup ? reader.position(first.key as Node) : undefined;
      message = `duplicate key "${String(value)}"${where ? ` (first defined at ${where.line}:${where.column})` : ''}: keys must be unique`;
      return visit.BREAK;
    },
  });
  return message;
}

function byPosition(a: PolicyError, b: PolicyError): number {
  return a.line - b.line || a.column - b.column;
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
    errors.push(...fileErrors.sort(byPosition));
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
        entries.push({ file, outcome: parseFile(await readFile(file, 'utf8'), file) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        entries.push({ file, error: { file, line: 0, column: 0, message: `cannot read (${code})` } });
      }
    }
  }
  return assemble(entries);
}
