/**
 * The command line as users meet it: exit codes, validate, explain, hot reload of policies.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, startProcess } from '../support/processes.js';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = startProcess(args, env);
  const code = await p.exited;
  return { code, out: p.lines.join('\n'), err: p.stderr() };
}

/** Deploys version 1 of `job` over a stable version 0 and waits until both canaries are healthy. */
async function canariesHealthy(h: Harness, job: string) {
  await stableV0(h.sim, job);
  await h.sim.register(webJob(job, 'v1'));
  return eventually(async () => {
    const x = await h.sim.latest(job);
    return x?.JobVersion === 1 && x.TaskGroups['web']!.HealthyAllocs === 2 ? x : undefined;
  }, `canaries of ${job} healthy`);
}

describe('exit codes', () => {
  test('--help everywhere, usage errors exit 2', async () => {
    for (const command of ['run', 'validate', 'explain', 'demo', 'simulate']) {
      const r = await run([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: nomad-promoter ${command}`);
    }
    expect((await run(['--help'])).code).toBe(0);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['run', '--no-such-flag'])).code).toBe(2);
    expect((await run(['explain'])).code).toBe(2);
  });

  test('validate: 0 for the example policies, 1 with file:line:col errors for broken ones', async () => {
    const ok = await run(['validate', 'examples/policies']);
    expect(ok.code).toBe(0);
    const bad = await run(['validate', 'test/fixtures/policies/broken/bad-check-name.yaml', 'test/fixtures/policies/broken/bad-duration.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^test\/fixtures\/policies\/broken\/bad-check-name\.yaml:3:3: /m);
    expect(bad.out).toMatch(/^test\/fixtures\/policies\/broken\/bad-duration\.yaml:\d+:\d+: /m);
  });

  test('output piped into a reader that has gone (`| head -1`): a quiet exit, no EPIPE stack trace', async () => {
    for (const args of [['validate', 'test/fixtures/policies/broken'], ['--help']]) {
      const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      // Closed before the command writes its first line, as `head` does after its first.
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect({ args, err, code }).toEqual({ args, err: '', code: 0 });
    }
  });

  test('run: invalid policies exit 1, an unreachable Nomad exits 3, bad config exits 1', async () => {
    expect((await run(['run', '--policies', 'test/fixtures/policies/broken', '--listen', '127.0.0.1:0'], { NOMAD_ADDR: 'http://127.0.0.1:9' })).code).toBe(1);
    const unreachable = await run(['run', '--policies', 'policies', '--listen', '127.0.0.1:0'], { NOMAD_ADDR: 'http://127.0.0.1:9', NOMAD_TOKEN: 'secret-token-value' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.out + unreachable.err).not.toContain('secret-token-value');
    const badConfig = await run(['run', '--listen', 'nowhere'], { PROMOTER_LOG_LEVEL: 'loud' });
    expect(badConfig.code).toBe(1);
    expect(badConfig.err).toContain('--listen / PROMOTER_LISTEN: "nowhere" is not HOST:PORT');
    expect(badConfig.err).toContain('PROMOTER_LOG_LEVEL: "loud"');
    const badUrl = await run(['run', '--policies', 'policies', '--listen', '127.0.0.1:0', '--prometheus-addr', 'http://exa mple:9090'], { NOMAD_ADDR: 'http://127.0.0.1:9' });
    expect(badUrl.code).toBe(1);
    expect(badUrl.err).toContain('--prometheus-addr / PROMOTER_PROMETHEUS_ADDR: not a URL');
    expect(badUrl.out + badUrl.err).not.toMatch(/^\s+at /m);
  });
});

describe('demo', () => {
  test('a good canary is promoted after its bake; a bad one is failed by its analysis and rolled back', async () => {
    const r = await run(['demo', '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/promoter: web-bad\/web: fail \(ok\): web: canary analysis failed: healthz failed/);
    expect(r.out).toMatch(/promoter: web-good\/web: promote \(ok\): analysis passed \(healthz\), baked 10s since all canaries healthy/);
    expect(r.out).toMatch(/web-bad: rolled back: version 2 \(the spec of version 0\) deployed successful/);
    expect(r.out).toMatch(/web-good: deployment \w+ deployment completed successfully/);
  }, 90_000);

  test('demo --keep-running prints the dashboard URL, serves the page, and SIGTERM stops it cleanly mid-story', async () => {
    const p = startProcess(['demo', '--keep-running', '--listen', '127.0.0.1:0']);
    const line = await p.waitForLine(/dashboard at http:\/\/\S+\//);
    const url = /dashboard at (http:\/\/\S+?)\/,/.exec(line)![1]!;
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="assets/app.js"></script>');
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.lines.join('\n')).toMatch(/stopping: daemon, simulator$/);
    expect(p.stderr()).toBe('');
    // A demo starts a simulator, its apps and a daemon: on a loaded 2-core runner that can take a while.
  }, 60_000);
});

describe('against the simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ 'web.yaml': 'name: web-bake\nmatch:\n  jobs: ["web-*"]\ncanary:\n  bake: 1h\n' });
  });
  afterAll(() => h.close());

  test('run: a --listen address already in use is a clear start-up error (exit 1)', async () => {
    const first = await h.startDaemon();
    const port = new URL(first.url).port;
    const second = await run(['run', '--policies', h.policiesDir, '--listen', `127.0.0.1:${port}`], { NOMAD_ADDR: h.sim.url });
    expect(second.code).toBe(1);
    expect(second.out).toMatch(/"level":"fatal".*cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect(await first.process.stop('SIGTERM')).toBe(0);
  });

  test('explain prints what the daemon would decide and why, and writes nothing', async () => {
    const d = await canariesHealthy(h, 'web-explain');
    const r = await run(['explain', d.ID.slice(0, 8), '--policies', h.policiesDir], { NOMAD_ADDR: h.sim.url, PROMOTER_DAEMON: 'http://127.0.0.1:9' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Note: the daemon at http:\/\/127\.0\.0\.1:9 does not show this deployment \(cannot reach the daemon .*\): a fresh evaluation of its own follows\./);
    expect(r.out).toContain(`policies read from ${h.policiesDir}; state after this evaluation: baking`);
    expect(r.out).toContain(`Deployment ${d.ID} (namespace default, job web-explain version 1): running`);
    expect(r.out).toContain('group web: policy web-bake (enforce)');
    expect(r.out).toContain('canaries: 2/2 healthy');
    expect(r.out).toMatch(/would wait \(web\): baking until /);
    const json = await run(['explain', d.ID, '--policies', h.policiesDir, '--json'], { NOMAD_ADDR: h.sim.url });
    expect(json.code).toBe(0);
    const view = JSON.parse(json.out) as { groups: Record<string, { policy: string; mode: string }>; updatedAt: string };
    expect(view.groups['web']).toMatchObject({ policy: 'web-bake', mode: 'enforce' });
    expect(view.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await h.sim.writesTo(d.ID)).toEqual([]);
  });

  test('explain and explain --json: credentials of a Prometheus address echoed by the server (as Basic) are redacted', async () => {
    const password = 'pr0m-pass-under-test';
    const token = Buffer.from(`ops:${password}`).toString('base64');
    const echo = createServer((req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `rejected request with authorization ${req.headers.authorization}` }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const dir = await mkdtemp(join(tmpdir(), 'explain-creds-'));
    try {
      const port = (echo.address() as AddressInfo).port;
      await writeFile(
        join(dir, 'p.yaml'),
        `name: creds\nmatch:\n  jobs: ["creds-*"]\nchecks:\n  errors:\n    prometheus:\n      address: "http://ops:${password}@127.0.0.1:${port}"\n      query: up\n    pass: "result < 1"\ncanary:\n  analysis: [errors]\n`,
      );
      const d = await canariesHealthy(h, 'creds-app');
      for (const args of [[], ['--json']]) {
        const r = await run(['explain', d.ID, '--policies', dir, ...args], { NOMAD_ADDR: h.sim.url });
        const all = `${r.out}\n${r.err}`;
        expect(all).toContain('rejected request with authorization Basic [redacted]');
        for (const form of [password, token]) expect(all).not.toContain(form);
      }
    } finally {
      echo.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('policies reload on file change; an invalid edit is rejected and the last valid set stays', async () => {
    const daemon = await h.startDaemon();
    await writeFile(join(h.policiesDir, 'broken.yaml'), 'name: Bad Name\n');
    await daemon.process.waitForLine(/invalid policy edit rejected/);
    await writeFile(join(h.policiesDir, 'broken.yaml'), 'name: fast-bake\nmatch:\n  jobs: ["fast-*"]\ncanary:\n  bake: 1s\n');
    await daemon.process.waitForLine(/"policies reloaded"/);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/nomad_promoter_policy_reloads_total\{result="error"\} [1-9]/);
    await stableV0(h.sim, 'fast-app');
    await h.sim.register(webJob('fast-app', 'v1'));
    await eventually(async () => (await h.sim.latest('fast-app'))?.TaskGroups['web']!.Promoted, 'fast-app promoted under the reloaded policy');
    daemon.process.child.kill('SIGHUP');
    await daemon.process.waitForLine(/SIGHUP: reloading policies/);
    expect(await daemon.process.stop('SIGTERM')).toBe(0);
  });
});

describe('an empty policy set', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({});
  });
  afterAll(() => h.close());

  test('is accepted with a warning and nomad_promoter_policies 0; a policy added later sets it to 1', async () => {
    const daemon = await h.startDaemon();
    await daemon.process.waitForLine(/"level":"warn".*no policy loaded: every deployment is ignored/);
    const gauge = async () => /^nomad_promoter_policies (\d+)$/m.exec(await (await fetch(`${daemon.url}/metrics`)).text())?.[1];
    expect(await gauge()).toBe('0');
    await writeFile(join(h.policiesDir, 'web.yaml'), 'name: web-bake\nmatch:\n  jobs: ["web-*"]\n');
    await daemon.process.waitForLine(/"policies reloaded"/);
    await eventually(async () => (await gauge()) === '1', 'gauge counts the added policy');
    expect(await daemon.process.stop('SIGTERM')).toBe(0);
  });
});
