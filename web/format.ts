/** Words and colours for what the status API reports. */
import type { DeploymentStatusView } from './api.js';

export type GroupView = DeploymentStatusView['groups'][string];
export type CheckView = GroupView['checks'][number];

/** `3m 20s`, `2h 5m`, `4d 1h`: a span of time as a person reads it. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** State names are the status API's; only their colour is chosen here, grey for any other. */
const TONE: Record<string, string> = {
  waiting: 'wait',
  baking: 'busy',
  ready: 'busy',
  promoting: 'busy',
  rollout: 'busy',
  holding: 'warn',
  promoted: 'good',
  succeeded: 'good',
  done: 'good',
  passed: 'good',
  running: 'busy',
  pending: 'wait',
  inconclusive: 'warn',
  errored: 'warn',
  failing: 'bad',
  'rolling-back': 'bad',
  failed: 'bad',
};

export function tone(state: string): string {
  return TONE[state] ?? 'none';
}

export function value(v: number | undefined): string {
  if (v === undefined) return '–';
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** What the group's clock is running toward: the end of the bake, else the canary timeout. */
export function deadline(g: GroupView, now: number): { label: string; left: string } | undefined {
  const bake = g.bakeEndsAt ? Date.parse(g.bakeEndsAt) : undefined;
  if (bake !== undefined && bake > now) return { label: 'bake ends in', left: span(bake - now) };
  const timeout = g.timeoutAt ? Date.parse(g.timeoutAt) : undefined;
  if (timeout !== undefined && timeout > now) return { label: 'timeout in', left: span(timeout - now) };
  return undefined;
}

/**
 * A promote overrides the analysis unless every canary group still to promote is `ready` by the
 * policy (the daemon's verdict, read from the view, never re-decided here).
 */
export function promoteOverrides(d: DeploymentStatusView): boolean {
  const waiting = Object.values(d.groups).filter((g) => g.canaries && !g.promoted);
  return waiting.length === 0 || waiting.some((g) => g.state !== 'ready');
}
