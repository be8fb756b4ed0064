/**
 * Which policy governs a task group (docs/policy.md "Selection"): a Meta pin first (group Meta
 * over job Meta; `none` opts out), else the highest-priority match, ties going to the name
 * that sorts first.
 */
import { POLICY_OPT_OUT, POLICY_PIN_META_KEY } from '../domain/policy.js';
import type { Policy } from '../domain/policy.js';
import { compileGlob, compileGlobList } from './glob.js';
import type { GlobMatcher } from './glob.js';

export interface SelectionTarget {
  namespace: string;
  job: string;
  group: string;
  jobMeta: Record<string, string>;
  groupMeta: Record<string, string>;
}

export interface Selection {
  /** Absent: no policy governs the group; the promoter leaves it alone. */
  policy?: Policy;
  /** Why, for logs and status. */
  reason: string;
  /** On a priority tie: the other tied policies' names (the chosen one sorts first). */
  tiedWith?: string[];
  /** A Meta pin named a policy that does not exist: the group is not governed. */
  pinnedUnknown?: string;
}

interface CompiledMatch {
  namespaces: GlobMatcher;
  jobs: GlobMatcher;
  groups: GlobMatcher;
  meta: [string, GlobMatcher][];
}

const compiled = new WeakMap<Policy, CompiledMatch>();

function matcherFor(policy: Policy): CompiledMatch {
  let m = compiled.get(policy);
  if (!m) {
    m = {
      namespaces: compileGlobList(policy.match.namespaces),
      jobs: compileGlobList(policy.match.jobs),
      groups: compileGlobList(policy.match.groups),
      meta: Object.entries(policy.match.meta).map(([k, g]) => [k, compileGlob(g)]),
    };
    compiled.set(policy, m);
  }
  return m;
}

/** True when the policy's `match` covers the target (every given key must match). */
export function policyMatches(policy: Policy, target: SelectionTarget): boolean {
  const m = matcherFor(policy);
  return (
    m.namespaces(target.namespace) &&
    m.jobs(target.job) &&
    m.groups(target.group) &&
    m.meta.every(([key, glob]) => Object.hasOwn(target.jobMeta, key) && glob(target.jobMeta[key] as string))
  );
}

function pinOf(target: SelectionTarget): { value: string; from: 'group' | 'job' } | undefined {
  for (const [from, meta] of [
    ['group', target.groupMeta],
    ['job', target.jobMeta],
  ] as const) {
    const raw = meta?.[POLICY_PIN_META_KEY];
    if (typeof raw === 'string' && raw.trim() !== '') return { value: raw.trim(), from };
  }
  return undefined;
}

export function selectPolicy(policies: readonly Policy[], target: SelectionTarget): Selection {
  const pin = pinOf(target);
  if (pin) {
    const where = `${pin.from} Meta ${POLICY_PIN_META_KEY}`;
    if (pin.value === POLICY_OPT_OUT) return { reason: `opted out by ${where} = "${POLICY_OPT_OUT}"` };
    const policy = policies.find((p) => p.name === pin.value);
    if (!policy) {
      return {
        reason: `${where} pins unknown policy "${pin.value}"; the group is left alone`,
        pinnedUnknown: pin.value,
      };
    }
    return { policy, reason: `pinned by ${where} = "${pin.value}"` };
  }
  const matching = policies.filter((p) => policyMatches(p, target));
  if (matching.length === 0) return { reason: 'no policy matches' };
  const top = Math.max(...matching.map((p) => p.priority));
  const best = matching
    .filter((p) => p.priority === top)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const [policy, ...others] = best as [Policy, ...Policy[]];
  if (others.length === 0) return { policy, reason: `matched policy "${policy.name}" (priority ${top})` };
  const tiedWith = others.map((p) => p.name);
  return {
    policy,
    reason: `matched policy "${policy.name}" (priority ${top}; tied with ${tiedWith.map((n) => `"${n}"`).join(', ')}, first by name wins)`,
    tiedWith,
  };
}
