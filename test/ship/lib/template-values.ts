/**
 * Finds the `.Values` paths a Helm template reads, resolving `with` scopes, so that a path
 * missing from values.yaml (a typo, a renamed key) is caught without running helm.
 * Pragmatic: inside `range` the dot is an element, so relative references there are skipped.
 */
import { isPlainObject } from './values.js';

export interface ValuesRef {
  path: string[];
  line: number;
}

type Dot = { kind: 'root' } | { kind: 'values'; path: string[] } | { kind: 'unknown' };

export interface TemplateScan {
  refs: ValuesRef[];
  /** Unbalanced `end`s or blocks left open. */
  structureErrors: string[];
}

const ACTION = /\{\{-?\s*([\s\S]*?)\s*-?\}\}/g;
const OPENERS = new Set(['if', 'with', 'range', 'define', 'block']);

function stripStrings(action: string): string {
  return action.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
}

/** Paths read from the dot (`.a.b`) and from `$.Values.x` / `.Values.x` in one action. */
function refsIn(action: string, dot: Dot, line: number): ValuesRef[] {
  const refs: ValuesRef[] = [];
  const chain = /(\$?)(?<![\w)\]])\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)/g;
  for (const m of action.matchAll(chain)) {
    const fromRoot = m[1] === '$';
    const parts = (m[2] ?? '').split('.');
    if (parts[0] === 'Values' && (fromRoot || dot.kind === 'root')) {
      if (parts.length > 1) refs.push({ path: parts.slice(1), line });
    } else if (!fromRoot && dot.kind === 'values') {
      refs.push({ path: [...dot.path, ...parts], line });
    }
  }
  return refs;
}

/** What the dot becomes inside `with X`: X's path when it is a plain values path. */
function dotOf(expr: string, dot: Dot): Dot {
  const first = expr.trim().split(/\s+/)[0] ?? '';
  const abs = /^\$?\.Values((?:\.[A-Za-z_]\w*)+)$/.exec(first);
  if (abs && (first.startsWith('$') || dot.kind === 'root')) {
    return { kind: 'values', path: (abs[1] ?? '').slice(1).split('.') };
  }
  const rel = /^\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)$/.exec(first);
  if (rel && dot.kind === 'values') return { kind: 'values', path: [...dot.path, ...(rel[1] ?? '').split('.')] };
  return { kind: 'unknown' };
}

export function scanTemplate(text: string): TemplateScan {
  const refs: ValuesRef[] = [];
  const structureErrors: string[] = [];
  const stack: { keyword: string; dot: Dot; line: number }[] = [];
  const current = (): Dot => stack[stack.length - 1]?.dot ?? { kind: 'root' };
  for (const m of text.matchAll(ACTION)) {
    const line = text.slice(0, m.index).split('\n').length;
    const body = m[1] ?? '';
    if (body.startsWith('/*')) continue;
    const action = stripStrings(body);
    const keyword = /^([a-z]+)\b/.exec(action)?.[1] ?? '';
    const rest = action.slice(keyword.length);
    if (keyword === 'end') {
      if (!stack.pop()) structureErrors.push(`line ${line}: {{ end }} without an open block`);
      continue;
    }
    refs.push(...refsIn(action, current(), line));
    if (!OPENERS.has(keyword)) continue;
    let dot: Dot = current();
    if (keyword === 'with') dot = dotOf(rest, current());
    else if (keyword === 'range') dot = { kind: 'unknown' };
    else if (keyword === 'define' || keyword === 'block') dot = { kind: 'root' };
    stack.push({ keyword, dot, line });
  }
  for (const open of stack) structureErrors.push(`line ${open.line}: {{ ${open.keyword} }} is never closed`);
  return { refs, structureErrors };
}

export function isDefined(values: unknown, path: string[]): boolean {
  let node: unknown = values;
  for (const key of path) {
    if (!isPlainObject(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}
