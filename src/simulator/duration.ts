/**
 * Go `time.ParseDuration` semantics, returning milliseconds (fractions allowed).
 * Accepts a sign, a sequence of decimal numbers each with a unit (ns, us, µs, μs, ms, s, m, h),
 * and a bare "0". Anything else throws, as Go returns an error.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

export function parseGoDuration(input: string): number {
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration "${input}"`);
  let total = 0;
  while (s.length > 0) {
    const m = PART.exec(s);
    if (!m) {
      if (/^\d/.test(s) && !/[a-zµμ]/i.test(s)) throw new Error(`time: missing unit in duration "${input}"`);
      throw new Error(`time: invalid duration "${input}"`);
    }
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Nanoseconds (Nomad's JSON durations) from milliseconds. */
export function msToNs(ms: number): number {
  return Math.round(ms * 1e6);
}

export function nsToMs(ns: number): number {
  return ns / 1e6;
}
