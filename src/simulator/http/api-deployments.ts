/** Deployment reads: GET /v1/deployments, /v1/deployment/:id, /v1/deployment/allocations/:id. */
import { allocToStub, deploymentToApi } from '../model/serialize.js';
import type { Deployment } from '../model/types.js';
import { allows, requireCapability } from './acl.js';
import { answerRead } from './reply.js';
import { compileFilter, filterMatches, pageInListOrder } from './listing.js';
import type { ApiContext, Router } from './router.js';

function listDeployments(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  let filter: ReturnType<typeof compileFilter> = null;
  return answerRead(ctx, {
    before: (q, who) => {
      requireCapability(who, q.namespace, 'read-job');
      filter = compileFilter(q.filter);
    },
    run: (q, who) => {
      const items = [...store.deployments.values()]
        .filter((d) => (q.namespace === '*' || d.Namespace === q.namespace) && allows(who, d.Namespace, 'read-job'))
        .filter((d) => d.ID.startsWith(q.prefix));
      const api = new Map<Deployment, Record<string, unknown>>(items.map((d) => [d, deploymentToApi(d)]));
      const { page, nextToken } = pageInListOrder(items, q, (d) => filterMatches(filter, api.get(d)));
      return { index: store.index('deployment'), value: { body: page.map((d) => api.get(d)), nextToken } };
    },
  });
}

function readDeployment(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    notFound: 'deployment not found',
    before: (q, who) => requireCapability(who, q.namespace, 'read-job'),
    run: (_q, who) => {
      const d = store.deployments.get(ctx.params.id ?? '');
      // A deployment in a namespace the caller cannot read is hidden, as in Nomad.
      if (!d || !allows(who, d.Namespace, 'read-job')) return { index: store.index('deployment'), value: { body: undefined } };
      return { index: d.ModifyIndex, value: { body: deploymentToApi(d) } };
    },
  });
}

function deploymentAllocations(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    before: (q, who) => requireCapability(who, q.namespace, 'read-job'),
    run: (_q, who) => {
      const d = store.deployments.get(ctx.params.id ?? '');
      const allocs = d && allows(who, d.Namespace, 'read-job') ? store.allocsOfDeployment(d.ID) : [];
      allocs.sort((a, b) => a.CreateIndex - b.CreateIndex || a.ID.localeCompare(b.ID));
      return { index: store.index('allocs'), value: { body: allocs.map((a) => allocToStub(a)) } };
    },
  });
}

export function addDeploymentReads(router: Router): void {
  router.add('/v1/deployments', { GET: listDeployments });
  router.add('/v1/deployment/allocations/:id', { GET: deploymentAllocations });
}

/** Registered last: `/v1/deployment/:id` would shadow the action routes. */
export function addDeploymentRead(router: Router): void {
  router.add('/v1/deployment/:id', { GET: readDeployment });
}
