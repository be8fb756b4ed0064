/** Shared plumbing for read endpoints: authenticate, parse options, block, answer with Nomad's meta headers. */
import type { Identity } from './acl.js';
import { blockingQuery } from './blocking.js';
import type { QueryRun } from './blocking.js';
import { parseQuery } from './query.js';
import type { QueryOptions } from './query.js';
import { metaHeaders, sendJson, sendText } from './respond.js';
import type { ApiContext } from './router.js';

export interface ReadResult {
  /** The body; undefined means "not found" (answered with `notFound`, meta headers included). */
  body: unknown;
  nextToken?: string;
}

export interface ReadSpec {
  /** Runs once per blocking iteration; returns the result and its index. */
  run: (q: QueryOptions, who: Identity) => QueryRun<ReadResult>;
  /** Checked once before the query (ACL on the request namespace, option validation). */
  before?: (q: QueryOptions, who: Identity) => void;
  notFound?: string;
}

export async function answerRead(ctx: ApiContext, spec: ReadSpec): Promise<void> {
  const q = parseQuery(ctx.url.searchParams);
  const who = ctx.services.acl.authenticate(ctx.req);
  spec.before?.(q, who);
  const { cluster, blocking } = ctx.services;
  const result = await blockingQuery(cluster.store, blocking, { minIndex: q.index, waitMs: q.waitMs, signal: ctx.signal }, () =>
    spec.run(q, who),
  );
  if (!result) {
    ctx.res.destroy();
    return;
  }
  const headers = metaHeaders({ index: result.index, nextToken: result.value.nextToken });
  if (result.value.body === undefined) {
    sendText(ctx.res, 404, spec.notFound ?? 'not found', headers);
    return;
  }
  sendJson(ctx.res, 200, result.value.body, headers);
}
