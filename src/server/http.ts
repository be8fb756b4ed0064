/**
 * The daemon's HTTP surface: /metrics, /healthz, /readyz, /v1/deployments[/:id], /v1/stream
 * and the dashboard at /.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Recorder } from './metrics.js';
import type { SnapshotStore } from '../store/store.js';
import type { StoredSnapshot } from '../machine/machine.js';
import { detailText, detailView, statusView, type ViewSources } from './status.js';
import { LiveStream, STREAM_DEFAULTS, type StreamFeed, type StreamOptions } from './stream.js';
import { serveDashboard } from './dashboard.js';
import { MACHINE_STATES, stateName } from '../machine/machine.js';
import { HUMAN_ACTIONS, type HumanAction } from '../machine/human.js';
import type { HumanAnswer, HumanRequest } from '../reconcile/reconciler.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Leadership } from '../ha/lease.js';

const MAX_BODY_BYTES = 16 * 1024;

export interface StatusServerDeps {
  recorder: Recorder;
  /** The snapshots, and the feed of their changes behind /v1/stream. */
  store: SnapshotStore & StreamFeed;
  /** What the views add from outside the snapshots (policies, Nomad's canaries). */
  sources?: ViewSources;
  stream?: Partial<StreamOptions>;
  /** Told when a stream client is dropped for not reading fast enough. */
  onStreamDrop?: () => void;
  /** The dashboard's built files (default: the package's dist/web/). */
  webDir?: URL;
  /** Why the daemon is not ready, or undefined when it is. */
  notReadyReason: () => string | undefined;
  /** PROMOTER_API_TOKEN; absent: the action endpoints answer 403. */
  apiToken?: string;
  /** Carries out a person's decision (the reconciler). */
  act?: (id: string, request: HumanRequest) => Promise<HumanAnswer>;
  /** HA: who leads. A standby answers actions with 503 naming the leader, and lists name it in headers. */
  leadership?: () => Leadership;
}

/** Response headers of the deployment views under HA: who leads, and this replica's role. */
export const LEADER_HEADER = 'x-promoter-leader';
export const ROLE_HEADER = 'x-promoter-role';

export class StatusServer {
  private readonly server: Server;
  private readonly live: LiveStream;

