/**
 * The cost of one full allocation list at real size: the simulator's answer to
 * `GET /v1/allocations?task_states=false&resources=true` for 10,000 allocations (Nomad's stub
 * shape, AllocatedResources included), gzipped as on the wire, then gunzip + JSON.parse + absorb
 * into the watch cache, as the daemon does at every (re)list.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

import type { AllocationStub } from '../src/domain/nomad.js';
import { startSimulator } from '../src/simulator/index.js';
import { ClusterCache } from '../src/watch/cache.js';

const JOBS = 500;
const PER_JOB = 20;

export interface ListCost {
  allocations: number;
  bytesPerAllocation: number;
  gzipBytes: number;
  msPerList: number;
}

async function realList(): Promise<Buffer> {
  const sim = await startSimulator({ apps: false });
  try {
    for (let i = 0; i < JOBS; i++) {
      await fetch(`${sim.url}/v1/jobs`, {
        method: 'PUT',
        body: JSON.stringify({
          Job: { ID: `list-${i}`, Name: `list-${i}`, Type: 'service', Namespace: 'default', TaskGroups: [{ Name: 'web', Count: PER_JOB, Tasks: [{ Name: 'app', Driver: 'docker', Config: { image: 'example/app:1' } }] }] },
        }),
      });
    }
    return Buffer.from(await (await fetch(`${sim.url}/v1/allocations?namespace=*&task_states=false&resources=true`)).arrayBuffer());
  } finally {
    await sim.close();
  }
}

export async function listCost(iterations = 10): Promise<ListCost> {
  const body = await realList();
  const gz = gzipSync(body);
  const cache = new ClusterCache();
  const absorb = (): number => cache.replaceAllocations(JSON.parse(gunzipSync(gz).toString('utf8')) as AllocationStub[]).changed.length;
  const allocations = absorb();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) absorb();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { allocations, bytesPerAllocation: body.length / allocations, gzipBytes: gz.length, msPerList: ms / iterations };
}
