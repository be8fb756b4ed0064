/**
 * `nomad-promoter demo`: the built-in Nomad simulator, two example jobs and a policy, and the
 * daemon against them, narrated on stdout. Both jobs' canaries look healthy to Nomad (its
 * health check only watches the task run). The promoter also probes each canary's /healthz:
 * the good canary passes and is promoted once its bake time has passed; the bad canary answers
 * 503, so the promoter fails its deployment and Nomad's auto_revert rolls the job back.
 * Exits when both stories have played out; with --keep-running, simulator, daemon and dashboard
 * stay up until SIGINT or SIGTERM, which stop them cleanly at any point.
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

export const DEMO_POLICY = `# The demo's policy: canaries of web-* jobs must answer /healthz three times in a row, and
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

export function demoJob(id: string, release: string, healthy: boolean): Job {
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

/** Resolves on the first SIGINT or SIGTERM; the handlers are removed by `dispose`. */
function stopSignal(): { stopped: Promise<void>; isStopped: () => boolean; dispose: () => void } {
  let done = false;
  let resolve!: () => void;
  const stopped = new Promise<void>((r) => (resolve = r));
  const onSignal = () => ((done = true), resolve());
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return { stopped, isStopped: () => done, dispose: () => process.off('SIGINT', onSignal).off('SIGTERM', onSignal) };
}

export async function demoCommand(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = Date.now();
  const print = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  const listenText = (flags.listen as string | undefined) ?? RUN_DEFAULTS.listen;
  const listen = parseListen(listenText);
  if (!listen) {
    process.stderr.write(`nomad-promoter demo: --listen "${listenText}" is not HOST:PORT\n`);
    return EXIT.usage;
  }

  const keepRunning = flags['keep-running'] === true;
  // Only with --keep-running do signals stop the demo cleanly; without, Ctrl-C ends it at once.
  const signal = keepRunning ? stopSignal() : undefined;
  const waitFor = <T>(probe: () => Promise<T | undefined | false>) => waitUntil(probe, () => signal?.isStopped() ?? false);

  const sim = await startSimulator();
  const dir = await mkdtemp(join(tmpdir(), 'nomad-promoter-demo-'));
  await writeFile(join(dir, 'demo.yaml'), DEMO_POLICY);
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
      // The demo's dashboard shows the action buttons once this token is entered there.
      ...(env.PROMOTER_API_TOKEN ? { apiToken: env.PROMOTER_API_TOKEN } : {}),
    };
    const daemon = await startDaemon(config, { logger: createLogger('info', narrator(print)) });
    print(`promoter running; dashboard at ${daemon.url}/, status at ${daemon.url}/v1/deployments, metrics at ${daemon.url}/metrics`);
    if (keepRunning) print('(--keep-running: Ctrl-C to stop)');

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
      if (signal) {
        print(`dashboard at ${daemon.url}/ stays up: Ctrl-C to stop`);
        await signal.stopped;
      }
      return EXIT.ok;
    } finally {
      await daemon.stop();
    }
  } catch (err) {
    if (err instanceof Stopped) return EXIT.ok;
    print(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    if (signal) print('stopping: daemon, simulator');
    signal?.dispose();
    api.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function latest(api: HttpNomadClient, job: string): Promise<Deployment | undefined> {
  const list = (await api.listAllDeployments({ namespace: 'default' })).body.filter((d) => d.JobID === job);
  return list.sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
}

/** A stop signal arrived while the story was still playing. */
class Stopped extends Error {}

async function waitUntil<T>(probe: () => Promise<T | undefined | false>, stopped: () => boolean, timeoutMs = DEADLINE_MS): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (stopped()) throw new Stopped('stopped');
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
