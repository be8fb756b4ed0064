/**
 * Writes a Prometheus file_sd targets file. Each write goes to a temporary file in the same
 * directory and is renamed over the target, so Prometheus never reads half a file. Writes are
 * serialized, and each one takes its snapshot when it runs, so the file always ends with the
 * latest state even when starts and stops overlap. Calls made while a write is still waiting
 * for its turn join it (its snapshot is taken later, so it covers them): a burst of starts costs
 * one or two writes, not one per app.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FileSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

export class FileSdWriter {
  private queue: Promise<void> = Promise.resolve();
  /** The write queued but not yet started, which later calls can join. */
  private waiting: Promise<void> | undefined;
  private sequence = 0;

  constructor(
    readonly path: string,
    private readonly snapshot: () => FileSdGroup[],
  ) {}

  /** Resolves once a file reflecting the state at (or after) this call is in place. */
  write(): Promise<void> {
    if (this.waiting) return this.waiting;
    const run = this.queue.then(() => {
      this.waiting = undefined;
      return this.writeNow();
    });
    this.waiting = run;
    // One failed write must not wedge the ones after it; the caller still sees its error.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeNow(): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${this.sequence++}.tmp`);
    try {
      await writeFile(temp, `${JSON.stringify(this.snapshot(), null, 2)}\n`);
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
