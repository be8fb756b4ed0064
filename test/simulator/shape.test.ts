/**
 * The simulator's JSON key sets against the contract (nomad-api.md's field lists) and the real
 * API doc samples. The samples lag behind Nomad's structs; their INDEX.md lists the fields they
 * lack, and those gaps are the only differences allowed here.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

import { allocToFull } from '../../src/simulator/model/serialize.js';
import type { Alloc } from '../../src/simulator/model/types.js';
import type { AllocStub, Deployment } from './helpers.js';
import { SimClient, webJob, withSim } from './helpers.js';

const doc = readFileSync(new URL('../../docs/nomad-api.md', import.meta.url), 'utf8');
const sample = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/nomad-samples/${name}`, import.meta.url), 'utf8')) as T;

type Json = Record<string, unknown>;

/** The first code span after `marker` in nomad-api.md (spans may wrap lines). */
function docSpan(marker: string): string {
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`nomad-api.md no longer has ${JSON.stringify(marker)}`);
  const m = /`([^`]+)`/.exec(doc.slice(at + marker.length));
  if (!m?.[1]) throw new Error(`no code span after ${JSON.stringify(marker)} in nomad-api.md`);
  return m[1].replace(/\s+/g, ' ');
}

/** Field names of a span like `ID, TaskGroups{name: DeploymentState}, EvalPriority (1.3+)`. */
function fieldList(span: string): string[] {
  return span
    .replace(/\([^)]*\)/g, '')
    .replace(/\{[^}]*\}/g, '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '')
    .sort();
}

const keys = (o: unknown): string[] => Object.keys(o as Json).sort();
const minus = (a: string[], b: string[]): string[] => a.filter((x) => !b.includes(x)).sort();

const DEPLOYMENT_FIELDS = fieldList(docSpan('## Deployment object\n'));
const DEPLOYMENT_STATE_FIELDS = fieldList(docSpan('DeploymentState: '));
/** `DeploymentStatus = {Healthy: bool|null, Timestamp: …, Canary: bool, ModifyIndex}` */
const DEPLOYMENT_STATUS_FIELDS = (/`DeploymentStatus = \{([^}]*)\}`/.exec(doc)?.[1] ?? '')
  .split(',')
  .map((f) => (f.split(':')[0] ?? '').trim())
  .sort();
/** "List stubs … carry every stub field, including `JobVersion`, `TaskGroup`, `DeploymentStatus`" */
const STUB_NAMED_FIELDS = [...(/carry every stub field, including ([^\n]+)/.exec(doc)?.[1] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1] as string);
/** "`AllocatedResources.Shared.Ports[] {Label, Value, To, HostIP}`" */
const PORT_FIELDS = fieldList((/\{([^}]*)\}/.exec(docSpan('Address of a port, in order: ')) ?? [])[1] ?? '');

/** INDEX.md, "Docs samples vs what Nomad sends": the fields each deployment sample lacks. */
const SAMPLE_GAPS = {
  deploymentsMdx: {
    deployment: ['Namespace', 'IsMultiregion', 'EvalPriority', 'CreateTime', 'ModifyTime'],
    state: ['AutoRevert', 'AutoPromote', 'PlacedCanaries', 'ProgressDeadline', 'RequireProgressBy'],
  },
  jobsMdx: {
    deployment: ['Namespace', 'IsMultiregion', 'EvalPriority', 'CreateTime', 'ModifyTime', 'JobSpecModifyIndex'],
    state: ['AutoPromote', 'ProgressDeadline', 'RequireProgressBy'],
  },
};

/**
 * Fields of the (2017) full-allocation sample the simulator does not model: the pre-0.9
 * resources (superseded by AllocatedResources) and the scheduler's placement Metrics.
 */
const FULL_ALLOC_NOT_MODELLED = ['Metrics', 'Resources', 'SharedResources', 'TaskResources'];

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

describe('JSON shapes against nomad-api.md and the doc samples', () => {
  let c: SimClient;
  let deployment: Deployment;
  beforeAll(async () => {
    c = await withSim({ apps: false });
    await c.register(webJob({ count: 2, update: { Canary: 1 } }));
    await c.advance('10s');
    await c.register(webJob({ count: 2, image: 'app:2', update: { Canary: 1 } })); // canaries placed
    deployment = await c.latestDeployment('web');
  });
  afterAll(() => c.sim.close());

  test('the field lists were read from nomad-api.md', () => {
    expect(DEPLOYMENT_FIELDS).toHaveLength(16);
    expect(DEPLOYMENT_STATE_FIELDS).toHaveLength(11);
    expect(DEPLOYMENT_STATUS_FIELDS).toEqual(['Canary', 'Healthy', 'ModifyIndex', 'Timestamp']);
    expect(STUB_NAMED_FIELDS).toEqual(['JobVersion', 'TaskGroup', 'DeploymentStatus']);
    expect(PORT_FIELDS).toEqual(['HostIP', 'Label', 'To', 'Value']);
  });

  test('Deployment and DeploymentState: exactly the documented fields, on every endpoint', async () => {
    const served: Deployment[] = [
      (await c.get<Deployment>(`/v1/deployment/${deployment.ID}`)).body,
      ...(await c.get<Deployment[]>('/v1/deployments')).body,
      ...(await c.deployments('web')),
      await c.latestDeployment('web'),
    ];
    expect(served.length).toBeGreaterThanOrEqual(5);
    for (const d of served) {
      expect(keys(d)).toEqual(DEPLOYMENT_FIELDS);
      for (const state of Object.values(d.TaskGroups)) expect(keys(state)).toEqual(DEPLOYMENT_STATE_FIELDS);
    }
    expect(deployment.TaskGroups.web?.PlacedCanaries).toHaveLength(1);
  });

  test('the deployment samples hold a subset of the simulated fields; what they lack is their documented gap', async () => {
    const d = (await c.get<Deployment>(`/v1/deployment/${deployment.ID}`)).body as unknown as Json;
    const state = (d.TaskGroups as Json).web;
    const read = sample<Json>('GET_v1_deployment_ID.json');
    const readState = Object.values(read.TaskGroups as Json)[0];
    expect(minus(keys(read), keys(d))).toEqual([]);
    expect(minus(keys(d), keys(read))).toEqual([...SAMPLE_GAPS.deploymentsMdx.deployment].sort());
    expect(minus(keys(readState), keys(state))).toEqual([]);
    expect(minus(keys(state), keys(readState))).toEqual([...SAMPLE_GAPS.deploymentsMdx.state].sort());

    for (const listed of sample<Json[]>('GET_v1_job_ID_deployments.json')) {
      expect(minus(keys(listed), keys(d))).toEqual([]);
      expect(minus(keys(d), keys(listed))).toEqual([...SAMPLE_GAPS.jobsMdx.deployment].sort());
      for (const s of Object.values(listed.TaskGroups as Json)) {
        expect(minus(keys(s), keys(state))).toEqual([]);
        expect(minus(keys(state), keys(s))).toEqual([...SAMPLE_GAPS.jobsMdx.state].sort());
      }
    }
  });

  test('allocation stubs: every sample field and the documented ones, no DeploymentID; resources=true adds the ports', async () => {
    const stubs = [
      ...(await c.get<Json[]>('/v1/allocations')).body,
      ...(await c.get<Json[]>('/v1/job/web/allocations')).body,
      ...(await c.get<Json[]>(`/v1/deployment/allocations/${deployment.ID}`)).body,
    ];
    const real = sample<Json[]>('GET_v1_allocations.json')[0] as Json;
    for (const stub of stubs) {
      expect(stub).not.toHaveProperty('DeploymentID');
      expect(minus(keys(real), keys(stub))).toEqual([]);
      for (const field of STUB_NAMED_FIELDS) expect(stub).toHaveProperty(field);
    }
    const withStatus = stubs.find((s) => s.DeploymentStatus !== null) as Json;
    expect(keys(withStatus.DeploymentStatus)).toEqual(DEPLOYMENT_STATUS_FIELDS);
    expect(keys(real.DeploymentStatus)).toEqual(DEPLOYMENT_STATUS_FIELDS);

    const [withResources] = (await c.get<Json[]>('/v1/allocations?resources=true')).body;
    const ports = ((withResources?.AllocatedResources as Json).Shared as Json).Ports as Json[];
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(minus(PORT_FIELDS, keys(port))).toEqual([]);
  });

  test('full allocation: every field of the sample and the doc, omitted only when zero or empty', async () => {
    const real = sample<Json>('GET_v1_allocation_ID.json');
    const stubs = (await c.get<AllocStub[]>('/v1/job/web/allocations')).body;
    expect(stubs.length).toBeGreaterThanOrEqual(3);
    for (const stub of stubs) {
      const served = (await c.get<Json>(`/v1/allocation/${stub.ID}`)).body;
      const complete = allocToFull(c.sim.cluster.store.allocs.get(stub.ID) as Alloc);
      expect(minus(keys(served), keys(complete))).toEqual([]);
      for (const omitted of minus(keys(complete), keys(served))) {
        expect([omitted, isEmpty(complete[omitted])]).toEqual([omitted, true]);
      }
      expect(minus(keys(real), keys(complete))).toEqual(FULL_ALLOC_NOT_MODELLED);
      // The doc: DeploymentID and DeploymentStatus present once set; the port address fields.
      expect(served).toMatchObject({ DeploymentID: expect.any(String), ClientStatus: 'running', DesiredStatus: 'run' });
      expect(keys(served.DeploymentStatus)).toEqual(DEPLOYMENT_STATUS_FIELDS);
      const ports = ((served.AllocatedResources as Json).Shared as Json).Ports as Json[];
      for (const port of ports) expect(minus(PORT_FIELDS, keys(port))).toEqual([]);
    }
  });
});
