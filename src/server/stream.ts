/**
 * `GET /v1/stream`: the tracked deployments as server-sent events. A client gets a snapshot of
 * all of them, then one event per change the store accepts (fed by its subscription, never by
 * polling), and a heartbeat while nothing changes. Each client's send buffer is bounded: a client
 * that does not keep up is dropped (its browser reconnects and starts from a fresh snapshot), so a
 * slow reader never holds up or bloats the daemon.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoredSnapshot } from '../machine/machine.js';
import type { SnapshotChange, SnapshotListener } from '../store/observed.js';
import type { DeploymentStatusView } from './status.js';

export interface StreamOptions {
  heartbeatMs: number;
  /** Bytes a client may leave unread before it is dropped. */
  maxBufferedBytes: number;
  /** Streams open at once; one more is refused (each holds a socket and a send buffer). */
  maxClients: number;
}

export const STREAM_DEFAULTS: StreamOptions = { heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024, maxClients: 100 };

export interface StreamFeed {
  subscribe(listener: SnapshotListener): () => void;
  list(): Promise<StoredSnapshot[]>;
}

interface Client {
  res: ServerResponse;
  /** Events that arrived while the snapshot was being read; sent right after it. */
  queued?: string[];
}

/** Browsers wait this long before reconnecting a dropped stream. */
const RETRY_MS = 2000;

export class LiveStream {
  private readonly clients = new Set<Client>();
  private unsubscribe?: () => void;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly feed: StreamFeed,
    private readonly view: (s: StoredSnapshot) => DeploymentStatusView,
    private readonly options: StreamOptions = STREAM_DEFAULTS,
    /** Told when a client is dropped for not keeping up. */
    private readonly onDrop: () => void = () => {},
  ) {}

  /** Why a new client is refused, if it is. */
  refusal(): string | undefined {
    return this.clients.size >= this.options.maxClients ? `too many /v1/stream clients (at most ${this.options.maxClients}); try again later` : undefined;
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies that buffer responses would hold events back.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    const client: Client = { res, queued: [] };
    this.add(client);
    req.on('close', () => this.remove(client));
    try {
      // Subscribed before the list is read: a change during the read is queued, never lost.
      const snapshots = await this.feed.list();
      if (!this.clients.has(client)) return;
      const queued = client.queued ?? [];
      delete client.queued;
      this.send(client, frame('snapshot', { at: new Date().toISOString(), deployments: snapshots.map(this.view) }));
      for (const text of queued) this.send(client, text);
    } catch {
      // The status line is sent: no error answer fits any more. The browser reconnects.
      this.remove(client);
      res.destroy();
    }
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    this.stop();
  }

  private add(client: Client): void {
    this.clients.add(client);
    this.unsubscribe ??= this.feed.subscribe((change) => this.broadcast(change));
    this.heartbeat ??= setInterval(() => {
      const text = frame('heartbeat', { at: new Date().toISOString() });
      for (const c of this.clients) if (!c.queued) this.send(c, text);
    }, this.options.heartbeatMs).unref();
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.stop();
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** One serialisation per change, whatever the number of clients. */
  private broadcast(change: SnapshotChange): void {
    const text = change.after ? frame('deployment', this.view(change.after)) : frame('removed', { id: change.id });
    for (const client of this.clients) {
      if (client.queued) {
        client.queued.push(text);
        if (client.queued.reduce((n, t) => n + t.length, 0) > this.options.maxBufferedBytes) this.drop(client);
      } else {
        this.send(client, text);
      }
    }
  }

  private send(client: Client, text: string): void {
    if (client.res.writableLength > this.options.maxBufferedBytes) return this.drop(client);
    client.res.write(text);
  }

  private drop(client: Client): void {
    this.remove(client);
    client.res.destroy();
    this.onDrop();
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
