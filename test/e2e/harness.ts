/**
 * Given/when/then helpers for end-to-end tests: the simulator and the daemon run as separate
 * processes (bin/nomad-promoter simulate / run) and talk over HTTP, as in production.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import type { AllocationStub, Deployment, Job } from '../../src/domain/nomad.js';
import type { LoggedRequest } from '../../src/simulator/control/request-log.js';
import { eventually } from '../support/eventually.js';
import { startProcess, type RunningProcess } from '../support/processes.js';

export { eventually };

export const SECOND_NS = 1_000_000_000;

export type SimRequest = LoggedRequest;

export interface SimState {
  deployments: Deployment[];
  allocations: (AllocationStub & { DeploymentID?: string })[];
}

/**
 * Talks to the simulator the way a test should: each call on its own short connection
 * (`Connection: close`), so the simulator's connection counts show only the daemon's; reads go
 * through the control API (never faulted, never in the request log).
 */
export class SimControl {
  /** Sent as X-Nomad-Token when the simulator has ACLs on. */
  token?: string;

  constructor(readonly url: string) {}

  async send(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${this.url}${path}`, { method, agent: false, headers: { connection: 'close', ...(payload ? { 'content-type': 'application/json' } : {}), ...(this.token ? { 'x-nomad-token': this.token } : {}) } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    if (status >= 300) throw new Error(`${method} ${path}: ${status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  get<T>(path: string): Promise<T> {
    return this.send('GET', path) as Promise<T>;
  }

  register(job: Job): Promise<unknown> {
    return this.send('PUT', '/v1/jobs', { Job: job });
  }

  state(): Promise<SimState> {
    return this.get('/_sim/state');
  }

  async latest(job: string): Promise<Deployment | undefined> {
    return (await this.state()).deployments.filter((d) => d.JobID === job).sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
  }

  async allocationsOf(deploymentId: string): Promise<AllocationStub[]> {
    return (await this.state()).allocations.filter((a) => a.DeploymentID === deploymentId);
  }

  requests(): Promise<SimRequest[]> {
    return this.get('/_sim/requests');
  }

  async writesTo(deploymentId: string): Promise<SimRequest[]> {
    return (await this.requests()).filter((r) => r.method !== 'GET' && r.path.startsWith('/v1/deployment/') && r.path.endsWith(`/${deploymentId}`));
  }
}

export interface Harness {
  sim: SimControl;
  simProcess: RunningProcess;
  policiesDir: string;
  daemons: RunningProcess[];
  startDaemon(extraArgs?: string[], env?: NodeJS.ProcessEnv): Promise<{ process: RunningProcess; url: string }>;
  close(): Promise<void>;
}

export async function startHarness(policies: Record<string, string>, simArgs: string[] = []): Promise<Harness> {
  const policiesDir = await mkdtemp(join(tmpdir(), 'promoter-e2e-'));
  for (const [file, text] of Object.entries(policies)) await writeFile(join(policiesDir, file), text);
  const simProcess = startProcess(['simulate', '--listen', '127.0.0.1:0', ...simArgs]);
  const line = await simProcess.waitForLine(/Nomad simulator listening/);
  const sim = new SimControl((JSON.parse(line) as { url: string }).url);
  const daemons: RunningProcess[] = [];
  return {
    sim,
    simProcess,
    policiesDir,
    daemons,
    async startDaemon(extraArgs = [], env = {}) {
      const p = startProcess(['run', '--listen', '127.0.0.1:0', '--policies', policiesDir, '--watch-wait', '10s', '--log-level', 'debug', ...extraArgs], {
        NOMAD_ADDR: sim.url,
        ...env,
      });
      daemons.push(p);
      const started = await p.waitForLine(/nomad-promoter started/);
      return { process: p, url: (JSON.parse(started) as { listen: string }).listen };
    },
    async close() {
      await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
      await simProcess.stop();
      await rm(policiesDir, { recursive: true, force: true });
    },
  };
}

export function webJob(id: string, release: string, options: { canary?: number; count?: number; healthy?: boolean; errorRate?: number; healthCheck?: 'checks' | 'task_states' | 'manual'; autoRevert?: boolean; healthyDeadlineS?: number; meta?: Record<string, string> } = {}): Job {
  return {
    ID: id,
    Name: id,
    Type: 'service',
    Namespace: 'default',
    Meta: { release, ...options.meta },
    TaskGroups: [
      {
        Name: 'web',
        Count: options.count ?? 3,
        Update: {
          MaxParallel: 3,
          Canary: options.canary ?? 2,
          HealthCheck: options.healthCheck ?? 'checks',
          MinHealthyTime: SECOND_NS / 2,
          HealthyDeadline: (options.healthyDeadlineS ?? 30) * SECOND_NS,
          ProgressDeadline: 60 * SECOND_NS,
          AutoRevert: options.autoRevert ?? false,
        },
        Tasks: [{ Name: 'app', Driver: 'docker', Config: { image: `example/${id}:${release}`, sim_healthy: options.healthy ?? true, sim_error_rate: options.errorRate ?? 0 } }],
      },
    ],
  };
}


/** Registers v0 and waits for its (canary-less) deployment to succeed, so v1 gets canaries. */
export async function stableV0(sim: SimControl, id: string, options: Parameters<typeof webJob>[2] = {}): Promise<void> {
  await sim.register(webJob(id, 'v0', options));
  await eventually(async () => (await sim.latest(id))?.Status === 'successful', `${id} v0 successful`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
