/**
 * The event stream as the cache's change feed: one connection to /v1/event/stream (topics
 * Deployment and Allocation) plus the request client for full lists. After every (re)connect the
 * cache is re-listed (the stream cannot say what was missed, and a resumed index older than the
 * server's buffer silently skips); events are then applied one by one. EOF, an error, or more
 * than `silenceMs` without a line (events or `{}` heartbeats) reconnects with backoff.
 * A 200 that ends with no line at all (Nomad 1.11.2+ denying), or a non-2xx answer, is a refusal.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';

import type { AllocationStub, AllocationView, Deployment } from '../domain/nomad.js';
import type { NomadApi } from '../nomad/api.js';
import type { HttpTransport } from '../nomad/transport.js';
import { allocationView, type ClusterCache } from './cache.js';
import { LIST_PAGE_SIZE, startResync, type WatchSource } from './source.js';
import { backoffDelay, jitter } from '../domain/backoff.js';
import { sleep } from './watcher.js';

/** Nomad sends `{}` every 30 s: 35 s without a line means the connection is dead. */
export const STREAM_SILENCE_MS = 35_000;

export interface StreamSourceOptions {
  /** The stream's own transport (one connection). */
  transport: HttpTransport;
  /** Full lists go through the request client. */
  api: NomadApi;
  cache: ClusterCache;
  namespace: string;
  resyncMs: number;
  silenceMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onChange: (deploymentIds: string[]) => void;
  onError: (err: unknown, retryInMs: number) => void;
  /** Called after each full list of a table (the re-list after every connect). */
  onList?: (table: 'deployments' | 'allocations') => void;
  /** Nomad refused the stream; when given, the source stops and leaves the rest to the caller. */
  onRefused?: (reason: string) => void;
  logger: Logger;
}

/** Nomad answered but will not stream to us (denied, or a server without the endpoint). */
export class StreamRefused extends Error {}

interface StreamEvent {
  Topic: string;
  Payload?: { Deployment?: Deployment; Allocation?: AllocationWithDeployment };
}

type AllocationWithDeployment = Omit<AllocationStub, 'JobVersion' | 'JobType'> & { DeploymentID?: string; JobVersion?: number; JobType?: string };

export class StreamSource implements WatchSource {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private stopResync?: () => void;
  private listed = false;
  private failing = false;
  /** Index of the last frame received: a reconnect resumes after it instead of replaying the server's buffer. */
  private lastIndex = 0;

  constructor(private readonly options: StreamSourceOptions) {}

  get notReadyReason(): string | undefined {
    if (!this.listed) return 'waiting for a full list of deployments and allocations from Nomad';
    if (this.failing) return 'the Nomad event stream is failing';
    return undefined;
  }

  start(): void {
    this.loop = this.run();
    const { cache, onChange, resyncMs, logger } = this.options;
    this.stopResync = startResync(cache, onChange, resyncMs, logger);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.stopResync?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    let failures = 0;
    while (!signal.aborted) {
      let failed: unknown;
      try {
        await this.session(() => {
          failures = 0;
        });
      } catch (err) {
        failed = err;
      }
      if (signal.aborted) return;
      if (failed instanceof StreamRefused && this.options.onRefused) {
        this.stopResync?.();
        this.options.onRefused(failed.message);
        return;
      }
      // Every reconnect backs off, after an error as after an EOF, so a server that keeps
      // closing the stream is not hammered.
      const delay = jitter(backoffDelay(this.options.minBackoffMs ?? 250, failures++, this.options.maxBackoffMs ?? 30_000));
      if (failed === undefined) {
        this.options.logger.info({ retryInMs: delay }, 'event stream ended: reconnecting');
      } else {
        this.failing = true;
        this.options.onError(failed, delay);
      }
      await sleep(delay, signal);
    }
  }

