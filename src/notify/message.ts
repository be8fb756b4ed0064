/**
 * The bodies sent to notification targets: a webhook's JSON decision record, and a Slack
 * incoming-webhook message (text for notifications and old clients, blocks for the channel).
 * Both are built from the same Notice, whose secrets the caller has hidden already: a cut made
 * here must never leave half a secret to be missed.
 */
import { splitCredentials } from '../checks/secrets.js';
import type { NotifyEvent } from '../domain/policy.js';
import type { DecisionRecord } from '../machine/types.js';
import { formatDuration } from '../policy/duration.js';

export interface Notice {
  /** The events of this entry the target asked for, most telling first. */
  events: NotifyEvent[];
  record: DecisionRecord;
  deployment: { id: string; namespace: string; job: string; jobVersion: number };
  policy: string;
  /** For `held`: how long the hold had lasted when told. */
  heldForMs?: number;
  /** The deployment's page on the dashboard, when --external-url is set. */
  link?: string;
}

/** The order events are named in: the first names the message. */
const ORDER: NotifyEvent[] = ['rolled_back', 'timeout', 'failed', 'promoted', 'held', 'human'];
const HEADLINE: Record<Exclude<NotifyEvent, 'human'>, string> = {
  rolled_back: 'Rolled back',
  timeout: 'Timed out',
  failed: 'Failed',
  promoted: 'Promoted',
  held: 'Held',
};
const MAX_EVIDENCE = 10;
/** Slack refuses a section text over 3000 characters. */
const MAX_SECTION = 2900;

export function orderEvents(events: readonly NotifyEvent[]): NotifyEvent[] {
  return ORDER.filter((e) => events.includes(e));
}

/** The deployment's page on the dashboard; credentials in the address are for the daemon's operator, never passed on. */
export function dashboardLink(externalUrl: URL, deploymentId: string): string {
  // A copy: without credentials splitCredentials hands back the daemon's own URL.
  const link = new URL(splitCredentials(externalUrl).url.href);
  if (!link.pathname.endsWith('/')) link.pathname += '/';
  link.hash = `/deployments/${encodeURIComponent(deploymentId)}`;
  return link.href;
}

export function webhookBody(n: Notice): Record<string, unknown> {
  const r = n.record;
  return {
    event: n.events[0],
    events: n.events,
    at: new Date(r.at).toISOString(),
    deploymentId: n.deployment.id,
    namespace: n.deployment.namespace,
    job: n.deployment.job,
    jobVersion: n.deployment.jobVersion,
    groups: r.groups,
    policy: n.policy,
    action: r.action,
    outcome: r.outcome,
    source: r.source ?? 'policy',
    ...(r.who !== undefined ? { who: r.who } : {}),
    reason: r.reason,
    ...(r.message !== undefined ? { message: r.message } : {}),
    evidence: r.evidence.map((m) => ({
      check: m.check,
      result: m.result,
      ...(m.value !== undefined ? { value: m.value } : {}),
      ...(m.allocId !== undefined ? { allocId: m.allocId } : {}),
    })),
    ...(n.heldForMs !== undefined ? { heldForMs: n.heldForMs } : {}),
    ...(n.link !== undefined ? { url: n.link } : {}),
  };
}

/** Slack's mrkdwn gives &, < and > a meaning: shown text escapes them. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts escaped text, never in the middle of an entity (`&am…` would show as typed). */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1).replace(/&[a-z]*$/, '')}…` : text;
}

/** "Promoted", "Held for 5m", "Failed by alice", "Pause by alice (dry run)". */
function headline(n: Notice): string {
  const r = n.record;
  const first = n.events[0] ?? 'human';
  const base = first === 'human' ? `${r.action.charAt(0).toUpperCase()}${r.action.slice(1)}` : HEADLINE[first];
  const held = first === 'held' && n.heldForMs !== undefined ? ` for ${formatDuration(n.heldForMs)}` : '';
  const who = r.source === 'human' ? ` by ${r.who ?? 'a person'}` : '';
  const dry = r.outcome === 'dry_run' ? ' (dry run)' : '';
  return `${base}${held}${who}${dry}`;
}

function evidenceLine(r: DecisionRecord): string | undefined {
  if (r.evidence.length === 0) return undefined;
  const shown = r.evidence.slice(0, MAX_EVIDENCE).map((m) => `${m.check}: ${m.result}${m.value !== undefined ? ` (${m.value})` : ''}`);
  const more = r.evidence.length > MAX_EVIDENCE ? `, ${r.evidence.length - MAX_EVIDENCE} more` : '';
  return `${shown.join(', ')}${more}`;
}

/** `prefix`: the target's rendered prefix ("" for none). */
export function slackBody(n: Notice, prefix: string): Record<string, unknown> {
  const r = n.record;
  const d = n.deployment;
  const where = `${d.namespace}/${d.job} v${d.jobVersion}`;
  const title = headline(n);
  const lead = prefix ? `${prefix} ` : '';
  const evidence = evidenceLine(r);
  const context = [`groups ${r.groups.join(', ')}`, `policy ${n.policy}`, `deployment ${d.id.slice(0, 8)}`].map(esc);
  // A link is mrkdwn markup itself: not escaped.
  if (n.link) context.push(`<${n.link}|open in the dashboard>`);
  return {
    // Escaped too: the text alone is what notifications show, and `<!channel>` in it would ping everyone.
    text: cut(esc(`${lead}${title}: ${where}: ${r.reason}`), MAX_SECTION),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: cut(`${esc(lead)}*${esc(title)}*: \`${esc(where)}\``, MAX_SECTION) } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(esc(r.message ? `${r.reason} (${r.message})` : r.reason), MAX_SECTION) } },
      ...(evidence ? [{ type: 'section', text: { type: 'mrkdwn', text: cut(`Evidence: ${esc(evidence)}`, MAX_SECTION) } }] : []),
      { type: 'context', elements: context.map((text) => ({ type: 'mrkdwn', text })) },
    ],
  };
}
