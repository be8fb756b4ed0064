/**
 * `{{ name }}` placeholders in check queries, URLs, headers and bodies (docs/policy.md
 * "Templates"). No logic: a placeholder holds exactly one name. Names are checked at load time
 * against the check's scope; rendering a name that has no value is an error, never "".
 */
import type { CheckScope } from '../domain/policy.js';
import { redactValues } from '../domain/redact.js';

/** Values for rendering. Absent fields are "no value": rendering a name that needs one fails. */
export interface TemplateVars {
  namespace?: string;
  job?: string;
  group?: string;
  deploymentId?: string;
  jobVersion?: number;
  jobMeta?: Record<string, string>;
  /** Canary allocations of the group in this deployment. */
  canaryAllocIds?: readonly string[];
  /** Every allocation of this deployment (the group's, for a per-group measurement). */
  newAllocIds?: readonly string[];
  /** Running allocations of older job versions: the baseline. */
  stableAllocIds?: readonly string[];
  /** Allocation scope only. */
  alloc?: TemplateAlloc;
  /** The process environment; only PROMOTER_VAR_* names are ever read. */
  env?: Record<string, string | undefined>;
}

export interface TemplateAlloc {
  id: string;
  name: string;
  node: string;
  /** The allocation's address; used by alloc.addr.<label> when the port has no own address. */
  ip?: string;
  /** Port label -> port (and its host address when Nomad reports one). */
  ports?: Record<string, { port: number; ip?: string }>;
}

export type RenderResult = { ok: true; text: string } | { ok: false; error: string };

/** Prefix of the only environment variables templates may read. */
export const ENV_PREFIX = 'PROMOTER_VAR_';

/**
 * Rendering of an empty ID list in a `*.allocIdsRegex`: a regex that matches no string at all.
 * An empty regex would match every series that lacks the label, which is worse than no data.
 */
export const EMPTY_ID_REGEX = '$none^';

const PLACEHOLDER_NAME = /^[A-Za-z0-9_.-]+$/;
const PORT_LABEL = /^[A-Za-z0-9_-]+$/;
const ENV_NAME = /^PROMOTER_VAR_[A-Za-z0-9_]+$/;

const DEPLOYMENT_NAMES = new Set([
  'namespace',
  'job',
  'group',
  'deployment.id',
  'job.version',
  'canary.allocIds',
  'canary.allocIdsRegex',
  'new.allocIdsRegex',
  'stable.allocIdsRegex',
]);
const ALLOCATION_NAMES = new Set(['alloc.id', 'alloc.name', 'alloc.node', 'alloc.ip']);

interface Segment {
  literal: string;
  /** The placeholder after the literal, if any. */
  name?: string;
}

interface Scan {
  segments: Segment[];
  errors: string[];
}

/** Splits text into literals and placeholder names, collecting syntax errors. */
function scan(text: string): Scan {
  const segments: Segment[] = [];
  const errors: string[] = [];
  let rest = text;
  let literal = '';
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) break;
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) {
      errors.push(`unclosed "{{" in template (a placeholder is written {{ name }})`);
      break;
    }
    const raw = rest.slice(open, close + 2);
    const name = rest.slice(open + 2, close).trim();
    literal += rest.slice(0, open);
    if (name === '') {
      errors.push(`empty template placeholder "${raw}"`);
    } else if (!PLACEHOLDER_NAME.test(name)) {
      errors.push(`template placeholder "${raw}" must hold a single name (templates have no logic)`);
    } else {
      segments.push({ literal, name });
      literal = '';
    }
    rest = rest.slice(close + 2);
  }
  segments.push({ literal: literal + rest });
  return { segments, errors };
}

/** The placeholder names in `text`, once each, in order of first appearance. */
export function templateNames(text: string): string[] {
  const names: string[] = [];
  for (const s of scan(text).segments) if (s.name !== undefined && !names.includes(s.name)) names.push(s.name);
  return names;
}

type NameKind = { known: true; allocationOnly: boolean } | { known: false; error: string };

function classify(name: string): NameKind {
  if (DEPLOYMENT_NAMES.has(name)) return { known: true, allocationOnly: false };
  if (ALLOCATION_NAMES.has(name)) return { known: true, allocationOnly: true };
  if (name.startsWith('job.meta.') && name.length > 'job.meta.'.length) return { known: true, allocationOnly: false };
  for (const prefix of ['alloc.port.', 'alloc.addr.']) {
    if (name.startsWith(prefix)) {
      return PORT_LABEL.test(name.slice(prefix.length))
        ? { known: true, allocationOnly: true }
        : { known: false, error: `template name "${name}" needs a port label after "${prefix}"` };
    }
  }
  if (name.startsWith('env.')) {
    const env = name.slice(4);
    return ENV_NAME.test(env)
      ? { known: true, allocationOnly: false }
      : {
          known: false,
          error: `template name "${name}": only environment variables whose names start with ${ENV_PREFIX} are visible`,
        };
  }
  return { known: false, error: `unknown template name "${name}"` };
}

