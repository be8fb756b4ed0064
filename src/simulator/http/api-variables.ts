/**
 * Nomad Variables: GET /v1/vars (metadata list), GET|PUT|POST|DELETE /v1/var/:path, as Nomad's
 * command/agent/variable_endpoint.go and nomad/variables_endpoint.go answer them. See README.md.
 */
import { ApiError } from '../model/errors.js';
import type { SimVariable } from '../model/types.js';
import { deleteVariable, getVariable, setVariable, validateVariable, type VariableOutcome } from '../model/variables.js';
import { lockAllowsWrite } from '../model/variable-locks.js';
import { allows, requireCapability } from './acl.js';
import { lockIdOf, lockOperation, lockVariable, sendHeld } from './api-variable-locks.js';
import { decodeBody } from './body.js';
import { compileFilter, filterMatches, paginate, type Tokenizer } from './listing.js';
import { answerRead } from './reply.js';
import { indexHeader, sendEmpty, sendJson, sendText } from './respond.js';
import type { ApiContext, Router } from './router.js';

/** Nomad's VariableMetadata JSON: `Lock` is omitempty, so absent while the variable holds no lock. */
function metadataToApi(v: SimVariable): Record<string, unknown> {
  return {
    Namespace: v.Namespace,
    Path: v.Path,
    CreateIndex: v.CreateIndex,
    CreateTime: v.CreateTime,
    ModifyIndex: v.ModifyIndex,
    ModifyTime: v.ModifyTime,
  };
}

/** `Items` is omitempty too: left out when there are none to show. */
export function variableToApi(v: SimVariable, showItems = true): Record<string, unknown> {
  const items = showItems ? v.Items : {};
  return Object.keys(items).length > 0 ? { ...metadataToApi(v), Items: { ...items } } : metadataToApi(v);
}

/** Nomad's StructsTokenizer with namespace and ID: `<namespace>.<path>` (namespaces hold no dot). */
const variableTokenizer: Tokenizer<SimVariable> = {
  token: (v) => `${v.Namespace}.${v.Path}`,
  compare: (v, token) => {
    const dot = token.indexOf('.');
    const ns = dot < 0 ? token : token.slice(0, dot);
    const path = dot < 0 ? '' : token.slice(dot + 1);
    return cmp(v.Namespace, ns) || cmp(v.Path, path);
  },
};

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lists metadata (never Items) in (namespace, path) order. Like Nomad, variables the token may not
 * `list` are left out silently rather than refused.
 */
function listVariables(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  let filter: ReturnType<typeof compileFilter> = null;
  return answerRead(ctx, {
    before: (q) => {
      filter = compileFilter(q.filter);
    },
    run: (q, who) => {
      const items = [...store.variables.values()]
        .filter((v) => (q.namespace === '*' || v.Namespace === q.namespace) && v.Path.startsWith(q.prefix))
        .filter((v) => allows(who, v.Namespace, 'variables-list'))
        .sort((a, b) => cmp(a.Namespace, b.Namespace) || cmp(a.Path, b.Path));
      const api = new Map(items.map((v) => [v, metadataToApi(v)]));
      const { page, nextToken } = paginate(items, q, variableTokenizer, (v) => filterMatches(filter, api.get(v)));
      return { index: store.index('variables'), value: { body: page.map((v) => api.get(v)), nextToken } };
    },
  });
}

function readVariable(ctx: ApiContext, path: string): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    notFound: 'variable not found',
    before: (q, who) => requireCapability(who, q.namespace, 'variables-read'),
    run: (q) => {
      const v = getVariable(store, q.namespace, path);
      return v ? { index: v.ModifyIndex, value: { body: variableToApi(v) } } : { index: store.index('variables'), value: { body: undefined } };
    },
  });
}

