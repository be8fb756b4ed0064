/** Reads a text exposition back into series, for assertions on what a scrape would see. */

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    series.push({ name: m[1]!, labels, value: Number(m[3]!.replace('+Inf', 'Infinity')) });
  }
  return series;
}

/** The value of the one series named `name` whose labels include `match`. */
export function valueOf(series: Series[], name: string, match: Record<string, string> = {}): number {
  const hits = series.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`expected one ${name}${JSON.stringify(match)}, found ${hits.length}`);
  return hits[0]!.value;
}

export async function scrape(port: number): Promise<Series[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`scrape answered ${res.status}`);
  return parseExposition(await res.text());
}

