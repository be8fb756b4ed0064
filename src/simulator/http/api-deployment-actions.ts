/**
 * Deployment actions (PUT or POST): promote, fail, pause, allocation-health, unblock. Checks run
 * in Nomad's order: body and DeploymentID (400), token (403), lookup by ID in any namespace
 * (500 `deployment not found`), capability in the deployment's namespace (403), terminal (500).
 */
import type { DeploymentUpdateResult } from '../model/cluster.js';
import { isActive } from '../model/deployments.js';
import { ApiError } from '../model/errors.js';
import type { Deployment } from '../model/types.js';
import { requireCapability } from './acl.js';
import type { Capability } from './acl.js';
import { decodeBody, stringArray } from './body.js';
import { indexHeader, sendJson } from './respond.js';
import type { ApiContext, Router } from './router.js';

interface ActionSpec {
  capability: Capability;
  /** Whether the endpoint decodes a body carrying DeploymentID. */
  hasBody: boolean;
  terminalMessage: (body: Record<string, unknown>) => string;
  validate?: (body: Record<string, unknown>) => void;
  apply: (ctx: ApiContext, d: Deployment, body: Record<string, unknown>) => DeploymentUpdateResult;
}

const ACTIONS: Record<string, ActionSpec> = {
  promote: {
    capability: 'promote-deployment',
    hasBody: true,
    terminalMessage: () => "can't promote terminal deployment",
    apply: (ctx, d, body) => ctx.services.cluster.promote(d, body.All === true, stringArray(body.Groups)),
  },
  fail: {
    capability: 'fail-deployment',
    hasBody: false,
    terminalMessage: () => "can't fail terminal deployment",
    apply: (ctx, d) => ctx.services.cluster.fail(d),
  },
  pause: {
    capability: 'pause-deployment',
    hasBody: true,
    terminalMessage: (body) => (body.Pause === true ? "can't pause terminal deployment" : "can't resume terminal deployment"),
    apply: (ctx, d, body) => ctx.services.cluster.pause(d, body.Pause === true),
  },
  'allocation-health': {
    capability: 'set-alloc-health-deployment',
    hasBody: true,
    terminalMessage: () => "can't set health of allocations for a terminal deployment",
    validate: (body) => {
      if (stringArray(body.HealthyAllocationIDs).length + stringArray(body.UnhealthyAllocationIDs).length === 0) {
        throw new ApiError(500, 'must specify at least one healthy/unhealthy allocation ID');
      }
    },
    apply: (ctx, d, body) =>
      ctx.services.cluster.setAllocHealth(d, stringArray(body.HealthyAllocationIDs), stringArray(body.UnhealthyAllocationIDs)),
  },
  unblock: {
    capability: 'unblock-deployment',
    hasBody: true,
    terminalMessage: () => "can't unblock terminal deployment",
    apply: (ctx) => ctx.services.cluster.unblock(),
  },
};

function handler(spec: ActionSpec) {
  return async (ctx: ApiContext): Promise<void> => {
    const id = ctx.params.id ?? '';
    let body: Record<string, unknown> = {};
    if (spec.hasBody) {
      body = await decodeBody(ctx.req);
      const bodyId = typeof body.DeploymentID === 'string' ? body.DeploymentID : '';
      if (bodyId === '') throw new ApiError(400, 'DeploymentID must be specified');
      if (bodyId !== id) throw new ApiError(400, 'Deployment ID does not match');
    }
    const who = ctx.services.acl.authenticate(ctx.req);
    if (id === '') throw new ApiError(500, 'missing deployment ID');
    spec.validate?.(body);
    const d = ctx.services.cluster.deployment(id);
    if (!d) throw new ApiError(500, 'deployment not found');
    requireCapability(who, d.Namespace, 'submit-job', spec.capability);
    if (!isActive(d)) throw new ApiError(500, spec.terminalMessage(body));
    const result = spec.apply(ctx, d, body);
    sendJson(ctx.res, 200, result, indexHeader(result.Index));
  };
}

export function addDeploymentActions(router: Router): void {
  for (const [name, spec] of Object.entries(ACTIONS)) {
    const h = handler(spec);
    router.add(`/v1/deployment/${name}/:id`, { PUT: h, POST: h });
  }
}
