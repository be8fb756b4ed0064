/** Defaults of docs/policy.md, in one place. Durations in milliseconds. */
export const POLICY_DEFAULTS = {
  match: { namespaces: ['*'], jobs: ['*'], groups: ['*'] },
  priority: 0,
  mode: 'enforce',
  check: {
    scope: 'deployment',
    intervalMs: 30_000,
    count: 1,
    initialDelayMs: 0,
    failureLimit: 0,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 4,
    noData: 'inconclusive',
    timeoutMs: 10_000,
    httpMethod: 'GET',
  },
  canary: { bakeMs: 0, promote: 'auto', together: false, onTimeout: 'fail' },
  rollback: 'auto',
  notify: { heldAfterMs: 300_000, timeoutMs: 10_000 },
} as const;

export const MODES = ['enforce', 'dry-run'] as const;
export const SCOPES = ['deployment', 'allocation'] as const;
export const NO_DATA = ['pass', 'fail', 'inconclusive'] as const;
export const PROMOTE = ['auto', 'manual'] as const;
export const ON_TIMEOUT = ['fail', 'promote', 'wait'] as const;
export const ROLLBACK = ['auto', 'revert', 'none'] as const;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const PROVIDERS = ['prometheus', 'http', 'nomad'] as const;
export const NOTIFY_KINDS = ['webhook', 'slack'] as const;
export const NOTIFY_EVENTS = ['promoted', 'failed', 'rolled_back', 'held', 'timeout', 'human'] as const;

/** Policy and check names: what metrics labels, Meta pins and messages can carry unquoted. */
export const NAME_PATTERN = /^[a-z0-9-]+$/;
