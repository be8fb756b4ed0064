/** A minimal path router: patterns like `/v1/deployment/promote/:id`, one handler per method. */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { SimClock } from '../clock.js';
import type { ConnectionCounter } from '../control/connections.js';
import type { Faults } from '../control/faults.js';
import type { LockFaults } from '../control/lock-faults.js';
import type { RequestLog } from '../control/request-log.js';
import type { Cluster } from '../model/cluster.js';
import type { EventBuffer } from '../model/events.js';
import type { AclState } from './acl.js';
import type { BlockingRegistry } from './blocking.js';

/** Everything a request handler (API or control) may use. */
export interface Services {
  cluster: Cluster;
  clock: SimClock;
  acl: AclState;
  blocking: BlockingRegistry;
  faults: Faults;
  lockFaults: LockFaults;
  requests: RequestLog;
  connections: ConnectionCounter;
  /** The event stream's buffer of frames. */
  events: EventBuffer;
  /** How often an open event stream sends its `{}` heartbeat. */
  eventHeartbeatMs: number;
}

export interface ApiContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  services: Services;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export type Handler = (ctx: ApiContext) => Promise<void> | void;

export interface Route {
  pattern: string;
  methods: Partial<Record<string, Handler>>;
}

interface Compiled extends Route {
  regex: RegExp;
  names: string[];
}

export interface Match {
  route: Route;
  params: Record<string, string>;
  handler: Handler | undefined;
}

export class Router {
  private readonly routes: Compiled[] = [];

  /**
   * `rest`: the last `:param` takes the rest of the path, slashes included (a variable's path in
   * `/v1/var/:path`, as Nomad's handler trims the prefix off the whole path).
   */
  add(pattern: string, methods: Partial<Record<string, Handler>>, opts: { rest?: boolean } = {}): this {
    const names: string[] = [];
    const segments = pattern.split('/');
    const source = segments
      .map((seg, i) => {
        if (!seg.startsWith(':')) return seg.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
        names.push(seg.slice(1));
        return opts.rest && i === segments.length - 1 ? '(.*)' : '([^/]*)';
      })
      .join('/');
    this.routes.push({ pattern, methods, regex: new RegExp(`^${source}$`), names });
    return this;
  }

  /** The first route whose pattern matches; `handler` is undefined when the method is not allowed. */
  match(method: string, path: string): Match | null {
    for (const r of this.routes) {
      const m = r.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = unescapePath(m[i + 1] ?? '');
      });
      return { route: r, params, handler: r.methods[method] };
    }
    return null;
  }
}

/**
 * The first malformed percent-escape of a path (`%` not followed by two hex digits; at most three
 * characters, as Go's url.EscapeError names it), or null. Go's server refuses such a request line
 * before any handler runs (400 Bad Request).
 */
export function badPathEscape(path: string): string | null {
  const m = /%(?![0-9A-Fa-f]{2})/.exec(path);
  return m ? path.slice(m.index, m.index + 3) : null;
}

/**
 * Go's path unescaping: each `%XX` is one byte and the bytes are read as UTF-8 (invalid sequences
 * are not an error, unlike decodeURIComponent). A malformed escape is left as it is; the server
 * has refused such paths before routing.
 */
export function unescapePath(s: string): string {
  if (!s.includes('%')) return s;
  const parts = s.split(/(%[0-9A-Fa-f]{2})/);
  const bytes = parts.map((p, i) => (i % 2 === 1 ? Buffer.from([parseInt(p.slice(1), 16)]) : Buffer.from(p, 'utf8')));
  return Buffer.concat(bytes).toString('utf8');
}