/** Every problem with `text` as a template of a check with the given scope; empty when fine. */
export function checkTemplate(text: string, scope: CheckScope): string[] {
  return checkNames(text, (name, kind) =>
    kind.allocationOnly && scope !== 'allocation' ? `template name "${name}" needs "scope: allocation" (this check has scope ${scope})` : undefined,
  );
}

/** Names a notification renders: one message speaks of a whole deployment, not of a group or an allocation. */
const NOTIFY_NAMES = new Set(['namespace', 'job', 'deployment.id', 'job.version']);

/** Every problem with `text` as a template of a notify target; empty when fine. */
export function checkNotifyTemplate(text: string): string[] {
  return checkNames(text, (name) =>
    NOTIFY_NAMES.has(name) || name.startsWith('env.')
      ? undefined
      : `template name "${name}" is not available in notify (available: ${[...NOTIFY_NAMES].join(', ')}, env.${ENV_PREFIX}*)`,
  );
}

/** Syntax errors, unknown names, and what `refuse` says of each known name. */
function checkNames(text: string, refuse: (name: string, kind: { allocationOnly: boolean }) => string | undefined): string[] {
  const { segments, errors } = scan(text);
  const out = [...errors];
  for (const s of segments) {
    if (s.name === undefined) continue;
    const kind = classify(s.name);
    const problem = kind.known ? refuse(s.name, kind) : kind.error;
    if (problem) out.push(problem);
  }
  return [...new Set(out)];
}

function joinRegex(ids: readonly string[]): string {
  // Nomad allocation IDs are UUIDs: no regex metacharacters to escape (and a backslash would
  // need doubling inside a PromQL string).
  return ids.length === 0 ? EMPTY_ID_REGEX : ids.join('|');
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The value of one name, or undefined when it has none in `vars`. */
function valueOf(name: string, vars: TemplateVars): string | undefined {
  switch (name) {
    case 'namespace':
      return vars.namespace;
    case 'job':
      return vars.job;
    case 'group':
      return vars.group;
    case 'deployment.id':
      return vars.deploymentId;
    case 'job.version':
      return vars.jobVersion === undefined ? undefined : String(vars.jobVersion);
    case 'canary.allocIds':
      return vars.canaryAllocIds?.join(',');
    case 'canary.allocIdsRegex':
      return vars.canaryAllocIds && joinRegex(vars.canaryAllocIds);
    case 'new.allocIdsRegex':
      return vars.newAllocIds && joinRegex(vars.newAllocIds);
    case 'stable.allocIdsRegex':
      return vars.stableAllocIds && joinRegex(vars.stableAllocIds);
    case 'alloc.id':
      return vars.alloc?.id;
    case 'alloc.name':
      return vars.alloc?.name;
    case 'alloc.node':
      return vars.alloc?.node;
    case 'alloc.ip':
      return vars.alloc?.ip;
  }
  if (name.startsWith('job.meta.')) {
    const meta = vars.jobMeta;
    const key = name.slice('job.meta.'.length);
    return meta && Object.hasOwn(meta, key) ? meta[key] : undefined;
  }
  if (name.startsWith('alloc.port.')) {
    const port = vars.alloc?.ports?.[name.slice('alloc.port.'.length)];
    return port && String(port.port);
  }
  if (name.startsWith('alloc.addr.')) {
    const port = vars.alloc?.ports?.[name.slice('alloc.addr.'.length)];
    const ip = port?.ip || vars.alloc?.ip;
    return port && ip ? hostPort(ip, port.port) : undefined;
  }
  if (name.startsWith('env.') && ENV_NAME.test(name.slice(4))) {
    const env = vars.env;
    const key = name.slice(4);
    return env && Object.hasOwn(env, key) ? env[key] : undefined;
  }
  return undefined;
}

/**
 * Replaces every placeholder with its value. Fails on a syntax error, an unknown name, or a name
 * with no value. Error texts name the placeholder, never a value.
 */
export function renderTemplate(text: string, vars: TemplateVars): RenderResult {
  const { segments, errors } = scan(text);
  if (errors.length > 0) return { ok: false, error: errors[0] as string };
  let out = '';
  for (const s of segments) {
    out += s.literal;
    if (s.name === undefined) continue;
    const kind = classify(s.name);
    if (!kind.known) return { ok: false, error: kind.error };
    const value = valueOf(s.name, vars);
    if (value === undefined) return { ok: false, error: `template name "${s.name}" has no value here` };
    out += value;
  }
  return { ok: true, text: out };
}

/**
 * Replaces every non-empty PROMOTER_VAR_* value found in `text` with `[redacted]`, whatever its
 * length, for anything that leaves the process (logs, status, errors). See `redactValues`.
 */
export function redactSecrets(text: string, env: Record<string, string | undefined>): string {
  return redactValues(text, secretValues(env));
}

/** The non-empty PROMOTER_VAR_* values of `env`: what must never leave the process. */
export function secretValues(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([k, v]) => k.startsWith(ENV_PREFIX) && typeof v === 'string' && v !== '')
    .map(([, v]) => v as string);
}
