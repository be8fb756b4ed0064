/**
 * Just enough HCL for the shipped job and ACL files: the bodies of named blocks, and the
 * attributes of a flat block. Quoted strings and comments are skipped when matching braces.
 */

/** Bodies of every `keyword { ... }` or `keyword "label" { ... }` block, nested ones included. */
export function blocks(hcl: string, keyword: string, label?: string): string[] {
  const head = new RegExp(`(?:^|\\n)[ \\t]*${keyword}${label === undefined ? '(?:\\s+"[^"]*")?' : `\\s+"${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`}\\s*\\{`, 'g');
  return [...hcl.matchAll(head)].map((m) => {
    const open = (m.index ?? 0) + m[0].length;
    return hcl.slice(open, closingBrace(hcl, open));
  });
}

/** Index of the `}` that closes a block whose body starts at `from`. */
function closingBrace(hcl: string, from: number): number {
  let depth = 0;
  for (let i = from; i < hcl.length; i++) {
    const c = hcl[i];
    if (c === '"') {
      for (i++; i < hcl.length && hcl[i] !== '"'; i++) if (hcl[i] === '\\') i++;
    } else if (c === '#') {
      while (i < hcl.length && hcl[i] !== '\n') i++;
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  throw new Error(`block opened before byte ${from} is never closed`);
}

/** The block's own `name = value` lines (not those of nested blocks): strings unquoted, booleans, numbers and string lists as such. */
export function attributes(body: string): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  let depth = 0;
  for (const line of body.split('\n')) {
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/, '');
    const outside = depth === 0;
    depth += (code.match(/\{/g) ?? []).length - (code.match(/\}/g) ?? []).length;
    const m = outside ? /^\s*([\w-]+)\s*=\s*(.+?)\s*(?:#.*)?$/.exec(line) : null;
    if (!m) continue;
    const raw = m[2] ?? '';
    out[m[1] ?? ''] = /^".*"$/.test(raw) ? JSON.parse(raw) as string
      : raw === 'true' || raw === 'false' ? raw === 'true'
        : /^\[.*\]$/.test(raw) ? [...raw.matchAll(/"([^"]*)"/g)].map((s) => s[1] ?? '')
          : Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}
