/**
 * HttpNomadClient: the NomadApi over HTTP(S) or a unix socket, with blocking queries done the
 * way Nomad's servers expect (see docs/nomad-api.md) and bounded,
 * jittered retries of transient failures only.
 *
 * One instance owns one connection pool (default: one socket). The daemon creates one client
 * per long-poll and one for actions, so the connections it holds stay constant. Calls waiting
 * for a connection are sent lock operations first, then writes, then reads (request-order.ts).
 */
import { performance } from 'node:perf_hooks';
import pRetry, { AbortError } from 'p-retry';
import type {
  Allocation,
  AllocationStub,
  Deployment,
  DeploymentUpdateResponse,
  Job,
  JobRegisterResponse,
  JobVersionsResponse,
  ServiceCheckResult,
} from '../domain/nomad.js';
import type { DeploymentRef, NomadApi, QueryOptions, QueryResult, Variable, VariableMetadata } from './api.js';
import { DEFAULT_NAMESPACE, type NomadConnectionConfig } from './config.js';
import { isFencedError, isTransientNomadError, mayHaveBeenApplied, NomadError } from './errors.js';
import { blockingIndexParam, blockingTimeoutMs } from './index-tracker.js';
import { rankOf, RequestOrder } from './request-order.js';
import { abortReason, HttpTransport, type AttemptRequest, type AttemptResponse, type HttpMethod, type RequestSample } from './transport.js';

export type { RequestSample } from './transport.js';

/** A lock's TTL and LockDelay as Go durations (`15s`); Nomad takes TTL in 10s..24h. */
export interface LockSpec {
  ttl: string;
  lockDelay: string;
}

/** `held` (with the lock ID), `released`, `conflict` (another client holds it) or `lost` (it is not ours). */
export type LockOutcome =
  | { kind: 'held'; id: string }
  | { kind: 'released' }
  | { kind: 'conflict' | 'lost'; reason: string };

type LockedVariable = Variable & { Lock?: { ID?: string } };

export interface HttpNomadClientOptions {
  /** Connections this client may open at once (default 1; calls beyond it queue). */
  maxSockets?: number;
  /** Reuse connections between calls (default true). */
  keepAlive?: boolean;
  /** Close a reused connection after this long unused (default: keep it open). */
  idleTimeoutMs?: number;
  /** Retries of a transient failure after the first attempt (default 4). */
  retries?: number;
  /** First retry delay in ms, before jitter (x1..x2) and doubling (default 250). */
  minRetryDelayMs?: number;
  /** Upper bound of one retry delay in ms (default 5000). */
  maxRetryDelayMs?: number;
  /** Limit of one non-blocking attempt in ms (default 30000). */
  requestTimeoutMs?: number;
  /**
   * Slack added to a blocking query's limit on top of wait + wait/16, the most Nomad's server
   * side jitter can hold it (default 5000 ms).
   */
  blockingMarginMs?: number;
  /** Wait sent with a blocking query whose `waitMs` is not given (default 300000, Nomad's cap). */
  defaultWaitMs?: number;
  /**
   * Largest answer accepted, counted after decompression (default DEFAULT_MAX_RESPONSE_BYTES):
   * a larger one is a transient error, never a string too long for the process to hold.
   */
  maxResponseBytes?: number;
  /** Called once per HTTP attempt, retries included. */
  observe?: (sample: RequestSample) => void;
  /**
   * Asked for each attempt of a write (lock calls excepted) once a connection is assigned, right
   * before the request is written: false holds it back, unsent and not retried (EFENCED). HA's leader lease.
   */
  mayWrite?: () => boolean;
}

/** 256 MiB: far above any cluster's list answers, far below what a JS string can hold (~512 MiB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/** Route patterns: the only form of a path that reaches errors and metrics. */
export const ROUTES = {
  deployments: '/v1/deployments',
  deployment: '/v1/deployment/:id',
  deploymentAllocations: '/v1/deployment/allocations/:id',
  allocations: '/v1/allocations',
  allocation: '/v1/allocation/:id',
  allocationChecks: '/v1/allocation/:id/checks',
  promote: '/v1/deployment/promote/:id',
  fail: '/v1/deployment/fail/:id',
  pause: '/v1/deployment/pause/:id',
  allocationHealth: '/v1/deployment/allocation-health/:id',
  unblock: '/v1/deployment/unblock/:id',
  job: '/v1/job/:id',
  jobVersions: '/v1/job/:id/versions',
  jobRevert: '/v1/job/:id/revert',
  jobs: '/v1/jobs',
  variables: '/v1/vars',
  variable: '/v1/var/:path',
} as const;

