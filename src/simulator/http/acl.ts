/**
 * Optional ACLs. Tokens are given as capabilities, either for every namespace
 * (`["read-job", "submit-job"]`) or per namespace (`{"default": ["read-job"], "*": [...]}`).
 * `management` grants everything. With ACLs on, a request without a token is anonymous (no
 * capability); an unknown token is refused with 403 `Permission denied`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { ApiError, PERMISSION_DENIED } from '../model/errors.js';

export type Capability =
  | 'read-job'
  | 'list-jobs'
  | 'submit-job'
  | 'promote-deployment'
  | 'fail-deployment'
  | 'pause-deployment'
  | 'set-alloc-health-deployment'
  | 'unblock-deployment'
  | 'revert-job'
  | 'stable-job'
  // Nomad's `variables` block (read/write/list/destroy per path), simplified to token-wide
  // capabilities per namespace: any path of the namespace.
  | 'variables-read'
  | 'variables-write'
  | 'variables-list'
  | 'variables-destroy'
  | 'management';

/** Capabilities keyed by namespace; "*" applies to every namespace. */
export type TokenGrants = Map<string, Set<string>>;

export interface Identity {
  /** null = ACLs disabled: everything allowed. */
  grants: TokenGrants | null;
}

export type TokenSpec = string[] | Record<string, string[]>;

/** Nomad's accessor ID of the anonymous token (requests without a token). */
export const ANONYMOUS_ACCESSOR = 'anonymous';

export class AclState {
  enabled = false;
  private tokens = new Map<string, TokenGrants>();
  private accessors = new Map<string, string>();

  /** Returns each token's accessor ID, in the order the tokens were given. */
  configure(enabled: boolean, tokens: Record<string, TokenSpec> = {}): string[] {
    this.enabled = enabled;
    this.tokens = new Map();
    this.accessors = new Map();
    for (const [secret, spec] of Object.entries(tokens)) {
      const grants: TokenGrants = new Map();
      if (Array.isArray(spec)) grants.set('*', new Set(spec));
      else for (const [ns, caps] of Object.entries(spec)) grants.set(ns, new Set(caps));
      this.tokens.set(secret, grants);
      this.accessors.set(secret, randomUUID());
    }
    return [...this.accessors.values()];
  }

  /**
   * The accessor ID of the token a request carries, so a log can say who wrote without holding
   * the secret; undefined with ACLs off or for an unknown token.
   */
  accessorOf(req: IncomingMessage): string | undefined {
    if (!this.enabled) return undefined;
    const token = AclState.tokenOf(req);
    return token === '' ? ANONYMOUS_ACCESSOR : this.accessors.get(token);
  }

  /** Reads the token like Nomad: X-Nomad-Token first, else `Authorization: Bearer <token>`. */
  static tokenOf(req: IncomingMessage): string {
    const header = req.headers['x-nomad-token'];
    const direct = (Array.isArray(header) ? header[0] : header)?.trim();
    if (direct) return direct;
    const auth = req.headers.authorization;
    if (auth) {
      const parts = auth.split(' ');
      if (parts.length > 1 && (parts[0] as string).toLowerCase() === 'bearer') {
        return (parts.slice(1).join(' ').trim().split(' ')[0] ?? '').trim();
      }
    }
    return '';
  }

  /** Resolves the caller; an unknown token is refused at once (Nomad authenticates first). */
  authenticate(req: IncomingMessage): Identity {
    if (!this.enabled) return { grants: null };
    const token = AclState.tokenOf(req);
    if (token === '') return { grants: new Map() };
    const grants = this.tokens.get(token);
    if (!grants) throw new ApiError(403, PERMISSION_DENIED);
    return { grants };
  }
}

function grantsIn(grants: TokenGrants, namespace: string): Set<string> {
  return new Set([...(grants.get('*') ?? []), ...(grants.get(namespace) ?? [])]);
}

/** Whether `who` holds any of `caps` in `namespace`; namespace "*" means in some namespace. */
export function allows(who: Identity, namespace: string, ...caps: Capability[]): boolean {
  if (!who.grants) return true;
  const namespaces = namespace === '*' ? [...who.grants.keys()] : [namespace];
  return namespaces.some((ns) => {
    const held = grantsIn(who.grants as TokenGrants, ns);
    return held.has('management') || caps.some((c) => held.has(c));
  });
}

export function requireCapability(who: Identity, namespace: string, ...caps: Capability[]): void {
  if (!allows(who, namespace, ...caps)) throw new ApiError(403, PERMISSION_DENIED);
}
