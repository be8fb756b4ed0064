/**
 * One YAML document -> one Policy, or positioned errors (docs/policy.md). Pure: no I/O.
 * Every problem is reported; a document with any error yields no policy.
 */
import { parseHttpUrl } from '../domain/http-url.js';
import { isScalar } from 'yaml';
import type { Node } from 'yaml';
import type {
  CanaryStage,
  CheckScope,
  CheckSource,
  CheckSpec,
  NotifyEvent,
  NotifyTarget,
  Policy,
  PolicyMatch,
} from '../domain/policy.js';
import { compileCondition } from './cel.js';
import {
  HTTP_METHODS,
  MODES,
  NAME_PATTERN,
  NO_DATA,
  NOTIFY_EVENTS,
  NOTIFY_KINDS,
  ON_TIMEOUT,
  POLICY_DEFAULTS as D,
  PROMOTE,
  PROVIDERS,
  ROLLBACK,
  SCOPES,
} from './defaults.js';
import { parseDuration } from './duration.js';
import { checkGlob } from './glob.js';
import { checkNotifyTemplate, checkTemplate } from './template.js';
import type { DocumentReader, Field, Position } from './yaml-reader.js';

const POLICY_KEYS = ['name', 'match', 'priority', 'mode', 'checks', 'canary', 'health', 'rollout', 'onFailure', 'notify'] as const;
const MATCH_KEYS = ['namespaces', 'jobs', 'groups', 'meta'] as const;
const CHECK_KEYS = [
  'scope',
  ...PROVIDERS,
  'pass',
  'fail',
  'interval',
  'count',
  'initialDelay',
  'failureLimit',
  'inconclusiveLimit',
  'consecutiveErrorLimit',
  'noData',
] as const;
const PROMETHEUS_KEYS = ['address', 'query', 'timeout'] as const;
const HTTP_KEYS = ['url', 'method', 'headers', 'body', 'timeout'] as const;
const NOMAD_KEYS = ['timeout'] as const;
const CANARY_KEYS = ['analysis', 'bake', 'promote', 'together', 'timeout', 'onTimeout'] as const;
const HEALTH_KEYS = ['checks'] as const;
const ROLLOUT_KEYS = ['analysis'] as const;
const ON_FAILURE_KEYS = ['rollback'] as const;
/** The longest delay a Node.js timer keeps (2^31-1 ms, 596h 31m); 596h is the round limit told. */
const MAX_TIMER_MS = 596 * 3_600_000;
const NOTIFY_KEYS = [...NOTIFY_KINDS, 'on', 'heldAfter', 'timeout'] as const;
const WEBHOOK_KEYS = ['url', 'headers'] as const;
const SLACK_KEYS = ['url', 'prefix'] as const;
/** A URL that is one PROMOTER_VAR_* as a whole (a Slack webhook URL is a secret): its shape is checked when sent. */
const WHOLE_ENV_URL = /^\{\{\s*env\.[^}]*\}\}$/;

export interface DocumentOutcome {
  /** Present when the document is valid. */
  policy?: Policy;
  /** The policy name, when readable, with its position (for duplicate detection). */
  name?: string;
  namePosition?: Position;
}

/** A reference to a check from a stage, kept to resolve once all checks are read. */
interface CheckRef {
  name: string;
  node: Node;
  path: string;
  /** health.checks needs allocation scope. */
  needsAllocation: boolean;
}

class PolicyReader {
  private readonly refs: CheckRef[] = [];
  private readonly checkScopes = new Map<string, CheckScope | undefined>();

  constructor(private readonly r: DocumentReader) {}

  // ---- scalar readers -------------------------------------------------------------------

  private bad(f: Field, message: string): undefined {
    this.r.error(this.r.valueNode(f), `${f.path}: ${message}`);
    return undefined;
  }