  /** One connection: open, re-list, apply events until the stream ends. */
  private async session(connected: () => void): Promise<void> {
    const { transport, namespace, silenceMs = STREAM_SILENCE_MS } = this.options;
    const query = new URLSearchParams([['topic', 'Deployment'], ['topic', 'Allocation'], ['namespace', namespace]]);
    // A first connect asks for an index past anything buffered, which starts at the latest frame:
    // the re-list brings the state, and replaying the server's buffer (100 frames by default,
    // which at 10 deployments was half of what the daemon read) would bring nothing newer.
    query.set('index', String(this.lastIndex > 0 ? this.lastIndex + 1 : Number.MAX_SAFE_INTEGER));
    const connection = new AbortController();
    const stopConnection = (): void => connection.abort();
    this.abort.signal.addEventListener('abort', stopConnection, { once: true });
    try {
      const res = await transport.openStream('/v1/event/stream', query, connection.signal).catch((err: unknown) => {
        // An answer node cannot parse (Nomad 1.11.2's `HTTP/0.0` status line) will not get better.
        const code = (err as { cause?: { code?: unknown } }).cause?.code;
        throw typeof code === 'string' && code.startsWith('HPE_') ? new StreamRefused(`event stream answer is not valid HTTP (${code})`) : err;
      });
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
        res.resume();
        throw new StreamRefused(`event stream answered HTTP ${res.statusCode}`);
      }
      const lines = readLines(res, silenceMs, stopConnection);
      // Events arriving while the cache is re-listed wait in the body's buffer and are applied
      // after the list; the cache ignores those the list already had.
      const first = await lines.next();
      if (first.done) throw new StreamRefused('event stream answered 200 and ended without a line (permission denied?)');
      await this.relist();
      connected();
      this.failing = false;
      for (;;) {
        const next = await lines.next();
        if (next.done) return;
        this.apply(next.value);
      }
    } finally {
      this.abort.signal.removeEventListener('abort', stopConnection);
      connection.abort();
    }
  }

  private async relist(): Promise<void> {
    const { api, cache, namespace } = this.options;
    const signal = this.abort.signal;
    const deployments = await api.listAllDeployments({ namespace, signal, perPage: LIST_PAGE_SIZE });
    const allocations = await api.listAllAllocations({ namespace, signal, resources: true, taskStates: false, perPage: LIST_PAGE_SIZE }, allocationView);
    const ids = new Set<string>();
    const d = cache.replaceDeployments(deployments.body);
    for (const x of [...d.changed, ...d.removed]) ids.add(x.ID);
    const a = cache.replaceAllocations(allocations.body);
    for (const x of [...a.changed, ...a.removed]) for (const dep of cache.deploymentsOfAlloc(x)) ids.add(dep.ID);
    this.listed = true;
    this.options.onList?.('deployments');
    this.options.onList?.('allocations');
    this.options.logger.debug({ deployments: deployments.body.length, allocations: allocations.body.length }, 'event stream connected: re-listed');
    if (ids.size > 0) this.options.onChange([...ids]);
  }

  private apply(line: string): void {
    let frame: { Index?: number; Events?: StreamEvent[] };
    try {
      frame = JSON.parse(line) as { Index?: number; Events?: StreamEvent[] };
    } catch {
      throw new Error(`event stream sent a line that is not JSON: ${line.slice(0, 80)}`);
    }
    // Set, not raised: after a snapshot restore the server's indexes are lower.
    if (typeof frame.Index === 'number') this.lastIndex = frame.Index;
    const ids = new Set<string>();
    for (const e of frame.Events ?? []) {
      const changed = e.Topic === 'Deployment' ? this.applyDeployment(e.Payload?.Deployment) : e.Topic === 'Allocation' ? this.applyAllocation(e.Payload?.Allocation) : undefined;
      for (const id of changed ?? []) ids.add(id);
    }
    if (ids.size > 0) this.options.onChange([...ids]);
  }

  private applyDeployment(d: Deployment | undefined): string[] {
    return d && this.options.cache.upsertDeployment(d) ? [d.ID] : [];
  }

  /** Allocation events carry no JobVersion: it is the version of the allocation's deployment. */
  private applyAllocation(a: AllocationWithDeployment | undefined): string[] {
    if (!a) return [];
    const { cache } = this.options;
    const previous = cache.allocation(a.ID);
    const deployment = a.DeploymentID ? cache.deployment(a.DeploymentID) : undefined;
    const version = deployment?.JobVersion ?? previous?.JobVersion;
    if (version === undefined) return [];
    const stub: AllocationView = { ...a, JobVersion: version };
    if (!cache.upsertAllocation(stub)) return [];
    return cache.deploymentsOfAlloc(stub).map((x) => x.ID);
  }
}

/**
 * The body's lines as they arrive; ends at EOF, or calls `cut` after `silenceMs` without data
 * (which ends the body). A connection error rejects.
 */
async function* readLines(res: IncomingMessage, silenceMs: number, cut: () => void): AsyncGenerator<string> {
  let silent = false;
  const onSilence = (): void => {
    silent = true;
    cut();
  };
  let timer = setTimeout(onSilence, silenceMs);
  let rest = '';
  res.setEncoding('utf8');
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      clearTimeout(timer);
      timer = setTimeout(onSilence, silenceMs);
      rest += chunk;
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') yield p;
    }
  } catch (err) {
    // Cut for silence: as good as an EOF. Anything else is a connection error.
    if (silent) return;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
