/**
 * Notifications from the decision history: every accepted snapshot change is compared with what
 * was already told, and each new entry with a final outcome goes, once, to the `notify` targets
 * of the policies of its groups that asked for its events. A hold is told once it has lasted the
 * target's `heldAfter`. Runs inside the store's change callback, so it only queues: sending is
 * the DeliveryQueue's, off the decision path.
 */
import type { Logger } from 'pino';
import { parseHttpUrl } from '../domain/http-url.js';
import type { NotifyEvent, NotifyTarget, Policy } from '../domain/policy.js';
import { redactValues } from '../domain/redact.js';
import { splitCredentials, urlSecrets } from '../checks/secrets.js';
import { isFinished } from '../machine/machine.js';
import type { DecisionRecord, PromoterContext } from '../machine/types.js';
import { renderTemplate, secretValues, type TemplateVars } from '../policy/template.js';
import type { SnapshotChange } from '../store/observed.js';
import { DeliveryQueue, type Delivery, type DeliveryResult, type RetryOptions } from './delivery.js';
import { endsHolds, eventsOf, holdChange, isTold, recordKey } from './events.js';
import { dashboardLink, orderEvents, slackBody, webhookBody, type Notice } from './message.js';

export interface NotifierOptions {
  /** The policy set in force. */
  policies: () => readonly Policy[];
  /** --external-url: the dashboard's address as people reach it. */
  externalUrl?: URL;
  /** For env.PROMOTER_VAR_* in templates; every such value is hidden from what is sent and logged. */
  env: Record<string, string | undefined>;
  /** More values never to send or log (the Nomad and API tokens). */
  secrets?: readonly string[];
  onResult: (target: NotifyTarget['kind'], result: DeliveryResult['result']) => void;
  logger: Logger;
  now?: () => number;
  capacity?: number;
  retry?: Partial<RetryOptions>;
}

interface Governing {
  policy: string;
  target: NotifyTarget;
}

export class Notifier {
  /** Per deployment: the keys of the entries already handled; null while there are none (most deployments: an empty Set costs some 200 bytes each). */
  private readonly told = new Map<string, Set<string> | null>();
  /** Per deployment: the running holds (check in group -> timers of the targets waiting to tell). */
  private readonly holds = new Map<string, Map<string, NodeJS.Timeout[]>>();
  private readonly queue: DeliveryQueue;
  private readonly now: () => number;
  private readonly secrets: string[];

  constructor(private readonly options: NotifierOptions) {
    this.now = options.now ?? Date.now;
    this.secrets = [...secretValues(options.env), ...(options.secrets ?? []), ...(options.externalUrl ? urlSecrets(options.externalUrl) : [])];
    this.queue = new DeliveryQueue({
      ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      onResult: (d, r) => this.report(d, r),
    });
  }

  /** The store's change listener. */
  readonly onChange = (change: SnapshotChange): void => {
    if (!change.after) {
      this.forget(change.id);
      return;
    }
    const ctx = change.after.context;
    const known = this.told.get(change.id);
    // What the stored snapshot already held was told before (by this process or the one before it).
    const told = known === undefined ? new Set((change.before?.context.history ?? []).filter(isTold).map(recordKey)) : (known ?? new Set<string>());
    const present = new Set<string>();
    for (const r of ctx.history) {
      const key = recordKey(r);
      present.add(key);
      if (!isTold(r) || told.has(key)) continue;
      // One entry that cannot be handled must not cost the others theirs (nor the store its write).
      try {
        this.handle(ctx, r);
        told.add(key);
      } catch (err) {
        const error = redactValues(err instanceof Error ? err.message : String(err), this.secrets);
        this.options.logger.warn({ deploymentId: ctx.deploymentId, action: r.action, error }, 'notification failed');
      }
    }
    // Entries cut from the history never come back: their keys can go.
    for (const key of told) if (!present.has(key)) told.delete(key);
    this.told.set(change.id, told.size > 0 ? told : null);
    if (isFinished(change.after)) this.endHold(change.id, () => true);
  };

