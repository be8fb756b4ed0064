/**
 * `nomad-promoter demo`: the built-in Nomad simulator, two example jobs and a policy, and the
 * daemon against them, narrated on stdout. Both jobs' canaries look healthy to Nomad (its
 * health check only watches the task run). The promoter also probes each canary's /healthz:
 * the good canary passes and is promoted once its bake time has passed; the bad canary answers
 * 503, so the promoter fails its deployment and Nomad's auto_revert rolls the job back.
 * Exits when both stories have played out.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Deployment, Job } from '../domain/nomad.js';
import { HttpNomadClient } from '../nomad/client.js';
import { readNomadConfig } from '../nomad/config.js';
import { startSimulator } from '../simulator/index.js';
import { EXIT } from '../cli.js';
import { parseListen, RUN_DEFAULTS, type RunConfig } from './config.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './logger.js';

const BAKE = '10s';
const DEADLINE_MS = 60_000;
const SECOND_NS = 1_000_000_000;

const POLICY = `# The demo's policy: canaries of web-* jobs must answer /healthz three times in a row, and
# are promoted ${BAKE} after all are healthy in Nomad. A failed probe fails the deployment.
name: demo-web
match:
  jobs: ["web-*"]
checks:
  healthz:
    scope: allocation
    http:
      url: "http://{{ alloc.addr.http }}/healthz"
      timeout: 2s
    pass: "response.status == 200"
    interval: 1s
    count: 3
canary:
  analysis: [healthz]
  bake: ${BAKE}
  promote: auto
onFailure:
  rollback: auto
`;

function demoJob(id: string, release: string, healthy: boolean): Job {
  return {
    ID: id,
    Name: id,
    Type: 'service',
    Namespace: 'default',
    Meta: { release },
    TaskGroups: [
      {
        Name: 'web',
        Count: 3,
        Update: {
          MaxParallel: 3,
          Canary: 2,
          HealthCheck: 'task_states',
          MinHealthyTime: 2 * SECOND_NS,
          HealthyDeadline: 8 * SECOND_NS,
          ProgressDeadline: 60 * SECOND_NS,
          AutoRevert: true,
        },
        Tasks: [{ Name: 'app', Driver: 'docker', Config: { image: `example/${id}:${release}`, sim_healthy: healthy } }],
      },
    ],
  };
}

/** Prints the daemon's decision lines as plain sentences. */
function narrator(print: (line: string) => void): Writable {
  let buffer = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
        buffer = buffer.slice(nl + 1);
        if (line.msg === 'decision') print(`promoter: ${line.job}/${line.group}: ${line.action} (${line.outcome}): ${line.reason}`);
        else if (line.level === 'error' || line.level === 'fatal') print(`promoter error: ${line.msg}`);
      }
      done();
    },
  });
}

export async function demoCommand(flags: Record<string, string | boolean | undefined>): Promise<number> {
  const started = Date.now();
  const print = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  const listenText = (flags.listen as string | undefined) ?? RUN_DEFAULTS.listen;
  const listen = parseListen(listenText);
  if (!listen) {
    process.stderr.write(`nomad-promoter demo: --listen "${listenText}" is not HOST:PORT\n`);
    return EXIT.usage;
  }

  const sim = await startSimulator();
  const dir = await mkdtemp(join(tmpdir(), 'nomad-promoter-demo-'));
  await writeFile(join(dir, 'demo.yaml'), POLICY);
  const nomad = readNomadConfig({ NOMAD_ADDR: sim.url }).config!;
  const api = new HttpNomadClient(nomad);
  print(`Nomad simulator at ${sim.url}; policy demo-web (probe /healthz, bake ${BAKE}) in ${dir}`);

  try {
    for (const id of ['web-good', 'web-bad']) await api.registerJob(demoJob(id, 'v1', true));
    await waitFor(async () => (await latest(api, 'web-good'))?.Status === 'successful' && (await latest(api, 'web-bad'))?.Status === 'successful');
    print('registered web-good and web-bad, version 0: 3 allocations each, healthy, stable');

    const config: RunConfig = {
      policies: dir,
      listen,
      dryRun: false,
      namespace: '*',
      logLevel: 'info',
      watchWaitMs: 30_000,
      resyncMs: 60_000,
      state: { kind: 'memory' },
      nomad,
    };
    const daemon = await startDaemon(config, { logger: createLogger('info', narrator(print)) });
    print(`promoter running; status at ${daemon.url}/v1/deployments, metrics at ${daemon.url}/metrics`);
    if (flags['keep-running']) print('(--keep-running: Ctrl-C to stop)');

    try {
      await api.registerJob(demoJob('web-good', 'v2', true));
      await api.registerJob(demoJob('web-bad', 'v2', false));
      print("registered version 1 of both jobs: 2 canaries each, healthy to Nomad; web-bad's canaries answer /healthz with 503");

      const good = await waitFor(async () => {
        const d = await latest(api, 'web-good');
        return d?.JobVersion === 1 && d.TaskGroups['web']?.Promoted ? d : undefined;
      });
      print(`web-good: canaries promoted by the promoter; deployment ${good.ID.slice(0, 8)} ${good.Status}`);
      const bad = await waitFor(async () => {
        const d = (await api.listAllDeployments({ namespace: 'default' })).body.find((x) => x.JobID === 'web-bad' && x.JobVersion === 1);
        return d && d.Status === 'failed' ? d : undefined;
      });
      print(`web-bad: never promoted; Nomad: ${bad.StatusDescription}`);
      const reverted = await waitFor(async () => {
        const d = await latest(api, 'web-bad');
        return d && d.JobVersion === 2 && d.Status === 'successful' ? d : undefined;
      });
      print(`web-bad: rolled back: version ${reverted.JobVersion} (the spec of version 0) deployed ${reverted.Status}`);
      const success = await waitFor(async () => {
        const d = await latest(api, 'web-good');
        return d?.JobVersion === 1 && d.Status === 'successful' ? d : undefined;
      });
      print(`web-good: deployment ${success.ID.slice(0, 8)} ${success.StatusDescription.toLowerCase()}`);
      print(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      if (flags['keep-running']) {
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      }
      return EXIT.ok;
    } finally {
      await daemon.stop();
    }
  } catch (err) {
    print(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    api.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function latest(api: HttpNomadClient, job: string): Promise<Deployment | undefined> {
  const list = (await api.listAllDeployments({ namespace: 'default' })).body.filter((d) => d.JobID === job);
  return list.sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
}

async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = DEADLINE_MS): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
