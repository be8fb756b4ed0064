/**
 * The simulator's clock: wall time by default, or a fixed offset from it (a cluster whose
 * clocks are skewed); it can be frozen and advanced so tests can step through deadlines
 * without waiting. Unfreezing continues from the frozen instant.
 */
export class SimClock {
  private offsetMs: number;
  private frozenAt: number | null = null;

  constructor(frozen = false, offsetMs = 0) {
    this.offsetMs = offsetMs;
    if (frozen) this.frozenAt = Date.now() + offsetMs;
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
