/** Just enough PromQL reading to list the metric names an expression selects. */

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** Modifiers followed by a parenthesised list of label names, not of expressions. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Aggregations may put `by (...)` before their argument: `sum by (job) (x)`. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

/** Grafana's variables ($var, ${var}, [[var]]) replaced by neutral text. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$\{[^}]*\}|\$[A-Za-z_]\w*|\[\[\w+\]\]/g, '5m');
}

export function metricNames(expr: string): string[] {
  const text = withoutGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/#.*$/gm, ' ');
  const tokens = [...text.matchAll(/[A-Za-z_:][\w:]*|\d[\w.]*|\S/g)].map((m) => m[0]);
  const names = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (!/^[A-Za-z_:]/.test(t)) continue;
    const next = tokens[i + 1];
    if (LABEL_LISTS.has(t)) {
      if (next === '(') {
        while (i < tokens.length && tokens[i] !== ')') i++;
      }
      continue;
    }
    if (next === '(' || KEYWORDS.has(t.toLowerCase())) continue;
    if (AGGREGATIONS.has(t) && (next === 'by' || next === 'without')) continue;
    names.add(t);
  }
  return [...names];
}

/** Expressions inside a Grafana variable query (label_values, query_result). */
export function variableQueryExprs(query: string): string[] {
  const q = query.trim();
  const labelValues = /^label_values\(([\s\S]*)\)$/.exec(q);
  if (labelValues) {
    const args = labelValues[1] ?? '';
    const comma = args.lastIndexOf(',');
    return comma < 0 ? [] : [args.slice(0, comma)];
  }
  const result = /^query_result\(([\s\S]*)\)$/.exec(q);
  if (result) return [result[1] ?? ''];
  const metrics = /^metrics\(/.test(q);
  return metrics ? [] : [q];
}

/** Label names an expression filters on (`{name="..."}`) or groups by (`by (name)`, `on (name)`...). */
export function labelNames(expr: string): string[] {
  const text = withoutGrafanaVariables(expr).replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const names = new Set<string>();
  for (const selector of text.matchAll(/\{([^}]*)\}/g)) {
    for (const m of (selector[1] ?? '').matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) names.add(m[1] ?? '');
  }
  for (const list of text.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const m of (list[1] ?? '').matchAll(/[A-Za-z_]\w*/g)) names.add(m[0]);
  }
  return [...names];
}