/** Nomad's parseCAS: absent or empty = no cas; otherwise an unsigned integer (400 if not). */
function parseCas(ctx: ApiContext): number | undefined {
  const raw = ctx.url.searchParams.get('cas');
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ApiError(400, `can not parse cas: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  return Number(raw);
}

export function queryNamespace(ctx: ApiContext): string {
  return ctx.url.searchParams.get('namespace') || 'default';
}

/** Go's decoding of the body's Items into map[string]string. */
export function decodeItems(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'array' : typeof value;
    throw new ApiError(400, `json: cannot unmarshal ${kind} into Go struct field VariableDecrypted.Items of type structs.VariableItems`);
  }
  const items: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null) {
      items[k] = ''; // Go stores the zero value for a null map element.
      continue;
    }
    if (typeof v !== 'string') {
      const kind = Array.isArray(v) ? 'array' : typeof v;
      throw new ApiError(400, `json: cannot unmarshal ${kind} into Go struct field VariableDecrypted.Items of type string`);
    }
    items[k] = v;
  }
  return items;
}

/**
 * A 409 with the conflicting variable: its Items only when the caller may read it; zero-valued
 * when absent. Nomad writes the JSON without a Content-Type, so Go's sniffing labels it text/plain.
 */
function sendConflict(ctx: ApiContext, outcome: Extract<VariableOutcome, { kind: 'conflict' }>, namespace: string, path: string, canRead: boolean): void {
  const current = outcome.current;
  const body = current
    ? variableToApi(current, canRead)
    : { Namespace: namespace, Path: path, CreateIndex: 0, CreateTime: 0, ModifyIndex: 0, ModifyTime: 0 };
  sendText(ctx.res, 409, JSON.stringify(body), indexHeader(current?.ModifyIndex ?? 0));
}

async function upsertVariable(ctx: ApiContext, path: string): Promise<void> {
  const lockOp = lockOperation(ctx);
  if (lockOp) return lockVariable(ctx, path, lockOp);
  const body = await decodeBody(ctx.req);
  const items = decodeItems(body.Items);
  if (Object.keys(items).length === 0) throw new ApiError(400, 'variable missing required Items object');
  const cas = parseCas(ctx);
  // The body's Namespace wins over the query's, as in Nomad's Variables.Apply.
  const namespace = typeof body.Namespace === 'string' && body.Namespace !== '' ? body.Namespace : queryNamespace(ctx);
  const who = ctx.services.acl.authenticate(ctx.req);
  requireCapability(who, namespace, 'variables-write');
  validateVariable(namespace, path, items);
  const { cluster, clock } = ctx.services;
  if (!lockAllowsWrite(cluster.store, clock.now(), namespace, path, lockIdOf(body))) return sendHeld(ctx, namespace, path);
  const outcome = setVariable(cluster.store, clock.now(), { namespace, path, items }, cas);
  if (outcome.kind === 'conflict') {
    sendConflict(ctx, outcome, namespace, path, allows(who, namespace, 'variables-read'));
    return;
  }
  sendJson(ctx.res, 200, variableToApi(outcome.variable as SimVariable), indexHeader(outcome.index));
}

function removeVariable(ctx: ApiContext, path: string): void {
  const cas = parseCas(ctx);
  const namespace = queryNamespace(ctx);
  const who = ctx.services.acl.authenticate(ctx.req);
  requireCapability(who, namespace, 'variables-destroy');
  const { cluster, clock } = ctx.services;
  if (!lockAllowsWrite(cluster.store, clock.now(), namespace, path, undefined)) return sendHeld(ctx, namespace, path);
  const outcome = deleteVariable(cluster.store, clock.now(), namespace, path, cas);
  if (outcome.kind === 'conflict') {
    sendConflict(ctx, outcome, namespace, path, allows(who, namespace, 'variables-read'));
    return;
  }
  // Nomad answers a delete with 204 and no body, whether or not the variable existed.
  sendEmpty(ctx.res, 204, indexHeader(outcome.index));
}

/** Nomad's VariableSpecificRequest: the path is all of the URL path after `/v1/var/`. */
function withPath(fn: (ctx: ApiContext, path: string) => Promise<void> | void) {
  return (ctx: ApiContext): Promise<void> | void => {
    const path = ctx.params.path ?? '';
    if (path === '') throw new ApiError(400, 'missing variable path');
    return fn(ctx, path);
  };
}

export function addVariableRoutes(router: Router): void {
  router.add('/v1/vars', { GET: listVariables });
  router.add(
    '/v1/var/:path',
    { GET: withPath(readVariable), PUT: withPath(upsertVariable), POST: withPath(upsertVariable), DELETE: withPath(removeVariable) },
    { rest: true },
  );
}