  string(f: Field | undefined, opts: { nonEmpty?: boolean } = {}): string | undefined {
    if (!f) return undefined;
    const v = this.r.scalarValue(f.value);
    if (typeof v !== 'string') return this.bad(f, 'must be a string');
    if (opts.nonEmpty && v.trim() === '') return this.bad(f, 'must not be empty');
    return v;
  }

  /** `timer`: the duration becomes one Node.js timer, which fires at once beyond 2^31-1 ms. */
  duration(f: Field | undefined, fallback: number, opts: { positive?: boolean; timer?: boolean } = {}): number | undefined {
    if (!f) return fallback;
    const v = this.r.scalarValue(f.value);
    const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) {
      const shown = text === undefined ? '' : ` "${text}"`;
      return this.bad(f, `invalid duration${shown} (use a Go-style duration such as 500ms, 30s, 5m, 1h30m)`);
    }
    if (opts.positive && ms <= 0) return this.bad(f, 'must be longer than 0s');
    if (opts.timer && ms > MAX_TIMER_MS) return this.bad(f, 'must be at most 596h');
    return ms;
  }

  integer(f: Field | undefined, fallback: number, min?: number): number | undefined {
    if (!f) return fallback;
    const v = this.r.scalarValue(f.value);
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.bad(f, 'must be an integer');
    if (min !== undefined && v < min) return this.bad(f, `must be at least ${min}`);
    return v;
  }

  boolean(f: Field | undefined, fallback: boolean): boolean | undefined {
    if (!f) return fallback;
    const v = this.r.scalarValue(f.value);
    if (typeof v !== 'boolean') return this.bad(f, 'must be true or false');
    return v;
  }

  oneOf<T extends string>(f: Field | undefined, allowed: readonly T[], fallback: T): T | undefined {
    if (!f) return fallback;
    const v = this.r.scalarValue(f.value);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      const shown = v === undefined || v === null ? '' : ` "${String(v)}"`;
      return this.bad(f, `invalid value${shown} (expected one of: ${allowed.join(', ')})`);
    }
    return v as T;
  }

  /** A list of strings, each with its node. */
  stringList(f: Field): { value: string; node: Node; path: string }[] | undefined {
    const items = this.r.sequence(f);
    if (!items) return undefined;
    const out: { value: string; node: Node; path: string }[] = [];
    let ok = true;
    items.forEach((node, i) => {
      const v = this.r.scalarValue(node);
      const path = `${f.path}[${i}]`;
      if (typeof v !== 'string') {
        this.r.error(node, `${path}: must be a string`);
        ok = false;
      } else out.push({ value: v, node, path });
    });
    return ok ? out : undefined;
  }

  globList(f: Field | undefined, fallback: readonly string[]): string[] | undefined {
    if (!f) return [...fallback];
    const items = this.stringList(f);
    if (!items) return undefined;
    if (items.length === 0) return this.bad(f, `must not be empty (leave "${f.name}" out to match everything)`);
    let ok = true;
    for (const it of items) {
      const problem = checkGlob(it.value);
      if (problem) {
        this.r.error(it.node, `${it.path}: invalid glob "${it.value}": ${problem}`);
        ok = false;
      }
    }
    return ok ? items.map((i) => i.value) : undefined;
  }

  /** A mapping of string -> string (headers, meta). */
  stringMap(f: Field | undefined): { key: string; value: string; node: Node; path: string }[] | undefined {
    if (!f) return [];
    const fields = this.r.mapping(f.value, f.key, f.path);
    if (!fields) return undefined;
    const out: { key: string; value: string; node: Node; path: string }[] = [];
    let ok = true;
    for (const field of fields.values()) {
      const v = this.string(field);
      if (v === undefined) ok = false;
      else out.push({ key: field.name, value: v, node: this.r.valueNode(field), path: field.path });
    }
    return ok ? out : undefined;
  }

  /** Names of checks used by a stage; resolved against `checks` at the end. */
  checkRefs(f: Field | undefined, needsAllocation: boolean): string[] | undefined {
    if (!f) return [];
    const items = this.stringList(f);
    if (!items) return undefined;
    const seen = new Set<string>();
    let ok = true;
    for (const it of items) {
      if (seen.has(it.value)) {
        this.r.error(it.node, `${it.path}: check "${it.value}" is listed twice`);
        ok = false;
      }
      seen.add(it.value);
      this.refs.push({ name: it.value, node: it.node, path: it.path, needsAllocation });
    }
    return ok ? items.map((i) => i.value) : undefined;
  }

  // ---- sections -------------------------------------------------------------------------

  notify(f: Field | undefined): NotifyTarget[] | undefined {
    if (!f) return [];
    const items = this.r.sequence(f);
    if (!items) return undefined;
    const targets = items.map((node, i) => this.notifyTarget(node, `${f.path}[${i}]`));
    return targets.every((t) => t !== undefined) ? targets : undefined;
  }

  notifyTarget(node: Node, path: string): NotifyTarget | undefined {
    const fields = this.r.mapping(node, node, path, NOTIFY_KEYS);
    if (!fields) return undefined;
    const given = NOTIFY_KINDS.map((k) => fields.get(k)).filter((t): t is Field => t !== undefined);
    if (given.length !== 1) {
      const problem = given.length === 0 ? 'needs one target: webhook or slack' : 'has both webhook and slack; a target is exactly one of them';
      this.r.error(given[1]?.key ?? node, `${path}: ${problem}`);
    }
    const on = this.notifyEvents(fields.get('on'), node, path);
    const heldAfterField = fields.get('heldAfter');
    const heldAfterMs = this.duration(heldAfterField, D.notify.heldAfterMs, { positive: true, timer: true });
    if (heldAfterField && on && !on.includes('held')) this.bad(heldAfterField, 'applies to the "held" event only; add held to "on" or remove heldAfter');
    const timeoutMs = this.duration(fields.get('timeout'), D.notify.timeoutMs, { positive: true, timer: true });
    const kind = given.length === 1 ? given[0] : undefined;
    const target = kind && this.notifyKind(kind);
    if (!target || !on || heldAfterMs === undefined || timeoutMs === undefined || (heldAfterField && !on.includes('held'))) return undefined;
    return { ...target, on, heldAfterMs, timeoutMs };
  }

  notifyKind(f: Field): Pick<NotifyTarget, 'kind' | 'url' | 'headers' | 'prefix'> | undefined {
    const kind = f.name as NotifyTarget['kind'];
    const fields = this.r.mapping(f.value, f.key, f.path, kind === 'webhook' ? WEBHOOK_KEYS : SLACK_KEYS);
    if (!fields) return undefined;
    const { url, ok: urlOk } = this.templateUrl(f, fields, checkNotifyTemplate, (text) => !WHOLE_ENV_URL.test(text.trim()));
    let ok = urlOk;
    const headerEntries = this.stringMap(fields.get('headers'));
    const headers: Record<string, string> = {};
    for (const h of headerEntries ?? []) {
      ok = this.report(h.node, h.path, checkNotifyTemplate(h.value)) && ok;
      headers[h.key] = h.value;
    }
    const prefixField = fields.get('prefix');
    const prefix = prefixField ? this.string(prefixField) : '';
    if (prefixField && prefix !== undefined) ok = this.report(this.r.valueNode(prefixField), prefixField.path, checkNotifyTemplate(prefix)) && ok;
    if (!ok || !headerEntries || prefix === undefined) return undefined;
    return { kind, url: url as string, headers, prefix };
  }

  notifyEvents(f: Field | undefined, at: Node, path: string): NotifyEvent[] | undefined {
    if (!f) {
      this.r.error(at, `${path}: missing required key "on" (any of: ${NOTIFY_EVENTS.join(', ')})`);
      return undefined;
    }
    const items = this.stringList(f);
    if (!items) return undefined;
    if (items.length === 0) return this.bad(f, `must name at least one event (any of: ${NOTIFY_EVENTS.join(', ')})`);
    let ok = true;
    const seen = new Set<string>();
    for (const it of items) {
      const problem = !(NOTIFY_EVENTS as readonly string[]).includes(it.value)
        ? `unknown event "${it.value}" (expected any of: ${NOTIFY_EVENTS.join(', ')})`
        : seen.has(it.value)
          ? `event "${it.value}" is listed twice`
          : undefined;
      if (problem) {
        this.r.error(it.node, `${it.path}: ${problem}`);
        ok = false;
      }
      seen.add(it.value);
    }
    return ok ? (items.map((i) => i.value) as NotifyEvent[]) : undefined;
  }

  name(fields: Map<string, Field>, root: Node): { name?: string; position?: Position } {
    const f = fields.get('name');
    if (!f) {
      this.r.error(root, 'missing required key "name"');
      return {};
    }
    const v = this.string(f);
    if (v === undefined) return {};
    const position = this.r.position(this.r.valueNode(f));
    if (!NAME_PATTERN.test(v)) {
      this.bad(f, `invalid name "${v}" (use lower-case letters, digits and "-")`);
      return { position };
    }
    return { name: v, position };
  }

  match(f: Field | undefined): PolicyMatch | undefined {
    const fields = f ? this.r.mapping(f.value, f.key, f.path, MATCH_KEYS) : new Map<string, Field>();
    if (!fields) return undefined;
    const namespaces = this.globList(fields.get('namespaces'), D.match.namespaces);
    const jobs = this.globList(fields.get('jobs'), D.match.jobs);
    const groups = this.globList(fields.get('groups'), D.match.groups);
    const metaEntries = this.stringMap(fields.get('meta'));
    let metaOk = metaEntries !== undefined;
    const meta: Record<string, string> = {};
    for (const e of metaEntries ?? []) {
      const problem = checkGlob(e.value);
      if (problem) {
        this.r.error(e.node, `${e.path}: invalid glob "${e.value}": ${problem}`);
        metaOk = false;
      }
      meta[e.key] = e.value;
    }
    if (!namespaces || !jobs || !groups || !metaOk) return undefined;
    return { namespaces, jobs, groups, meta };
  }

  template(text: string | undefined, node: Node, path: string, scope: CheckScope | undefined): boolean {
    if (text === undefined || scope === undefined) return true;
    return this.report(node, path, checkTemplate(text, scope));
  }

  report(node: Node, path: string, problems: string[]): boolean {
    for (const p of problems) this.r.error(node, `${path}: ${p}`);
    return problems.length === 0;
  }

  url(f: Field | undefined, text: string | undefined): boolean {
    if (!f || text === undefined) return true;
    // Placeholders stand for host names, ports or path parts: check the shape around them.
    const parsed = parseHttpUrl(text.replace(/\{\{[^}]*\}\}/g, 'x'));
    // Not quoted: the text may hold credentials or a token.
    if (!parsed.ok) this.bad(f, parsed.problem);
    return parsed.ok;
  }

  /** The required `url` of a block: a template with the names `names` allows, in the one URL shape where `shaped`. */
  templateUrl(
    block: Field,
    fields: Map<string, Field>,
    names: (text: string) => string[],
    shaped: (text: string) => boolean = () => true,
  ): { url?: string; ok: boolean } {
    const urlField = fields.get('url');
    if (!urlField) this.r.error(block.key, `${block.path}: missing required key "url"`);
    const url = this.string(urlField, { nonEmpty: true });
    if (!urlField || url === undefined) return { ok: false };
    let ok = this.report(this.r.valueNode(urlField), urlField.path, names(url));
    if (shaped(url)) ok = this.url(urlField, url) && ok;
    return { url, ok };
  }

  source(check: Map<string, Field>, path: string, scope: CheckScope | undefined, at: Node): CheckSource | undefined {
    const given = PROVIDERS.map((p) => check.get(p)).filter((f): f is Field => f !== undefined);
    if (given.length === 0) {
      this.r.error(at, `${path}: needs one provider: prometheus, http or nomad`);
      return undefined;
    }
    if (given.length > 1) {
      for (const extra of given.slice(1)) {
        this.r.error(
          extra.key,
          `${path}: has two providers (${given[0]?.name} and ${extra.name}); a check uses exactly one`,
        );
      }
      // Still read each block, so that its own mistakes are reported too.
      for (const g of given) this.provider(g, scope);
      return undefined;
    }
    return this.provider(given[0] as Field, scope);
  }

  provider(f: Field, scope: CheckScope | undefined): CheckSource | undefined {
    if (f.name === 'prometheus') {
      const fields = this.r.mapping(f.value, f.key, f.path, PROMETHEUS_KEYS);
      if (!fields) return undefined;
      const addressField = fields.get('address');
      const address = this.string(addressField, { nonEmpty: true });
      const addressOk = !addressField || (address !== undefined && this.url(addressField, address));
      const queryField = fields.get('query');
      if (!queryField) this.r.error(f.key, `${f.path}: missing required key "query"`);
      const query = this.string(queryField, { nonEmpty: true });
      const queryOk = queryField !== undefined && this.template(query, this.r.valueNode(queryField), queryField.path, scope);
      const timeoutMs = this.duration(fields.get('timeout'), D.check.timeoutMs, { positive: true });
      if (!addressOk || query === undefined || !queryOk || timeoutMs === undefined) return undefined;
      return address === undefined
        ? { kind: 'prometheus', query, timeoutMs }
        : { kind: 'prometheus', address, query, timeoutMs };
    }
    if (f.name === 'http') {
      const fields = this.r.mapping(f.value, f.key, f.path, HTTP_KEYS);
      if (!fields) return undefined;
      const { url, ok: urlOk } = this.templateUrl(f, fields, (text) => (scope ? checkTemplate(text, scope) : []));
      let ok = urlOk;
      const methodField = fields.get('method');
      const methodText = this.string(methodField);
      let method: string | undefined = D.check.httpMethod;
      if (methodField && methodText !== undefined) {
        method = methodText.toUpperCase();
        if (!(HTTP_METHODS as readonly string[]).includes(method)) {
          this.bad(methodField, `invalid value "${methodText}" (expected one of: ${HTTP_METHODS.join(', ')})`);
          method = undefined;
        }
      } else if (methodField) method = undefined;
      const headerEntries = this.stringMap(fields.get('headers'));
      const headers: Record<string, string> = {};
      for (const h of headerEntries ?? []) {
        ok = this.template(h.value, h.node, h.path, scope) && ok;
        headers[h.key] = h.value;
      }
      const bodyField = fields.get('body');
      const body = bodyField ? this.string(bodyField) : '';
      if (bodyField && body !== undefined) ok = this.template(body, this.r.valueNode(bodyField), bodyField.path, scope) && ok;
      const timeoutMs = this.duration(fields.get('timeout'), D.check.timeoutMs, { positive: true });
      if (!ok || method === undefined || !headerEntries || body === undefined || timeoutMs === undefined) return undefined;
      return { kind: 'http', url: url as string, method, headers, body, timeoutMs };
    }
    const fields = this.r.mapping(f.value, f.key, f.path, NOMAD_KEYS);
    if (!fields) return undefined;
    if (scope === 'deployment') {
      this.r.error(f.key, `${f.path}: Nomad service checks are per allocation; set "scope: allocation" on this check`);
      return undefined;
    }
    const timeoutMs = this.duration(fields.get('timeout'), D.check.timeoutMs, { positive: true });
    return timeoutMs === undefined ? undefined : { kind: 'nomad', timeoutMs };
  }

  condition(f: Field | undefined, provider: CheckSource['kind'] | undefined, scope: CheckScope | undefined): string | undefined {
    const text = this.string(f, { nonEmpty: true });
    if (f === undefined || text === undefined) return undefined;
    if (!provider || !scope) return text; // provider or scope unclear: variables unknown, already reported
    const compiled = compileCondition(text, { provider, scope });
    if (compiled.ok) return text;
    const node = this.r.valueNode(f);
    this.r.errorAt(this.r.positionInside(node, compiled.offset), `${f.path}: ${compiled.error}`);
    return undefined;
  }

  check(name: string, f: Field): CheckSpec | undefined {
    let ok = true;
    if (!NAME_PATTERN.test(name)) {
      this.r.error(f.key, `${f.path}: invalid check name "${name}" (use lower-case letters, digits and "-")`);
      ok = false;
    }
    const fields = this.r.mapping(f.value, f.key, f.path, CHECK_KEYS);
    if (!fields) {
      this.checkScopes.set(name, undefined);
      return undefined;
    }
    const scope = this.oneOf(fields.get('scope'), SCOPES, D.check.scope);
    this.checkScopes.set(name, scope);
    const source = this.source(fields, f.path, scope, f.key);
    // The expressions' variables depend only on which provider is named, even if its block is wrong.
    const named = PROVIDERS.filter((p) => fields.has(p));
    const provider = named.length === 1 ? named[0] : undefined;
    const passField = fields.get('pass');
    if (!passField) this.r.error(f.key, `${f.path}: missing required key "pass"`);
    const pass = this.condition(passField, provider, scope);
    const failField = fields.get('fail');
    const fail = this.condition(failField, provider, scope);
    const intervalMs = this.duration(fields.get('interval'), D.check.intervalMs, { positive: true });
    const count = this.integer(fields.get('count'), D.check.count, 1);
    const initialDelayMs = this.duration(fields.get('initialDelay'), D.check.initialDelayMs);
    const failureLimit = this.integer(fields.get('failureLimit'), D.check.failureLimit, 0);
    const inconclusiveLimit = this.integer(fields.get('inconclusiveLimit'), D.check.inconclusiveLimit, 0);
    const consecutiveErrorLimit = this.integer(fields.get('consecutiveErrorLimit'), D.check.consecutiveErrorLimit, 0);
    const noData = this.oneOf(fields.get('noData'), NO_DATA, D.check.noData);
    if (
      !ok ||
      scope === undefined ||
      source === undefined ||
      pass === undefined ||
      (failField && fail === undefined) ||
      intervalMs === undefined ||
      count === undefined ||
      initialDelayMs === undefined ||
      failureLimit === undefined ||
      inconclusiveLimit === undefined ||
      consecutiveErrorLimit === undefined ||
      noData === undefined
    ) {
      return undefined;
    }
    const spec: CheckSpec = {
      name,
      scope,
      source,
      pass,
      intervalMs,
      count,
      initialDelayMs,
      failureLimit,
      inconclusiveLimit,
      consecutiveErrorLimit,
      noData,
    };
    if (fail !== undefined) spec.fail = fail;
    return spec;
  }

  checks(f: Field | undefined): Record<string, CheckSpec> | undefined {
    if (!f) return {};
    const fields = this.r.mapping(f.value, f.key, f.path);
    if (!fields) return undefined;
    const out: Record<string, CheckSpec> = {};
    let ok = true;
    for (const [name, field] of fields) {
      const spec = this.check(name, field);
      if (spec) out[name] = spec;
      else ok = false;
    }
    return ok ? out : undefined;
  }

  canary(f: Field | undefined): CanaryStage | undefined {
    const fields = f ? this.r.mapping(f.value, f.key, f.path, CANARY_KEYS) : new Map<string, Field>();
    if (!fields) return undefined;
    const analysis = this.checkRefs(fields.get('analysis'), false);
    const bakeMs = this.duration(fields.get('bake'), D.canary.bakeMs);
    const promote = this.oneOf(fields.get('promote'), PROMOTE, D.canary.promote);
    const together = this.boolean(fields.get('together'), D.canary.together);
    const timeoutField = fields.get('timeout');
    const timeoutMs = timeoutField ? this.duration(timeoutField, 0, { positive: true }) : undefined;
    const onTimeout = this.oneOf(fields.get('onTimeout'), ON_TIMEOUT, D.canary.onTimeout);
    if (
      !analysis ||
      bakeMs === undefined ||
      !promote ||
      together === undefined ||
      (timeoutField && timeoutMs === undefined) ||
      !onTimeout
    ) {
      return undefined;
    }
    const stage: CanaryStage = { analysis, bakeMs, promote, together, onTimeout };
    if (timeoutMs !== undefined) stage.timeoutMs = timeoutMs;
    return stage;
  }

  stageList(f: Field | undefined, allowed: readonly string[], listKey: string, needsAllocation: boolean): string[] | undefined {
    const fields = f ? this.r.mapping(f.value, f.key, f.path, allowed) : new Map<string, Field>();
    if (!fields) return undefined;
    return this.checkRefs(fields.get(listKey), needsAllocation);
  }

  /** Stage references against the checks that exist; true when all resolve. */
  resolveRefs(): boolean {
    let ok = true;
    for (const ref of this.refs) {
      if (!this.checkScopes.has(ref.name)) {
        const known = [...this.checkScopes.keys()];
        const hint = known.length ? ` (defined checks: ${known.join(', ')})` : ' (this policy defines no checks)';
        this.r.error(ref.node, `${ref.path}: undefined check "${ref.name}"${hint}`);
        ok = false;
      } else if (ref.needsAllocation && this.checkScopes.get(ref.name) === 'deployment') {
        this.r.error(
          ref.node,
          `${ref.path}: check "${ref.name}" has scope deployment; health checks need "scope: allocation"`,
        );
        ok = false;
      }
    }
    return ok;
  }

  policy(root: Node): DocumentOutcome {
    const start = this.r.errors.length;
    const fields = this.r.mapping(root, root, '', POLICY_KEYS);
    if (!fields) return {};
    const { name, position } = this.name(fields, root);
    const match = this.match(fields.get('match'));
    const priority = this.integer(fields.get('priority'), D.priority);
    const mode = this.oneOf(fields.get('mode'), MODES, D.mode);
    const checks = this.checks(fields.get('checks'));
    const canary = this.canary(fields.get('canary'));
    const healthChecks = this.stageList(fields.get('health'), HEALTH_KEYS, 'checks', true);
    const rolloutAnalysis = this.stageList(fields.get('rollout'), ROLLOUT_KEYS, 'analysis', false);
    const onFailureField = fields.get('onFailure');
    const onFailure = onFailureField
      ? this.r.mapping(onFailureField.value, onFailureField.key, onFailureField.path, ON_FAILURE_KEYS)
      : new Map<string, Field>();
    const rollback = onFailure ? this.oneOf(onFailure.get('rollback'), ROLLBACK, D.rollback) : undefined;
    const notify = this.notify(fields.get('notify'));
    this.resolveRefs();
    const outcome: DocumentOutcome = name === undefined ? {} : { name, namePosition: position as Position };
    if (
      this.r.errors.length > start ||
      name === undefined ||
      !match ||
      priority === undefined ||
      !mode ||
      !checks ||
      !canary ||
      !healthChecks ||
      !rolloutAnalysis ||
      !rollback ||
      !notify
    ) {
      return outcome;
    }
    const at = this.r.position(root);
    outcome.policy = {
      name,
      source: `${this.r.file}:${at.line}:${at.column}`,
      match,
      priority,
      mode,
      checks,
      canary,
      health: { checks: healthChecks },
      rollout: { analysis: rolloutAnalysis },
      onFailure: { rollback },
      ...(notify.length > 0 ? { notify } : {}),
    };
    return outcome;
  }
}

/** Reads one document's root node into a policy (or errors, collected in the reader). */
export function readPolicy(reader: DocumentReader, root: Node): DocumentOutcome {
  if (!isScalar(root) && root !== null) return new PolicyReader(reader).policy(root);
  reader.error(root, 'a policy must be a mapping with at least a "name"');
  return {};
}
