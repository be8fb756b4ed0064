/** Reads the Markdown tables that the shipping docs treat as the source of truth. */
import fs from 'node:fs';

export type Row = string[];

/** Rows of every pipe table in a Markdown text, without header and separator lines. */
export function tableRows(markdown: string): Row[] {
  const rows: Row[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (!line.startsWith('|')) continue;
    if (/^\|[\s:|-]+\|$/.test(line)) continue;
    if (/^\|[\s:|-]+\|$/.test(lines[i + 1]?.trim() ?? '')) continue; // header row
    rows.push(line.replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
  }
  return rows;
}

export function backticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

export interface DocumentedMetric {
  name: string;
  type: string;
  labels: string[];
}

/** The metrics table of docs/metrics.md. */
export function documentedMetrics(file: string): DocumentedMetric[] {
  return tableRows(fs.readFileSync(file, 'utf8'))
    .filter((r) => /^`nomad_promoter_\w+`$/.test(r[0] ?? ''))
    .map((r) => ({ name: backticked(r[0] ?? '')[0] ?? '', type: r[1] ?? '', labels: backticked(r[2] ?? '') }));
}

export interface AclRow {
  action: string;
  nomad1: string[];
  nomad2: string[];
}

/** The capability table of docs/acl.md: action | API | Nomad 1.x | Nomad 2.0. */
export function aclTable(file: string): AclRow[] {
  return tableRows(fs.readFileSync(file, 'utf8'))
    .filter((r) => r.length === 4)
    .map((r) => ({ action: r[0] ?? '', nomad1: backticked(r[2] ?? ''), nomad2: backticked(r[3] ?? '') }));
}

export interface AclVariableRow {
  path: string;
  capabilities: string[];
}

/** The Nomad Variables table of docs/acl.md: variable | what is done with it | capabilities. */
export function aclVariablesTable(file: string): AclVariableRow[] {
  return tableRows(fs.readFileSync(file, 'utf8'))
    .filter((r) => r.length === 3 && /^`[\w~/<> -]+`/.test(r[0] ?? ''))
    .map((r) => ({ path: backticked(r[0] ?? '')[0] ?? '', capabilities: backticked(r[2] ?? '') }));
}
