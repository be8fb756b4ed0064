/**
 * `nomad-promoter status [ID] [--watch]`: what the running daemon tracks, as a table, or one
 * deployment in detail with its decision history; `--watch` redraws every two seconds.
 */
import { EXIT } from '../cli.js';
import { detailText as detail, type DeploymentDetailView, type DeploymentStatusView } from '../server/status.js';
import { DaemonClient, encodeId, errorOf } from './daemon-client.js';
import { LEADER_HEADER, ROLE_HEADER } from '../server/http.js';

const REDRAW_MS = 2000;

export async function statusCommand(id: string | undefined, flags: Record<string, string | boolean | undefined>): Promise<number> {
  const client = new DaemonClient(flags);
  const render = async (): Promise<{ text: string; ok: boolean }> => {
    const answer = await client.call('GET', id ? `/v1/deployments/${encodeId(id)}` : '/v1/deployments').catch((err: Error) => ({ status: 0, body: { error: err.message } }));
    if (answer.status !== 200) return { text: `nomad-promoter status: ${errorOf(answer)}`, ok: false };
    const text = id ? detail(answer.body as DeploymentDetailView) : table(answer.body as DeploymentStatusView[]);
    const lead = 'headers' in answer ? leaderLine(answer.headers) : undefined;
    return { text: lead ? `${lead}\n\n${text}` : text, ok: true };
  };
  if (!flags.watch) {
    const { text, ok } = await render();
    (ok ? process.stdout : process.stderr).write(`${text}\n`);
    return ok ? EXIT.ok : EXIT.invalid;
  }
  for (;;) {
    const { text } = await render();
    process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}  ${client.url}\n\n${text}\n`);
    await new Promise((resolve) => setTimeout(resolve, REDRAW_MS));
  }
}

/** Under HA, who leads and what the daemon asked is; nothing when it runs alone. */
export function leaderLine(headers: Headers | undefined): string | undefined {
  const role = headers?.get(ROLE_HEADER);
  if (!role) return undefined;
  const leader = headers?.get(LEADER_HEADER) ?? 'unknown';
  return role === 'leader' ? `leader: ${leader} (this daemon)` : `leader: ${leader} (this daemon is a standby: its view trails the leader by up to 10s)`;
}

function rows(d: DeploymentStatusView): string[][] {
  return Object.entries(d.groups).map(([name, g]) => {
    const checks = g.checks.map((c) => `${c.check}=${c.state}${c.lastValue !== undefined ? `(${c.lastValue})` : ''}`).join(' ') || '-';
    const next = d.pending.find((p) => p.groups.includes(name));
    return [d.id.slice(0, 8), d.job, name, g.state ?? d.state, checks, next ? `${next.action}: ${next.reason}` : '-', d.nextAt ?? '-'];
  });
}

export function table(list: DeploymentStatusView[]): string {
  if (list.length === 0) return 'no deployments tracked';
  const all = [['DEPLOYMENT', 'JOB', 'GROUP', 'STATE', 'CHECKS', 'NEXT', 'WHEN'], ...list.flatMap(rows)];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

