/** Time formats Nomad uses in JSON. */

/** Go's RFC3339Nano for a UTC instant: trailing zeros of the fraction trimmed. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  const base = iso.slice(0, 19);
  const subMsNs = Math.round((ms - Math.floor(ms)) * 1e6);
  const frac = (String(Math.floor(ms) % 1000).padStart(3, '0') + String(subMsNs).padStart(6, '0')).replace(/0+$/, '');
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** UnixNano as a JSON number (exceeds 2^53, like Nomad's; never an identity). */
export function unixNano(ms: number): number {
  return Math.round(ms * 1e6);
}
