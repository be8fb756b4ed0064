/**
 * Reading one parsed YAML document with positions: every problem becomes a PolicyError at the
 * node that is wrong (the value, or the key when the value is absent), and reading goes on so
 * that all errors of a file are reported at once.
 */
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import type { PolicyError } from './errors.js';

export interface Position {
  line: number;
  column: number;
}

/** A key of a mapping with its value; `path` names it in messages (`checks.error-rate.count`). */
export interface Field {
  name: string;
  key: Node;
  value: Node | null;
  path: string;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

/** "did you mean" for a misspelt key, else the list of allowed keys. */
export function suggestKey(key: string, allowed: readonly string[]): string {
  const near = allowed
    .map((a) => ({ a, d: a.toLowerCase() === key.toLowerCase() ? 0 : distance(a, key) }))
    .filter((x) => x.d <= Math.max(1, Math.min(2, Math.floor(key.length / 3))))
    .sort((x, y) => x.d - y.d)[0];
  return near ? `did you mean "${near.a}"?` : `expected one of: ${allowed.join(', ')}`;
}

export class DocumentReader {
  readonly errors: PolicyError[] = [];

  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly lines: LineCounter,
    private readonly doc: Document.Parsed,
  ) {}

  positionOf(offset: number): Position {
    const p = this.lines.linePos(offset);
    // linePos reports line 0 before the first newline it has seen.
    return p.line === 0 ? { line: 1, column: offset + 1 } : { line: p.line, column: p.col };
  }

  /** Where a node starts. */
  position(node: Node | null | undefined): Position {
    return this.positionOf(node?.range?.[0] ?? 0);
  }

  /** The node to point at for a field's value: the value, or the key when the value is empty. */
  valueNode(f: Field): Node {
    const v = f.value;
    if (!v || !v.range || v.range[0] === v.range[1]) return f.key;
    return v;
  }

  errorAt(pos: Position, message: string): void {
    this.errors.push({ file: this.file, line: pos.line, column: pos.column, message });
  }

  error(node: Node | null | undefined, message: string): void {
    this.errorAt(this.position(node), message);
  }

  /** Follows `*alias` references. */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null | undefined) ?? null;
  }

  isEmpty(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }

  /**
   * The fields of a mapping. Unknown keys are reported; null means the mapping is empty.
   * Returns undefined (after reporting) when the node is not a mapping.
   */
  mapping(node: Node | null, at: Node, path: string, allowed?: readonly string[]): Map<string, Field> | undefined {
    const out = new Map<string, Field>();
    if (this.isEmpty(node)) return out;
    const map = node as Node;
    if (!isMap(map)) {
      this.error(map, path ? `${path}: must be a mapping` : 'a policy must be a mapping');
      return undefined;
    }
    for (const pair of map.items) {
      const key = this.resolve(pair.key);
      if (!key || !isScalar(key) || typeof key.value !== 'string') {
        this.error(key ?? at, `${path || 'policy'}: keys must be strings`);
        continue;
      }
      const name = key.value;
      // Checked here rather than by the YAML parser, whose check is quadratic in a mapping's size.
      const first = out.get(name);
      if (first) {
        const at = this.position(first.key);
        this.error(key, `duplicate key "${name}" (first defined at ${at.line}:${at.column}): keys must be unique`);
        continue;
      }
      if (allowed && !allowed.includes(name)) {
        const where = path ? ` in ${path}` : '';
        this.error(key, `unknown key "${name}"${where} (${suggestKey(name, allowed)})`);
        continue;
      }
      out.set(name, { name, key, value: this.resolve(pair.value), path: path ? `${path}.${name}` : name });
    }
    return out;
  }

  /** The items of a sequence, with their positions; null means empty. */
  sequence(f: Field): Node[] | undefined {
    if (this.isEmpty(f.value)) return [];
    const seq = f.value as Node;
    if (!isSeq(seq)) {
      this.error(this.valueNode(f), `${f.path}: must be a list`);
      return undefined;
    }
    return seq.items.map((item) => this.resolve(item) ?? f.key);
  }

  scalarValue(node: Node | null): unknown {
    return node && isScalar(node) ? node.value : undefined;
  }

  /**
   * Where `offset` (a character offset inside the string value of a scalar) sits in the file,
   * when the scalar's source text is that value verbatim (plain, or quoted without escapes);
   * else where the scalar starts.
   */
  positionInside(node: Node, offset: number | undefined): Position {
    const start = node.range?.[0] ?? 0;
    if (offset === undefined || !isScalar(node) || typeof node.value !== 'string' || !node.range) {
      return this.position(node);
    }
    const raw = this.text.slice(node.range[0], node.range[1]);
    const value = node.value;
    const inner =
      node.type === 'PLAIN' ? raw : node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? raw.slice(1, -1) : undefined;
    if (inner !== value || value.includes('\n') || offset > value.length) return this.position(node);
    return this.positionOf(start + (node.type === 'PLAIN' ? 0 : 1) + offset);
  }
}
