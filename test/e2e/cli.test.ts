/**
 * The command line as users meet it: exit codes, validate, explain, hot reload of policies.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startProcess } from '../support/processes.js';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = startProcess(args, env);
  const code = await p.exited;
  return { code, out: p.lines.join('\n'), err: p.stderr() };
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
    const ok = await run(['validate', 'policies']);
    expect(ok.code).toBe(0);
    const bad = await run(['validate', 'test/fixtures/policies/broken/bad-check-name.yaml', 'test/fixtures/policies/broken/bad-duration.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^test\/fixtures\/policies\/broken\/bad-check-name\.yaml:3:3: /m);
    expect(bad.out).toMatch(/^test\/fixtures\/policies\/broken\/bad-duration\.yaml:\d+:\d+: /m);
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
    await stableV0(h.sim, 'web-explain');
    await h.sim.register(webJob('web-explain', 'v1'));
    const d = await eventually(async () => {
      const x = await h.sim.latest('web-explain');
      return x?.JobVersion === 1 && x.TaskGroups['web']!.HealthyAllocs === 2 ? x : undefined;
    }, 'canaries healthy');
    const r = await run(['explain', d.ID.slice(0, 8), '--policies', h.policiesDir], { NOMAD_ADDR: h.sim.url, PROMOTER_DAEMON: 'http://127.0.0.1:9' });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Note: the daemon at http:\/\/127\.0\.0\.1:9 does not show this deployment \(cannot reach the daemon .*\): a fresh evaluation of its own follows\./);
    expect(r.out).toContain(`policies read from ${h.policiesDir}; state after this evaluation: baking`);
    expect(r.out).toContain(`Deployment ${d.ID} (namespace default, job web-explain version 1): running`);
    expect(r.out).toContain('group web: policy web-bake (enforce)');
    expect(r.out).toContain('canaries: 2/2 healthy');
    expect(r.out).toMatch(/would wait \(web\): baking until /);
    expect(await h.sim.writesTo(d.ID)).toEqual([]);
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