  /**
   * Forgets every deployment and stops the timers of running holds: when this replica stops
   * leading (HA). The next leader tells from its stored snapshots; so does this one if it leads again.
   */
  forgetAll(): void {
    for (const id of new Set([...this.holds.keys(), ...this.told.keys()])) this.forget(id);
  }

  /** Stops telling holds; what is queued gets `graceMs` to go out, the rest is dropped (and counted). */
  async close(graceMs: number): Promise<void> {
    this.forgetAll();
    await this.queue.close(graceMs);
  }

  private forget(id: string): void {
    for (const timers of this.holds.get(id)?.values() ?? []) timers.forEach(clearTimeout);
    this.holds.delete(id);
    this.told.delete(id);
  }

  private handle(ctx: PromoterContext, r: DecisionRecord): void {
    const hold = holdChange(r);
    if (hold) {
      // From one holding phase to another (errored -> inconclusive) the hold goes on: its clock too.
      if (!hold.entering) this.endHold(ctx.deploymentId, (id) => id === hold.id);
      else if (!this.holds.get(ctx.deploymentId)?.has(hold.id)) this.startHold(ctx, r, hold.id);
      return;
    }
    if (endsHolds(r)) this.endHold(ctx.deploymentId, (id) => r.groups.some((g) => id.startsWith(`${g}|`)));
    const events = eventsOf(r);
    for (const { policy, target } of this.targets(ctx, r.groups)) {
      const asked = orderEvents(events.filter((e) => target.on.includes(e)));
      if (asked.length > 0) this.send(ctx, r, asked, policy, target);
    }
  }

  private startHold(ctx: PromoterContext, r: DecisionRecord, holdId: string): void {
    const running: NodeJS.Timeout[] = [];
    const arm = (target: NotifyTarget, slot: number): void => {
      const timer = setTimeout(() => {
        // A timer may fire a millisecond before the wall clock has moved on by its delay: wait out the rest.
        if (r.at + target.heldAfterMs > this.now()) return arm(target, slot);
        // The target as the policies in force now have it: a reload may have changed or removed it.
        const now = this.targets(ctx, r.groups).find((g) => targetId(g.target) === targetId(target) && g.target.on.includes('held'));
        if (now) this.send(ctx, r, ['held'], now.policy, now.target, this.now() - r.at);
      }, Math.max(0, r.at + target.heldAfterMs - this.now()));
      timer.unref();
      running[slot] = timer;
    };
    this.targets(ctx, r.groups)
      .filter(({ target }) => target.on.includes('held'))
      .forEach(({ target }, slot) => arm(target, slot));
    if (running.length === 0) return;
    const holds = this.holds.get(ctx.deploymentId) ?? new Map<string, NodeJS.Timeout[]>();
    holds.set(holdId, running);
    this.holds.set(ctx.deploymentId, holds);
  }

  private endHold(deploymentId: string, which: (holdId: string) => boolean): void {
    const holds = this.holds.get(deploymentId);
    for (const [id, timers] of holds ?? []) {
      if (!which(id)) continue;
      timers.forEach(clearTimeout);
      holds?.delete(id);
    }
  }

  /** The targets of the policies governing `groups`, each once. */
  private targets(ctx: PromoterContext, groups: readonly string[]): Governing[] {
    const out = new Map<string, Governing>();
    const policies = this.options.policies();
    for (const g of groups) {
      const name = ctx.groups[g]?.policy;
      const policy = policies.find((p) => p.name === name);
      for (const target of policy?.notify ?? []) {
        const id = targetId(target);
        if (!out.has(id)) out.set(id, { policy: policy!.name, target });
      }
    }
    return [...out.values()];
  }