  constructor(private readonly deps: StatusServerDeps) {
    this.live = new LiveStream(deps.store, (s) => this.status(s), { ...STREAM_DEFAULTS, ...deps.stream }, deps.onStreamDrop);
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
    this.live.close();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const action = /^\/v1\/deployments\/([^/]+)\/([^/]+)$/.exec(path);
    if (action && (HUMAN_ACTIONS as readonly string[]).includes(action[2]!)) {
      if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed: use POST' });
      return this.human(req, res, decodeURIComponent(action[1]!), action[2] as HumanAction);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (await serveDashboard(path, res, this.deps.webDir)) return;
    if (path === '/v1/stream' && req.method === 'GET') {
      const refused = this.live.refusal();
      return refused ? send(res, 503, { error: refused }) : this.live.serve(req, res);
    }
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const reason = this.deps.notReadyReason();
      return send(res, reason ? 503 : 200, reason ? { status: 'not ready', reason } : { status: 'ready' });
    }
    if (path === '/metrics') {
      // Asking the lease first ends a term that ran out while the process was frozen: the leader gauge never shows a lapsed lease.
      this.deps.leadership?.();
      const snapshots = await this.deps.store.list();
      const counts: Record<string, number> = {};
      for (const s of snapshots) counts[stateName(s)] = (counts[stateName(s)] ?? 0) + 1;
      this.deps.recorder.trackedStates(counts, MACHINE_STATES);
      res.writeHead(200, { 'content-type': this.deps.recorder.contentType });
      res.end(await this.deps.recorder.metrics());
      return;
    }
    if (path.startsWith('/v1/deployments')) this.leaderHeaders(res);
    if (path === '/v1/deployments') {
      const snapshots = await this.deps.store.list();
      return send(res, 200, snapshots.map((s) => this.status(s)));
    }
    const match = /^\/v1\/deployments\/([^/]+)(\/explain)?$/.exec(path);
    if (match) {
      const id = await this.resolveId(decodeURIComponent(match[1]!));
      if (typeof id !== 'string') return send(res, 404, id);
      const s = await this.deps.store.get(id);
      if (!s) return send(res, 404, { error: 'deployment not tracked' });
      const detail = detailView(s, this.deps.sources);
      if (!match[2]) return send(res, 200, detail);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${detailText(detail)}\n`);
      return;
    }
    send(res, 404, { error: 'not found' });
  }

  private leaderHeaders(res: ServerResponse): void {
    const led = this.deps.leadership?.();
    if (!led) return;
    res.setHeader(ROLE_HEADER, led.leader ? 'leader' : 'standby');
    if (led.leaderIdentity) res.setHeader(LEADER_HEADER, led.leaderIdentity);
  }

  private status(s: StoredSnapshot) {
    return statusView(s, this.deps.sources);
  }

  /** A full ID, or a unique prefix of at least 8 characters (as the Nomad CLI accepts). */
  private async resolveId(given: string): Promise<string | { error: string }> {
    if (await this.deps.store.get(given)) return given;
    if (given.length < 8) return { error: 'deployment not tracked (an ID prefix needs at least 8 characters)' };
    const ids = (await this.deps.store.list()).map((s) => s.context.deploymentId).filter((id) => id.startsWith(given));
    if (ids.length === 1) return ids[0]!;
    return { error: ids.length === 0 ? 'deployment not tracked' : `ID prefix ${given} matches ${ids.length} tracked deployments: give more characters` };
  }

  private async human(req: IncomingMessage, res: ServerResponse, given: string, action: HumanAction): Promise<void> {
    const { apiToken, act } = this.deps;
    if (!apiToken || !act) return send(res, 403, { error: 'actions are disabled: the daemon has no PROMOTER_API_TOKEN' });
    if (!tokenMatches(req.headers.authorization, apiToken)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, { error: 'missing or wrong bearer token (Authorization: Bearer <PROMOTER_API_TOKEN>)' });
    }
    const led = this.deps.leadership?.();
    if (led && !led.leader) {
      this.leaderHeaders(res);
      const leader = led.leaderIdentity ?? null;
      const where = leader ? `the leader is ${leader}` : 'no leader is known right now';
      return send(res, 503, { error: `this replica (${led.identity}) is a standby and does not act: ${where}; send the action to the leader`, leader });
    }
    const body = await readBody(req);
    if (typeof body === 'string') return send(res, 400, { error: body });
    const id = await this.resolveId(given);
    if (typeof id !== 'string') return send(res, 404, id);
    const answer = await act(id, { action, ...body });
    if (answer.status !== 'accepted') {
      return answer.status === 'unknown' ? send(res, 404, { error: answer.reason }) : send(res, 409, { error: `${action} does not apply: ${answer.reason}` });
    }
    send(res, 202, { ...answer.record, at: new Date(answer.record.at).toISOString() });
  }
}

/** Constant-time comparison of digests: neither the token's length nor its content leaks. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** The action body `{"group"?, "reason"?, "who"?}`, or what is wrong with it. */
async function readBody(req: IncomingMessage): Promise<Omit<HumanRequest, 'action'> | string> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY_BYTES) return `request body: larger than ${MAX_BODY_BYTES} bytes`;
  }
  let parsed: unknown = {};
  try {
    if (text.trim()) parsed = JSON.parse(text);
  } catch (err) {
    return `request body: invalid JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'request body: expected a JSON object {"group"?, "reason"?, "who"?}';
  const fields = parsed as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!['group', 'reason', 'who'].includes(key)) return `request body: unknown field "${key}" (expected group, reason, who)`;
    if (typeof fields[key] !== 'string') return `request body: "${key}" must be a string`;
  }
  const { group, reason, who } = fields as Record<string, string | undefined>;
  // Who asked: the request names the person; the token itself is never an identity.
  const person = who?.trim() || req.headers['x-promoter-user']?.toString().trim() || `api client ${req.socket.remoteAddress ?? 'unknown'}`;
  return { who: person, ...(group !== undefined ? { group } : {}), ...(reason !== undefined ? { reason } : {}) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