/** One call: the attempt's request, repeated by the retry loop; `unfenced` for the lock calls that the fence itself rests on. */
type CallSpec = AttemptRequest & { unfenced?: boolean; retries?: number };

/** Transient failures retried on a page after the first, whatever the client's own retries: a failure there would throw away the pages already read. */
const LATER_PAGE_RETRIES = 4;

export class HttpNomadClient implements NomadApi {
  private readonly transport: HttpTransport;
  /** Who gets the connection next: lock operations, then writes, then reads. */
  private readonly order: RequestOrder;
  private readonly retries: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly blockingMarginMs: number;
  private readonly defaultWaitMs: number;
  private readonly mayWrite: (() => boolean) | undefined;
  private closed = false;

  constructor(
    private readonly config: NomadConnectionConfig,
    options: HttpNomadClientOptions = {},
  ) {
    this.retries = options.retries ?? 4;
    this.minRetryDelayMs = options.minRetryDelayMs ?? 250;
    this.maxRetryDelayMs = Math.max(options.maxRetryDelayMs ?? 5000, this.minRetryDelayMs);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.blockingMarginMs = options.blockingMarginMs ?? 5000;
    this.defaultWaitMs = options.defaultWaitMs ?? 300_000;
    const maxSockets = options.maxSockets ?? 1;
    this.order = new RequestOrder(maxSockets);
    this.mayWrite = options.mayWrite;
    this.transport = new HttpTransport(config, {
      maxSockets,
      keepAlive: options.keepAlive ?? true,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.observe ? { observe: options.observe } : {}),
    });
  }

  /** Destroys the connection pool. Calls in flight and later calls reject. */
  close(): void {
    this.closed = true;
    this.transport.close();
  }

  // ---- reads ----

  listDeployments(opts?: QueryOptions): Promise<QueryResult<Deployment[]>> {
    return this.query<Deployment[]>(ROUTES.deployments, '/v1/deployments', opts, this.namespaceOf(opts));
  }

  /**
   * Every page, following X-Nomad-NextToken. Only the first page blocks (the index is
   * table-wide, so a change on any page wakes it); later pages are plain reads. The index
   * returned is the lowest seen across pages: blocking on it can wake once for nothing, but
   * can never miss a change made while the pages were being read.
   */
  listAllDeployments(opts: QueryOptions = {}): Promise<QueryResult<Deployment[]>> {
    return this.everyPage('deployments', ROUTES.deployments, opts, (q) => this.listDeployments(q), (d) => d);
  }

  /** Every page of GET /v1/allocations as listAllDeployments reads them; each page is cut by `keep` before the next is read. */
  listAllAllocations<T>(opts: QueryOptions & { resources?: boolean; taskStates?: boolean }, keep: (a: AllocationStub) => T): Promise<QueryResult<T[]>> {
    const { resources, taskStates, ...rest } = opts;
    return this.everyPage('allocations', ROUTES.allocations, rest, (q) => this.listAllocations({ ...q, resources, taskStates }), keep);
  }

  private async everyPage<S, T>(
    table: string,
    route: string,
    opts: QueryOptions,
    read: (q: QueryOptions) => Promise<QueryResult<S[]>>,
    keep: (item: S) => T,
  ): Promise<QueryResult<T[]>> {
    const { index: blockOn, waitMs, nextToken: startAt, ...rest } = opts;
    const pages = await this.allPages(route, startAt, async (token, first) => {
      const page = await read({
        ...rest,
        ...(first && blockOn !== undefined ? { index: blockOn } : {}),
        ...(first && waitMs !== undefined ? { waitMs } : {}),
        ...(token !== undefined ? { nextToken: token } : {}),
        ...(first ? {} : { retries: Math.max(this.retries, LATER_PAGE_RETRIES) }),
      });
      const cutStarted = performance.now();
      const body: unknown = page.body;
      if (!Array.isArray(body) || body.some((x) => typeof x !== 'object' || x === null)) {
        const what = body === null ? 'null' : Array.isArray(body) ? 'a list holding a non-object' : typeof body;
        throw new Error(`Nomad answered the ${table} list with ${what}, not a list of objects`);
      }
      const kept = (body as S[]).map(keep);
      // Cutting the page is part of what reading it cost (list pacing reads readMs).
      return { ...page, body: kept, readMs: (page.readMs ?? 0) + performance.now() - cutStarted };
    });
    const index = Math.min(...pages.map((p) => p.index));
    return {
      body: pages.flatMap((p) => p.body),
      index: Number.isFinite(index) ? index : 0,
      knownLeader: pages.every((p) => p.knownLeader),
      lastContactMs: Math.max(...pages.map((p) => p.lastContactMs)),
      readMs: pages.reduce((sum, p) => sum + (p.readMs ?? 0), 0),
    };
  }

  /** Follows X-Nomad-NextToken from `startAt` until the last page; a token seen twice is a loop, never followed. */
  private async allPages<T>(route: string, startAt: string | undefined, page: (token: string | undefined, first: boolean) => Promise<QueryResult<T>>): Promise<QueryResult<T>[]> {
    const pages: QueryResult<T>[] = [];
    const seen = new Set<string>();
    let token = startAt;
    for (;;) {
      const next = await page(token, pages.length === 0);
      pages.push(next);
      if (!next.nextToken) return pages;
      if (seen.has(next.nextToken)) {
        throw new NomadError({ status: 200, method: 'GET', route, text: 'pagination loop: the same next token came back twice', transient: false });
      }
      seen.add(next.nextToken);
      token = next.nextToken;
    }
  }

  readDeployment(ref: DeploymentRef, opts?: QueryOptions): Promise<QueryResult<Deployment>> {
    return this.query<Deployment>(ROUTES.deployment, `/v1/deployment/${enc(ref.id)}`, opts, ref.namespace);
  }

  listAllocations(
    opts?: QueryOptions & { resources?: boolean; taskStates?: boolean },
  ): Promise<QueryResult<AllocationStub[]>> {
    const extra = new URLSearchParams();
    if (opts?.resources !== undefined) extra.set('resources', String(opts.resources));
    if (opts?.taskStates !== undefined) extra.set('task_states', String(opts.taskStates));
    return this.query<AllocationStub[]>(ROUTES.allocations, '/v1/allocations', opts, this.namespaceOf(opts), extra);
  }

  deploymentAllocations(ref: DeploymentRef, opts?: QueryOptions): Promise<QueryResult<AllocationStub[]>> {
    return this.query<AllocationStub[]>(
      ROUTES.deploymentAllocations,
      `/v1/deployment/allocations/${enc(ref.id)}`,
      opts,
      ref.namespace,
    );
  }

  readAllocation(id: string, opts?: QueryOptions): Promise<QueryResult<Allocation>> {
    return this.query<Allocation>(ROUTES.allocation, `/v1/allocation/${enc(id)}`, opts, this.namespaceOf(opts));
  }

  async allocationChecks(id: string, opts?: QueryOptions): Promise<Record<string, ServiceCheckResult>> {
    const res = await this.query<Record<string, ServiceCheckResult> | null>(
      ROUTES.allocationChecks,
      `/v1/allocation/${enc(id)}/checks`,
      opts,
      this.namespaceOf(opts),
    );
    return res.body ?? {};
  }

  readJob(jobId: string, namespace: string, opts?: QueryOptions): Promise<QueryResult<Job>> {
    return this.query<Job>(ROUTES.job, `/v1/job/${enc(jobId)}`, opts, namespace);
  }

  jobVersions(jobId: string, namespace: string, opts?: QueryOptions): Promise<QueryResult<JobVersionsResponse>> {
    return this.query<JobVersionsResponse>(ROUTES.jobVersions, `/v1/job/${enc(jobId)}/versions`, opts, namespace);
  }

  // ---- deployment actions ----

  promote(ref: DeploymentRef, groups?: string[], signal?: AbortSignal): Promise<DeploymentUpdateResponse> {
    const body = groups === undefined ? { DeploymentID: ref.id, All: true } : { DeploymentID: ref.id, Groups: groups };
    return this.write(ROUTES.promote, `/v1/deployment/promote/${enc(ref.id)}`, ref.namespace, body, signal);
  }

  fail(ref: DeploymentRef, signal?: AbortSignal): Promise<DeploymentUpdateResponse> {
    return this.write(ROUTES.fail, `/v1/deployment/fail/${enc(ref.id)}`, ref.namespace, undefined, signal);
  }

  pause(ref: DeploymentRef, pause: boolean, signal?: AbortSignal): Promise<DeploymentUpdateResponse> {
    const body = { DeploymentID: ref.id, Pause: pause };
    return this.write(ROUTES.pause, `/v1/deployment/pause/${enc(ref.id)}`, ref.namespace, body, signal);
  }

  setAllocationHealth(
    ref: DeploymentRef,
    health: { healthy: string[]; unhealthy: string[] },
    signal?: AbortSignal,
  ): Promise<DeploymentUpdateResponse> {
    const body = {
      DeploymentID: ref.id,
      HealthyAllocationIDs: health.healthy,
      UnhealthyAllocationIDs: health.unhealthy,
    };
    return this.write(ROUTES.allocationHealth, `/v1/deployment/allocation-health/${enc(ref.id)}`, ref.namespace, body, signal);
  }

  unblock(ref: DeploymentRef, signal?: AbortSignal): Promise<DeploymentUpdateResponse> {
    const body = { DeploymentID: ref.id };
    return this.write(ROUTES.unblock, `/v1/deployment/unblock/${enc(ref.id)}`, ref.namespace, body, signal);
  }

  // ---- jobs ----

  revertJob(
    jobId: string,
    namespace: string,
    version: number,
    enforcePriorVersion?: number,
    signal?: AbortSignal,
  ): Promise<JobRegisterResponse> {
    const body: Record<string, unknown> = { JobID: jobId, JobVersion: version };
    if (enforcePriorVersion !== undefined) body.EnforcePriorVersion = enforcePriorVersion;
    return this.write(ROUTES.jobRevert, `/v1/job/${enc(jobId)}/revert`, namespace, body, signal);
  }

  registerJob(job: Job, signal?: AbortSignal): Promise<JobRegisterResponse> {
    const namespace = job.Namespace ?? this.config.namespace ?? DEFAULT_NAMESPACE;
    return this.write(ROUTES.jobs, '/v1/jobs', namespace, { Job: job }, signal, 'PUT');
  }

  // ---- variables ----

  /**
   * Every page of `GET /v1/vars?prefix=`, following X-Nomad-NextToken (Nomad sorts by path).
   * Metadata only: Nomad never lists Items.
   */
  async listVariables(prefix: string, namespace: string, signal?: AbortSignal): Promise<VariableMetadata[]> {
    const pages = await this.allPages(ROUTES.variables, undefined, (token) =>
      this.query<VariableMetadata[] | null>(
        ROUTES.variables,
        '/v1/vars',
        { ...(signal ? { signal } : {}), ...(token !== undefined ? { nextToken: token } : {}) },
        namespace,
        new URLSearchParams({ prefix }),
      ),
    );
    return pages.flatMap((p) => p.body ?? []);
  }

  /**
   * `GET /v1/var/:path`. Undefined only for Nomad's own `404 variable not found`: any other 404
   * (a Nomad older than 1.4, a proxy, a wrong base path) is an error, not an absent variable.
   */
  async readVariable(path: string, namespace: string, signal?: AbortSignal): Promise<Variable | undefined> {
    try {
      const res = await this.query<Variable | null>(ROUTES.variable, `/v1/var/${encPath(path)}`, signal ? { signal } : {}, namespace);
      // Nomad omits `Items` when there are none (a lock taken without items).
      return res.body ? { ...res.body, Items: res.body.Items ?? {} } : undefined;
    } catch (err) {
      if (err instanceof NomadError && err.status === 404 && /variable not found/i.test(err.text)) return undefined;
      throw err;
    }
  }

  /**
   * `PUT /v1/var/:path[?cas=N]`. A cas conflict is Nomad's 409 (body: the current variable, or
   * an empty one when absent), surfaced as a final NomadError of status 409.
   */
  writeVariable(path: string, namespace: string, items: Record<string, string>, cas?: number, signal?: AbortSignal): Promise<Variable> {
    const extra = new URLSearchParams();
    if (cas !== undefined) extra.set('cas', String(cas));
    const body = { Namespace: namespace, Path: path, Items: items };
    return this.write<Variable>(ROUTES.variable, `/v1/var/${encPath(path)}`, namespace, body, signal, 'PUT', extra);
  }

  /** `DELETE /v1/var/:path`: Nomad answers 204 whether or not the variable existed. */
  async deleteVariable(path: string, namespace: string, signal?: AbortSignal): Promise<void> {
    await this.write<null>(ROUTES.variable, `/v1/var/${encPath(path)}`, namespace, undefined, signal, 'DELETE');
  }

  // ---- variable locks (HA leader lock) ----

  /**
   * `PUT /v1/var/:path?lock-acquire`: `held` with the lock ID, or `conflict` while another client
   * holds it (Nomad's zero-valued 409). Acquiring overwrites the variable's Items.
   */
  async acquireLock(path: string, namespace: string, lock: LockSpec, items: Record<string, string> = {}, signal?: AbortSignal): Promise<LockOutcome> {
    const body = { Namespace: namespace, Path: path, Items: items, Lock: { TTL: lock.ttl, LockDelay: lock.lockDelay } };
    return this.lockCall(path, namespace, 'lock-acquire', body, signal, (v) => v.Lock?.ID);
  }

  /**
   * `PUT /v1/var/:path?lock-renew`: `held`, or `lost` on any of Nomad's refusals (expired, wrong ID,
   * no lock, no variable). A leader must stop writing on anything but `held`, errors included.
   */
  async renewLock(path: string, namespace: string, id: string, signal?: AbortSignal): Promise<LockOutcome> {
    return this.lockCall(path, namespace, 'lock-renew', { Lock: { ID: id } }, signal, () => id, 'lost');
  }

  /** `PUT /v1/var/:path?lock-release`: `released`, or `lost` when the lock is no longer ours. */
  async releaseLock(path: string, namespace: string, id: string, signal?: AbortSignal): Promise<LockOutcome> {
    return this.lockCall(path, namespace, 'lock-release', { Namespace: namespace, Path: path, Lock: { ID: id } }, signal, () => undefined, 'lost');
  }

  private async lockCall(
    path: string,
    namespace: string,
    op: 'lock-acquire' | 'lock-renew' | 'lock-release',
    body: unknown,
    signal: AbortSignal | undefined,
    heldId: (v: LockedVariable) => string | undefined,
    refused: 'conflict' | 'lost' = 'conflict',
  ): Promise<LockOutcome> {
    try {
      const v = await this.write<LockedVariable>(ROUTES.variable, `/v1/var/${encPath(path)}`, namespace, body, signal, 'PUT', new URLSearchParams([[op, '']]), true);
      const id = heldId(v);
      return id ? { kind: 'held', id } : { kind: 'released' };
    } catch (err) {
      if (!(err instanceof NomadError)) throw err;
      // 409: held by another / wrong ID / expired; 404 and release's 500: nothing left to hold.
      if (err.status === 409) return { kind: refused, reason: err.text || 'held by another client' };
      if (op !== 'lock-acquire' && (err.status === 404 || /doesn't hold a lock/.test(err.text))) return { kind: 'lost', reason: err.text };
      throw err;
    }
  }

  // ---- plumbing ----

  private namespaceOf(opts: QueryOptions | undefined): string {
    return opts?.namespace ?? this.config.namespace ?? DEFAULT_NAMESPACE;
  }

  private baseQuery(namespace: string): URLSearchParams {
    const q = new URLSearchParams();
    q.set('namespace', namespace);
    if (this.config.region) q.set('region', this.config.region);
    return q;
  }

  private async query<T>(
    route: string,
    path: string,
    opts: QueryOptions | undefined,
    namespace: string,
    extra?: URLSearchParams,
  ): Promise<QueryResult<T>> {
    const q = this.baseQuery(namespace);
    let timeoutMs = this.requestTimeoutMs;
    if (opts?.index !== undefined) {
      const wait = opts.waitMs !== undefined && opts.waitMs > 0 ? Math.ceil(opts.waitMs) : this.defaultWaitMs;
      q.set('index', String(blockingIndexParam(opts.index)));
      q.set('wait', `${wait}ms`);
      timeoutMs = blockingTimeoutMs(wait, this.blockingMarginMs);
    }
    if (opts?.stale) q.set('stale', 'true');
    if (opts?.filter !== undefined) q.set('filter', opts.filter);
    if (opts?.perPage !== undefined) q.set('per_page', String(opts.perPage));
    if (opts?.nextToken !== undefined) q.set('next_token', opts.nextToken);
    extra?.forEach((v, k) => q.set(k, v));
    const res = await this.call({ method: 'GET', route, path, query: q, timeoutMs, signal: opts?.signal, ...(opts?.retries !== undefined ? { retries: opts.retries } : {}) });
    const parseStarted = performance.now();
    const body = parseJson<T>(res, 'GET', route);
    return {
      body,
      readMs: res.readMs + performance.now() - parseStarted,
      index: headerNumber(res, 'x-nomad-index'),
      knownLeader: headerValue(res, 'x-nomad-knownleader') === 'true',
      lastContactMs: headerNumber(res, 'x-nomad-lastcontact'),
      ...(headerValue(res, 'x-nomad-nexttoken') ? { nextToken: headerValue(res, 'x-nomad-nexttoken') as string } : {}),
    };
  }

  private async write<T>(
    route: string,
    path: string,
    namespace: string,
    body: unknown,
    signal: AbortSignal | undefined,
    method: HttpMethod = 'POST',
    extra?: URLSearchParams,
    unfenced = false,
  ): Promise<T> {
    const query = this.baseQuery(namespace);
    extra?.forEach((v, k) => query.set(k, v));
    const res = await this.call({
      method,
      route,
      path,
      query,
      body,
      timeoutMs: this.requestTimeoutMs,
      signal,
      unfenced,
    });
    return parseJson<T>(res, method, route);
  }

  /**
   * Runs attempts until one succeeds, a final answer arrives, retries run out, the signal fires
   * or the client is closed. Only transient NomadErrors are retried, and a write only when Nomad
   * cannot have applied it; everything else is handed to p-retry as an AbortError, which rejects
   * at once with the original error (still marked transient, so the caller may re-read and retry).
   */
  private async call(spec: CallSpec): Promise<AttemptResponse> {
    const { signal } = spec;
    if (signal?.aborted) throw abortReason(signal);
    if (this.closed) throw this.closedError(spec);
    try {
      return await pRetry(
        async () => {
          if (this.closed) throw new AbortError(this.closedError(spec));
          let release: (() => void) | undefined;
          try {
            release = await this.order.acquire(rankOf(spec.method, spec.query), signal);
            if (this.closed) throw new AbortError(this.closedError(spec));
            return await this.transport.send({
              method: spec.method,
              route: spec.route,
              path: spec.path,
              query: spec.query,
              body: spec.body,
              timeoutMs: spec.timeoutMs,
              ...(signal ? { signal } : {}),
              ...this.fence(spec),
            });
          } catch (err) {
            if (err instanceof AbortError) throw err;
            if (signal?.aborted) throw new AbortError(abortReason(signal));
            if (isFencedError(err)) throw new AbortError(err as NomadError);
            if (this.closed) throw new AbortError(this.closedError(spec));
            // A write that may already have been applied is not sent again: the caller re-reads first.
            if (isTransientNomadError(err) && !(spec.method !== 'GET' && mayHaveBeenApplied(err))) throw err;
            throw new AbortError(err instanceof Error ? err : new Error(String(err)));
          } finally {
            release?.();
          }
        },
        {
          retries: spec.retries ?? this.retries,
          factor: 2,
          minTimeout: this.minRetryDelayMs,
          maxTimeout: this.maxRetryDelayMs,
          randomize: true,
          ...(signal ? { signal } : {}),
        },
      );
    } catch (err) {
      // p-retry rethrows the signal's raw reason when it fires between attempts.
      if (signal?.aborted) throw abortReason(signal);
      throw err;
    }
  }

  /** Writes ask the fence at every attempt, once a connection is theirs: queueing or a retry's backoff must not outlive the lease. */
  private fence(spec: CallSpec): Pick<AttemptRequest, 'gate'> {
    const mayWrite = this.mayWrite;
    if (!mayWrite || spec.method === 'GET' || spec.unfenced) return {};
    return { gate: () => (mayWrite() ? undefined : fencedError(spec)) };
  }

  private closedError(spec: CallSpec): NomadError {
    return unsentError(spec, 'ECLOSED', 'client is closed', false);
  }
}

/** The fence held a write back. Not Nomad's answer: the next leader (or this one, re-elected) may well send it. */
function fencedError(spec: CallSpec): NomadError {
  return unsentError(spec, 'EFENCED', 'not sent: this replica does not hold the leader lock', true);
}

/** A call that never left this process. */
function unsentError(spec: CallSpec, code: string, text: string, transient: boolean): NomadError {
  return new NomadError({ status: 0, method: spec.method, route: spec.route, text, code, transient });
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

/** A variable path (`a/b/c`): each segment encoded, the slashes kept. */
function encPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function headerValue(res: AttemptResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function headerNumber(res: AttemptResponse, name: string): number {
  const n = Number(headerValue(res, name));
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

function parseJson<T>(res: AttemptResponse, method: string, route: string): T {
  if (res.text.trim() === '') return null as T;
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new NomadError({
      status: res.status,
      method,
      route,
      text: 'response body is not JSON',
      // A cut or garbled answer (a proxy, a server under pressure) says nothing final: ask again.
      transient: true,
    });
  }
}
