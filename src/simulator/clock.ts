/**
 * The simulator's clock: wall time by default; it can be frozen and advanced so tests can
 * step through deadlines without waiting. Unfreezing continues from the frozen instant.
 */
export class SimClock {
  private offsetMs = 0;
  private frozenAt: number | null = null;

  constructor(frozen = false) {
    if (frozen) this.frozenAt = Date.now();
  }

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  get frozen(): boolean {
    return this.frozenAt !== null;
  }

  freeze(): void {
    if (this.frozenAt === null) this.frozenAt = this.now();
  }

  unfreeze(): void {
    if (this.frozenAt === null) return;
    this.offsetMs = this.frozenAt - Date.now();
    this.frozenAt = null;
  }

  advance(ms: number): void {
    if (ms < 0) throw new Error('cannot advance the clock backwards');
    if (this.frozenAt !== null) this.frozenAt += ms;
    else this.offsetMs += ms;
  }
}
