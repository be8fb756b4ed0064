/**
 * Faults on the lock renewals of one client, identified by its ACL token (control API
 * `/_sim/lock-faults`): `partition` drops its renew requests unanswered and unapplied (the
 * connection is reset), `renew-delay` holds each one for `ms` before Nomad handles it.
 * A fault lasts for `count` renewals, or until cleared when no count is given.
 */
export type LockFaultKind = 'partition' | 'renew-delay';

export const LOCK_FAULT_KINDS: readonly LockFaultKind[] = ['partition', 'renew-delay'];

export interface LockFault {
  kind: LockFaultKind;
  token: string;
  ms: number;
  /** Renewals left to affect; null = until cleared. */
  count: number | null;
}

export class LockFaults {
  private faults: LockFault[] = [];

  add(f: LockFault): void {
    this.faults.push(f);
  }

  clear(): void {
    this.faults = [];
  }

  /** Listed without the tokens they target: a token is a secret. */
  list(): Omit<LockFault, 'token'>[] {
    return this.faults.map(({ token: _secret, ...rest }) => rest);
  }

  /** Consumes and returns the first fault on renewals sent with `token`, if any. */
  take(token: string): LockFault | null {
    const f = this.faults.find((x) => x.token === token);
    if (!f) return null;
    if (f.count !== null) f.count--;
    this.faults = this.faults.filter((x) => x.count === null || x.count > 0);
    return { ...f };
  }
}