  private send(ctx: PromoterContext, r: DecisionRecord, events: NotifyEvent[], policy: string, target: NotifyTarget, heldForMs?: number): void {
    const about = { deploymentId: ctx.deploymentId, policy, event: events[0], target: target.kind };
    const vars: TemplateVars = { namespace: ctx.namespace, job: ctx.job, deploymentId: ctx.deploymentId, jobVersion: ctx.jobVersion, env: this.options.env };
    // What a message may never contain (credentials in any target's URL included); a delivery's errors also hide the headers sent.
    const secrets = [...this.secrets, ...this.targetUrlSecrets()];
    const render = (what: string, text: string): string => {
      const out = renderTemplate(text, vars);
      if (!out.ok) throw new Error(`${what}: ${out.error}`);
      return out.text;
    };
    let delivery: Delivery;
    try {
      const parsed = parseHttpUrl(render('url', target.url));
      if (!parsed.ok) throw new Error(`url: ${parsed.problem}`);
      secrets.push(...urlSecrets(parsed.url));
      const { url, authorization } = splitCredentials(parsed.url);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
      const rendered = Object.entries(target.headers).map(([name, text]) => [name, render(`headers.${name}`, text)] as const);
      // Header names are case-insensitive: a target's own Authorization replaces the one from URL credentials.
      for (const [name, value] of rendered) headers[name.toLowerCase()] = value;
      const notice: Notice = {
        events,
        record: r,
        deployment: { id: ctx.deploymentId, namespace: ctx.namespace, job: ctx.job, jobVersion: ctx.jobVersion },
        policy,
        ...(heldForMs !== undefined ? { heldForMs } : {}),
        ...(this.options.externalUrl ? { link: dashboardLink(this.options.externalUrl, ctx.deploymentId) } : {}),
      };
      // Hidden before the message is built: Slack's text is cut to length, and a cut secret would no longer be found.
      const shown = hide(notice, secrets) as Notice;
      const message = target.kind === 'webhook' ? webhookBody(shown) : slackBody(shown, redactValues(render('prefix', target.prefix), secrets));
      const body = JSON.stringify(message);
      const errorSecrets = [...secrets, ...rendered.map(([, value]) => value)];
      delivery = { lane: `${target.kind} ${url.href}`, target: target.kind, url, headers, body, timeoutMs: target.timeoutMs, secrets: errorSecrets, about };
    } catch (err) {
      // A target that cannot be built (a PROMOTER_VAR_* unset, a bad URL from one) fails like an undeliverable one.
      const message = redactValues(err instanceof Error ? err.message : String(err), secrets);
      this.options.logger.warn({ ...about, error: message }, 'notification failed');
      this.options.onResult(target.kind, 'error');
      return;
    }
    this.queue.add(delivery);
  }

  /** Credentials written into the targets' URLs of the policy set in force (those from PROMOTER_VAR_* are among the env secrets). */
  private targetUrlSecrets(): string[] {
    return this.options.policies().flatMap((p) =>
      (p.notify ?? []).flatMap((t) => {
        const parsed = parseHttpUrl(t.url);
        return parsed.ok ? urlSecrets(parsed.url) : [];
      }),
    );
  }

  private report(d: Delivery, r: DeliveryResult): void {
    this.options.onResult(d.target, r.result);
    if (r.result === 'error') this.options.logger.warn({ ...d.about, error: r.message }, 'notification failed');
    else if (r.result === 'dropped') this.options.logger.warn({ ...d.about, why: r.why }, 'notification dropped');
    else this.options.logger.debug(d.about, 'notification sent');
  }
}

/** A target's identity across policy reloads: its kind and URL text. */
function targetId(t: NotifyTarget): string {
  return `${t.kind} ${t.url}`;
}

/** Every string of a notice with the secrets hidden: a reason or a cause may quote anything. */
function hide(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redactValues(value, secrets);
  if (Array.isArray(value)) return value.map((v) => hide(v, secrets));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hide(v, secrets)]));
  return value;
}
