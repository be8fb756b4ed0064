/**
 * `--watch-source auto`: the event stream, and blocking queries from the moment Nomad refuses
 * the stream (denied, or not served) or answers it in a way that cannot be used. The switch is
 * made once and for good: a refusal is a property of the cluster or the token, not a blip.
 */
import type { Logger } from 'pino';

import type { WatchSource } from './source.js';

export interface AutoSourceOptions {
  /** Builds the stream source, handing it the refusal callback. */
  stream: (onRefused: (reason: string) => void) => WatchSource;
  blocking: () => WatchSource;
  /** Told which source runs, at start and at the fallback. */
  onSource: (source: 'stream' | 'blocking') => void;
  logger: Logger;
}

export class AutoSource implements WatchSource {
  private current: WatchSource;
  private stopped = false;

  constructor(private readonly options: AutoSourceOptions) {
    this.current = options.stream((reason) => this.fallBack(reason));
  }

  get notReadyReason(): string | undefined {
    return this.current.notReadyReason;
  }

  start(): void {
    this.options.onSource('stream');
    this.current.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.current.stop();
  }

  private fallBack(reason: string): void {
    if (this.stopped) return;
    this.options.logger.warn({ reason }, 'event stream refused: falling back to blocking queries');
    this.current = this.options.blocking();
    this.options.onSource('blocking');
    this.current.start();
  }
}
