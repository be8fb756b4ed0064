/**
 * Jobs: register (PUT|POST /v1/jobs and /v1/job/:id), read, list, stop (DELETE), versions,
 * revert, stable, and the job's deployments; DELETE with `?purge=true` also removes the job. Jobs
 * are addressed by `?namespace=` (default `default`); a submitted job's own Namespace wins over
 * the query's.
 */
import { ApiError } from '../model/errors.js';
import { diffJobVersions } from '../model/job-diff.js';
import { canonicalizeJob } from '../model/jobspec.js';
import { deploymentToApi } from '../model/serialize.js';
import { jobKey } from '../model/store.js';
import type { JobVersion } from '../model/types.js';
import { allows, requireCapability } from './acl.js';
import { decodeBody } from './body.js';
import { compileFilter, filterMatches } from './listing.js';
import { parseBoolParam, parseQuery } from './query.js';
import { answerRead } from './reply.js';
import { indexHeader, metaHeaders, sendJson } from './respond.js';
import type { ApiContext, Router } from './router.js';

function jobStub(j: JobVersion): Record<string, unknown> {
  return {
    ID: j.ID,
    ParentID: '',
    Name: j.Name,
    Namespace: j.Namespace,
    Datacenters: j.Datacenters,
    Multiregion: null,
    Type: j.Type,
    Priority: j.Priority,
    Periodic: false,
    ParameterizedJob: false,
    Stop: j.Stop,
    Status: j.Status,
    StatusDescription: j.StatusDescription,
    JobSummary: null,
    CreateIndex: j.CreateIndex,
    ModifyIndex: j.ModifyIndex,
    JobModifyIndex: j.JobModifyIndex,
    SubmitTime: j.SubmitTime,
  };
}

function listJobs(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  let filter: ReturnType<typeof compileFilter> = null;
  return answerRead(ctx, {
    before: (q, who) => {
      requireCapability(who, q.namespace, 'list-jobs');
      filter = compileFilter(q.filter);
    },
    run: (q, who) => {
      const jobs = [...store.jobs.values()]
        .filter((j) => (q.namespace === '*' || j.Namespace === q.namespace) && allows(who, j.Namespace, 'list-jobs'))
        .filter((j) => j.ID.startsWith(q.prefix))
        .sort((a, b) => a.ID.localeCompare(b.ID) || a.Namespace.localeCompare(b.Namespace))
        .map(jobStub)
        .filter((j) => filterMatches(filter, j));
      return { index: store.index('jobs'), value: { body: jobs } };
    },
  });
}

async function registerJob(ctx: ApiContext): Promise<void> {
  const body = await decodeBody(ctx.req);
  const q = parseQuery(ctx.url.searchParams);
  if (body.Job === undefined || body.Job === null) throw new ApiError(400, 'Job must be specified');
  const job = canonicalizeJob(body.Job, q.namespace);
  if (ctx.params.id !== undefined && job.ID !== ctx.params.id) throw new ApiError(400, 'Job ID does not match name');
  const who = ctx.services.acl.authenticate(ctx.req);
  requireCapability(who, job.Namespace, 'submit-job');
  const result = ctx.services.cluster.registerJob(job);
  sendJson(ctx.res, 200, { ...result, LastContact: 0, KnownLeader: false }, indexHeader(result.Index));
}

function readJob(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    notFound: 'job not found',
    before: (q, who) => requireCapability(who, q.namespace, 'read-job'),
    run: (q) => {
      const job = store.jobs.get(jobKey(q.namespace, ctx.params.id ?? ''));
      return job ? { index: job.ModifyIndex, value: { body: job } } : { index: store.index('jobs'), value: { body: undefined } };
    },
  });
}

function stopJob(ctx: ApiContext): void {
  const q = parseQuery(ctx.url.searchParams);
  const who = ctx.services.acl.authenticate(ctx.req);
  requireCapability(who, q.namespace, 'submit-job');
  const purge = parseBoolParam(q.raw, 'purge') ?? false;
  const { cluster } = ctx.services;
  const result = purge ? cluster.purgeJob(q.namespace, ctx.params.id ?? '') : cluster.stopJob(q.namespace, ctx.params.id ?? '');
  sendJson(ctx.res, 200, { EvalID: result.EvalID, EvalCreateIndex: result.EvalCreateIndex, JobModifyIndex: result.JobModifyIndex, Index: result.Index }, indexHeader(result.Index));
}

