/**
 * GET /v1/event/stream for the Deployment and Allocation topics, as Nomad 1.11.2+ serves it:
 * 200 at once with a `{}` line, then one NDJSON frame per raft index and `{}` every 30 s.
 * Permissions are checked after the 200, so a denied request is 200 then EOF with no body.
 */
import type { ServerResponse } from 'node:http';

import { ApiError } from '../model/errors.js';
import type { Frame, StreamEvent } from '../model/events.js';
import { allows } from './acl.js';
import type { Identity } from './acl.js';
import type { ApiContext, Router } from './router.js';

/** Nomad's heartbeat period. */
export const EVENT_HEARTBEAT_MS = 30_000;

/** Subscribed keys per topic; `*` as topic or key matches everything. */
type Topics = Map<string, Set<string>>;

export function parseTopics(values: string[]): Topics {
  const topics: Topics = new Map();
  if (values.length === 0) values = ['*:*'];
  for (const v of values) {
    const parts = v.split(':');
    if (parts.length > 2) {
      throw new ApiError(400, `Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: ${v}`);
    }
    const [topic, key = '*'] = parts as [string, string?];
    const keys = topics.get(topic) ?? new Set<string>();
    keys.add(key);
    topics.set(topic, keys);
  }
  return topics;
}

function parseIndex(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw new ApiError(400, `Unable to parse index: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

/**
 * The events of a frame this subscription receives, in order; an event matching two subscribed
 * keys is sent twice, as Nomad does.
 */
export function selectEvents(frame: Frame, topics: Topics, namespaces: Set<string> | null): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const e of frame.Events) {
    if (namespaces && !namespaces.has(e.Namespace)) continue;
    for (const keys of [topics.get(e.Topic), topics.get('*')]) {
      if (!keys) continue;
      for (const k of keys) {
        const wildcard = k === '*' && keys.size === 1;
        if (wildcard || k === e.Key || (e.FilterKeys ?? []).includes(k)) out.push(e);
      }
    }
  }
  return out;
}

/**
 * The namespaces the caller may stream, or null when permission is missing. `*` needs read-job in
 * every namespace that exists now; namespaces created later stay filtered out.
 */
function readableNamespaces(ctx: ApiContext, who: Identity, namespace: string, topics: Topics): Set<string> | null {
  if (topics.has('*') && !allows(who, '*', 'management')) return null;
  const existing = new Set(['default', ...[...ctx.services.cluster.store.jobs.values()].map((j) => j.Namespace)]);
  const wanted = namespace === '*' ? existing : new Set([namespace]);
  for (const ns of wanted) if (!allows(who, ns, 'read-job')) return null;
  return wanted;
}

/**
 * 200 with the JSON content type and nothing else sent yet: what every stream starts with. The
 * agent hijacks the connection and drops the Content-Encoding the CompressHandler set, keeping its Vary.
 */
export function startStream(res: ServerResponse): void {
  res.writeHead(200, ['Content-Type', 'application/json', 'Cache-Control', 'no-cache', 'Vary', 'Accept-Encoding']);
}

function eventStream(ctx: ApiContext): Promise<void> {
  const { req, res, url, services } = ctx;
  const topics = parseTopics(url.searchParams.getAll('topic'));
  const index = parseIndex(url.searchParams.get('index'));
  const namespace = url.searchParams.get('namespace') || 'default';
  startStream(res);
  let namespaces: Set<string> | null;
  try {
    namespaces = readableNamespaces(ctx, services.acl.authenticate(req), namespace, topics);
  } catch {
    namespaces = null;
  }
  if (!namespaces) {
    res.end();
    return Promise.resolve();
  }
  const allowed = namespaces;
  const send = (f: Frame): void => {
    const events = selectEvents(f, topics, allowed);
    if (events.length > 0) res.write(`${JSON.stringify({ Index: f.Index, Events: events })}\n`);
  };
  res.write('{}\n');
  for (const f of services.events.from(index)) send(f);
  return new Promise((resolve) => {
    const heartbeat = setInterval(() => res.write('{}\n'), services.eventHeartbeatMs);
    const unsubscribe = services.events.subscribe({ frame: send, end: () => res.end() });
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      resolve();
    });
  });
}

export function addEventStreamRoute(router: Router): void {
  router.add('/v1/event/stream', { GET: eventStream });
}
