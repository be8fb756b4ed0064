/**
 * Faults on the lock renewals of one client, identified by its ACL token (control API
 * `/_sim/lock-faults`): `partition` drops its renew requests unanswered and unapplied (the
 * connection is reset), and its acquire attempts while it lasts (a cut-off replica cannot take
 * the lock back either; they do not count as renewals), `renew-delay` holds each one for `ms` before Nomad handles it.
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

  /** Whether `token`'s lock requests are cut off now; consumes nothing. */
  partitioned(token: string): boolean {
    return this.faults.some((x) => x.token === token && x.kind === 'partition');
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
