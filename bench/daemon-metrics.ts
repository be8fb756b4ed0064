/**
 * The daemon's own figures from its /metrics (prom-client's default process metrics and the
 * promoter's counters), sampled while a run goes on so that the peak RSS is seen.
 */

/** Sums every sample of `name` whose labels contain all of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    sum += Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface ProcessSample {
  rssBytes: number;
  cpuSeconds: number;
  text: string;
}

export async function sampleDaemon(url: string): Promise<ProcessSample> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`bench: daemon /metrics answered ${res.status}`);
  const text = await res.text();
  return { rssBytes: metricSum(text, 'process_resident_memory_bytes'), cpuSeconds: metricSum(text, 'process_cpu_seconds_total'), text };
}

/** Samples the daemon every `everyMs` until stopped; keeps the first sample, the last one and the peak RSS. */
export class DaemonSampler {
  first: ProcessSample | undefined;
  last: ProcessSample | undefined;
  peakRssBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly everyMs = 1000,
  ) {}

  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => {
      this.inFlight = this.sample().catch(() => undefined);
    }, this.everyMs);
  }

  /** Takes a last sample and stops. */
  async stop(): Promise<ProcessSample> {
    clearInterval(this.timer);
    await this.inFlight;
    await this.sample();
    return this.last!;
  }

  private async sample(): Promise<void> {
    const s = await sampleDaemon(this.url);
    this.first ??= s;
    this.last = s;
    this.peakRssBytes = Math.max(this.peakRssBytes, s.rssBytes);
  }
}