function jobVersions(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  let diffs = false;
  return answerRead(ctx, {
    notFound: 'job versions not found',
    before: (q, who) => {
      requireCapability(who, q.namespace, 'read-job');
      diffs = parseBoolParam(q.raw, 'diffs') ?? false;
    },
    run: (q) => {
      const versions = store.jobVersions(q.namespace, ctx.params.id ?? '');
      const first = versions[0];
      if (!first) return { index: store.index('job_version'), value: { body: undefined } };
      // Nomad's GetJobVersions (1.9+): the highest ModifyIndex of all versions, so a query blocked
      // on it wakes when an older version changes (e.g. turns Stable).
      const index = Math.max(...versions.map((v) => v.ModifyIndex));
      // Diffs[i] is what changed from Versions[i+1] to Versions[i]; null (Go's nil) when none.
      const diffList = diffs && versions.length > 1 ? versions.slice(0, -1).map((v, i) => diffJobVersions(versions[i + 1] as JobVersion, v)) : null;
      return { index, value: { body: { Diffs: diffList, Index: index, KnownLeader: true, LastContact: 0, Versions: versions } } };
    },
  });
}

/** Shared checks of revert and stable: body, JobID (400), token and capability. */
async function jobWriteBody(ctx: ApiContext, capability: 'revert-job' | 'stable-job'): Promise<{ body: Record<string, unknown>; namespace: string }> {
  const body = await decodeBody(ctx.req);
  const q = parseQuery(ctx.url.searchParams);
  const jobId = typeof body.JobID === 'string' ? body.JobID : '';
  if (jobId === '') throw new ApiError(400, 'JobID must be specified');
  if (jobId !== ctx.params.id) throw new ApiError(400, 'Job ID does not match');
  const who = ctx.services.acl.authenticate(ctx.req);
  requireCapability(who, q.namespace, 'submit-job', capability);
  return { body, namespace: q.namespace };
}

async function revertJob(ctx: ApiContext): Promise<void> {
  const { body, namespace } = await jobWriteBody(ctx, 'revert-job');
  const enforce = typeof body.EnforcePriorVersion === 'number' ? body.EnforcePriorVersion : null;
  const result = ctx.services.cluster.revertJob(namespace, ctx.params.id ?? '', Number(body.JobVersion ?? 0), enforce);
  // Nomad answers a revert with write meta: KnownLeader false, LastContact 0.
  sendJson(ctx.res, 200, { ...result, LastContact: 0, KnownLeader: false }, metaHeaders({ index: result.Index, knownLeader: false }));
}

async function stableJob(ctx: ApiContext): Promise<void> {
  const { body, namespace } = await jobWriteBody(ctx, 'stable-job');
  const index = ctx.services.cluster.setJobStable(namespace, ctx.params.id ?? '', Number(body.JobVersion ?? 0), body.Stable === true);
  // Nomad's JobStabilityResponse holds only the write meta.
  sendJson(ctx.res, 200, { Index: index }, indexHeader(index));
}

function jobDeployments(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  let all = false;
  return answerRead(ctx, {
    before: (q, who) => {
      requireCapability(who, q.namespace, 'read-job');
      all = parseBoolParam(q.raw, 'all') ?? false;
    },
    run: (q) => {
      // Nomad's DeploymentsByJobID: memdb order of the job index (deployment ID), and only the
      // current incarnation of the job (same JobCreateIndex) unless `all`.
      const job = store.jobs.get(jobKey(q.namespace, ctx.params.id ?? ''));
      const deployments = store
        .deploymentsOfJob(q.namespace, ctx.params.id ?? '')
        .filter((d) => all || (job !== undefined && d.JobCreateIndex === job.CreateIndex))
        .sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
      return { index: store.index('deployment'), value: { body: deployments.map(deploymentToApi) } };
    },
  });
}

function jobLatestDeployment(ctx: ApiContext): Promise<void> {
  const { store } = ctx.services.cluster;
  return answerRead(ctx, {
    before: (q, who) => requireCapability(who, q.namespace, 'read-job'),
    run: (q) => {
      const latest = store.deploymentsOfJob(q.namespace, ctx.params.id ?? '')[0];
      return { index: store.index('deployment'), value: { body: latest ? deploymentToApi(latest) : null } };
    },
  });
}

export function addJobRoutes(router: Router): void {
  router.add('/v1/jobs', { GET: listJobs, PUT: registerJob, POST: registerJob });
  router.add('/v1/job/:id/versions', { GET: jobVersions });
  router.add('/v1/job/:id/revert', { PUT: revertJob, POST: revertJob });
  router.add('/v1/job/:id/stable', { PUT: stableJob, POST: stableJob });
  router.add('/v1/job/:id/deployments', { GET: jobDeployments });
  router.add('/v1/job/:id/deployment', { GET: jobLatestDeployment });
  router.add('/v1/job/:id', { GET: readJob, PUT: registerJob, POST: registerJob, DELETE: stopJob });
}
