/**
 * Allocation reads: GET /v1/allocations, /v1/allocation/:id, /v1/allocation/:id/checks,
 * /v1/job/:id/allocations. The list `filter` runs on the full allocation before it is cut to a
 * stub, so `DeploymentID == "<id>"` works although stubs have no DeploymentID.
 */
import { ApiError } from '../model/errors.js';
import { allocChecks, allocToFull, allocToStub, omitEmpty } from '../model/serialize.js';
import type { Alloc } from '../model/types.js';
import { allows, requireCapability } from './acl.js';
import { compileFilter, filterMatches, pageInListOrder } from './listing.js';
import { parseBoolParam, parseQuery } from './query.js';
import { answerRead } from './reply.js';
import { sendJson } from './respond.js';
import type { ApiContext, Router } from './router.js';

const byCreateIndex = (a: Alloc, b: Alloc): number => a.CreateIndex - b.CreateIndex || a.ID.localeCompare(b.ID);

function listAllocations(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  let filter: ReturnType<typeof compileFilter> = null;
  let stubOpts: { taskStates?: boolean; resources?: boolean } = {};
  return answerRead(ctx, {
    before: (q, who) => {
      requireCapability(who, q.namespace, 'read-job');
      filter = compileFilter(q.filter);
      stubOpts = { taskStates: parseBoolParam(q.raw, 'task_states'), resources: parseBoolParam(q.raw, 'resources') };
    },
    run: (q, who) => {
      const items = [...store.allocs.values()]
        .filter((a) => (q.namespace === '*' || a.Namespace === q.namespace) && allows(who, a.Namespace, 'read-job'))
        .filter((a) => a.ID.startsWith(q.prefix));
      // The full allocation is built only for a filter to read: without one, a list costs its stubs alone.
      const { page, nextToken } = pageInListOrder(items, q, (a) => filter === null || filterMatches(filter, allocToFull(a)));
      return { index: store.index('allocs'), value: { body: page.map((a) => allocToStub(a, stubOpts)), nextToken } };
    },
  });
}

function readAllocation(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    notFound: 'alloc not found',
    // Nomad checks the allocation's own namespace, whatever the request's.
    run: (_q, who) => {
      const a = store.allocs.get(ctx.params.id ?? '');
      if (!a) return { index: store.index('allocs'), value: { body: undefined } };
      requireCapability(who, a.Namespace, 'read-job');
      return { index: a.ModifyIndex, value: { body: omitEmpty(allocToFull(a)) } };
    },
  });
}

/** Served by the client in Nomad: no blocking, no index headers. */
function allocationChecks(ctx: ApiContext): void {
  parseQuery(ctx.url.searchParams);
  const who = ctx.services.acl.authenticate(ctx.req);
  const id = ctx.params.id ?? '';
  const a = ctx.services.cluster.store.allocs.get(id);
  if (!a) throw new ApiError(404, `Unknown allocation ${JSON.stringify(id)}`);
  requireCapability(who, a.Namespace, 'read-job');
  sendJson(ctx.res, 200, allocChecks(a));
}

function jobAllocations(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    before: (q, who) => requireCapability(who, q.namespace, 'read-job'),
    run: (q) => {
      const allocs = store.allocsOfJob(q.namespace, ctx.params.id ?? '').sort(byCreateIndex);
      return { index: store.index('allocs'), value: { body: allocs.map((a) => allocToStub(a)) } };
    },
  });
}

export function addAllocationRoutes(router: Router): void {
  router.add('/v1/allocations', { GET: listAllocations });
  router.add('/v1/allocation/:id/checks', { GET: allocationChecks });
  router.add('/v1/allocation/:id', { GET: readAllocation });
  router.add('/v1/job/:id/allocations', { GET: jobAllocations });
}
