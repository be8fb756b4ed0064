/**
 * One check's measurements over time as an SVG drawn here: a point per measurement, coloured by
 * its result, against the pass and fail thresholds when the policy's expressions have one.
 */
import type { DeploymentDetailView } from './api.js';
import type { CheckView } from './format.js';
import { clock, value } from './format.js';

type Series = DeploymentDetailView['series'][number];

const W = 900;
const H = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 24 };

export function Chart({ series, check }: { series: Series; check: CheckView | undefined }) {
  const points = series.measurements.filter((m) => m.value !== undefined).map((m) => ({ t: Date.parse(m.at), v: m.value!, result: m.result, message: m.message }));
  const lines = Object.entries(check?.thresholds ?? {}).map(([kind, t]) => ({ kind, ...t! }));
  if (points.length === 0) return <p class="muted">No numeric measurements yet ({series.measurements.length} taken).</p>;

  const values = [...points.map((p) => p.v), ...lines.map((l) => l.value)];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const margin = hi === lo ? Math.abs(hi) * 0.1 || 1 : (hi - lo) * 0.1;
  lo -= margin;
  hi += margin;
  const t0 = points[0]!.t;
  const t1 = Math.max(points[points.length - 1]!.t, t0 + 1000);
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');

  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${series.check} measurements over time`}>
      <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
      <text class="tick" x={PAD.left - 6} y={y(hi - margin) + 4} text-anchor="end">{value(hi - margin)}</text>
      <text class="tick" x={PAD.left - 6} y={y(lo + margin) + 4} text-anchor="end">{value(lo + margin)}</text>
      <text class="tick" x={PAD.left} y={H - 6}>{clock(new Date(t0).toISOString())}</text>
      <text class="tick" x={W - PAD.right} y={H - 6} text-anchor="end">{clock(new Date(t1).toISOString())}</text>
      {lines.map((l) => (
        <g key={l.kind} class={`threshold threshold-${l.kind}`}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(l.value)} y2={y(l.value)} />
          <text x={W - PAD.right - 4} y={y(l.value) - 4} text-anchor="end">
            {l.kind} {l.op} {value(l.value)}
          </text>
        </g>
      ))}
      <path class="series" d={path} />
      {points.map((p, i) => (
        <circle key={i} class={`point result-${p.result}`} cx={x(p.t)} cy={y(p.v)} r={4}>
          <title>{`${clock(new Date(p.t).toISOString())}: ${value(p.v)} (${p.result})${p.message ? ` ${p.message}` : ''}`}</title>
        </circle>
      ))}
    </svg>
  );
}
