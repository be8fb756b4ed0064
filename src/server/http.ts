/**
 * The daemon's HTTP surface: /metrics, /healthz, /readyz, /v1/deployments[/:id].
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Recorder } from './metrics.js';
import type { SnapshotStore } from '../store/store.js';
import { detailView, statusView } from './status.js';
import { MACHINE_STATES } from '../machine/machine.js';

export interface StatusServerDeps {
  recorder: Recorder;
  store: SnapshotStore;
  /** Why the daemon is not ready, or undefined when it is. */
  notReadyReason: () => string | undefined;
}

export class StatusServer {
  private readonly server: Server;

  constructor(private readonly deps: StatusServerDeps) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => send(res, 500, { error: err instanceof Error ? err.message : String(err) }));
    });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const reason = this.deps.notReadyReason();
      return send(res, reason ? 503 : 200, reason ? { status: 'not ready', reason } : { status: 'ready' });
    }
    if (path === '/metrics') {
      const snapshots = await this.deps.store.list();
      const counts: Record<string, number> = {};
      for (const s of snapshots) counts[s.value] = (counts[s.value] ?? 0) + 1;
      this.deps.recorder.trackedStates(counts, MACHINE_STATES);
      res.writeHead(200, { 'content-type': this.deps.recorder.contentType });
      res.end(await this.deps.recorder.metrics());
      return;
    }
    if (path === '/v1/deployments') {
      const snapshots = await this.deps.store.list();
      return send(res, 200, snapshots.map(statusView));
    }
    const match = /^\/v1\/deployments\/([^/]+)$/.exec(path);
    if (match) {
      const s = await this.deps.store.get(decodeURIComponent(match[1]!));
      return s ? send(res, 200, detailView(s)) : send(res, 404, { error: 'deployment not tracked' });
    }
    send(res, 404, { error: 'not found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
