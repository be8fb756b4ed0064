/**
 * People in the loop, end to end: simulator and daemon as separate processes, decisions sent
 * through the CLI and the action API. Each job's check asks a local verdict server at
 * /<job>, so a test decides when its check is inconclusive (202) or passes (200).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment } from '../../src/domain/nomad.js';
import { startServer, type LocalServer } from '../checks/local-server.js';
import { startProcess } from '../support/processes.js';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

const TOKEN = 'people-loop-api-token-0123456789';
const verdicts = new Map<string, number>();

const heldPolicy = (url: string) => `name: held
match:
  jobs: ["p-*"]
checks:
  verdict:
    http:
      url: "${url}/{{ job }}"
      timeout: 2s
    pass: "response.status == 200"
    fail: "response.status == 500"
    interval: 1s
    count: 2
canary:
  analysis: [verdict]
  bake: 1s
onFailure:
  rollback: revert
`;

const BAKE_POLICY = `name: long-bake
match:
  jobs: ["b-*"]
canary:
  bake: 1h
onFailure:
  rollback: revert
`;

let h: Harness;
let verdict: LocalServer;
let daemonUrl: string;
let tokenlessUrl: string;
let otherDir: string;

beforeAll(async () => {
  verdict = await startServer((req, res) => {
    res.writeHead(verdicts.get(req.url.slice(1)) ?? 202);
    res.end();
  });
  h = await startHarness({ 'held.yaml': heldPolicy(verdict.url), 'bake.yaml': BAKE_POLICY });
  daemonUrl = (await h.startDaemon([], { PROMOTER_API_TOKEN: TOKEN })).url;
  // A second daemon without a token, governing nothing, for the secure default.
  otherDir = await mkdtemp(join(tmpdir(), 'promoter-people-'));
  await writeFile(join(otherDir, 'none.yaml'), 'name: none\nmatch:\n  jobs: ["nothing-*"]\n');
  tokenlessUrl = (await h.startDaemon(['--policies', otherDir])).url;
}, 60_000);

afterAll(async () => {
  await h?.close();
  await verdict?.close();
  if (otherDir) await rm(otherDir, { recursive: true, force: true });
});

interface Detail {
  state: string;
  status: string;
  pending: { action: string; reason: string }[];
  groups: Record<string, { promoted: boolean; checks: { check: string; state: string; measurements: number }[] }>;
  history: { action: string; outcome: string; reason: string; source: string; who?: string }[];
}

const detail = async (id: string): Promise<Detail> => (await fetch(`${daemonUrl}/v1/deployments/${id}`)).json() as Promise<Detail>;

async function act(id: string, action: string, body: object = {}, token: string | undefined = TOKEN, url = daemonUrl) {
  const res = await fetch(`${url}/v1/deployments/${id}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = startProcess(args, { PROMOTER_DAEMON: daemonUrl, PROMOTER_API_TOKEN: TOKEN, ...env });
  return p.exited.then((code) => ({ code, out: p.lines.join('\n'), err: p.stderr() }));
}

async function v1(job: string): Promise<Deployment> {
  return eventually(async () => {
    const d = await h.sim.latest(job);
    return d && d.JobVersion === 1 ? d : undefined;
  }, `${job} v1 deployment`);
}

async function inState(id: string, ...states: string[]): Promise<Detail> {
  return eventually(async () => {
    const d = await detail(id);
    return states.includes(d.state) ? d : undefined;
  }, `${id} ${states.join(' or ')}`, 30_000);
}

/** Promoted canaries with healthy allocations: Nomad may finish the deployment right away. */
const PROMOTED = ['promoted', 'succeeded', 'done'];

async function heldDeployment(job: string): Promise<Deployment> {
  await stableV0(h.sim, job);
  await h.sim.register(webJob(job, 'v1'));
  const d = await v1(job);
  await inState(d.ID, 'holding');
  return d;
}

const promoteWrites = async (id: string) => (await h.sim.writesTo(id)).filter((w) => w.route === '/v1/deployment/promote/:id');

describe('people in the loop', () => {
  test('the action API is closed without a configured token (403) and refuses a missing or wrong one (401)', async () => {
    expect((await act('0123456789abcdef', 'promote', {}, TOKEN, tokenlessUrl)).status).toBe(403);
    expect((await act('0123456789abcdef', 'promote', {}, '')).status).toBe(401);
    const wrong = await act('0123456789abcdef', 'promote', {}, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(TOKEN);
    expect((await act('0123456789abcdef', 'promote')).status).toBe(404);
    expect((await act('0123456789abcdef', 'promote', { group: 7 })).body.error).toMatch(/"group" must be a string/);
    expect((await fetch(`${daemonUrl}/v1/deployments/x/promote`)).status).toBe(405);
    const withCredentials = await cli(['status'], { PROMOTER_DAEMON: daemonUrl.replace('http://', 'http://bob:hunter22@') });
    expect(withCredentials.code).toBe(1);
    expect(withCredentials.err).toMatch(/credentials in the URL are not used/);
    expect(withCredentials.err).not.toContain('hunter22');
  });

  test('abort from the CLI mid-bake: the deployment fails and is rolled back once, recorded as human', async () => {
    await stableV0(h.sim, 'b-web');
    await h.sim.register(webJob('b-web', 'v1'));
    const d = await v1('b-web');
    await inState(d.ID, 'baking');
    const r = await cli(['abort', d.ID.slice(0, 8), '--reason', 'latency looks wrong', '--who', 'alice']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^abort web: ok: latency looks wrong \[by alice\]/);
    expect((await h.sim.latest('b-web'))?.JobVersion).toBe(2);
    const job = await h.sim.get<{ Version: number; Meta: Record<string, string> }>('/v1/job/b-web');
    expect(job).toMatchObject({ Version: 2, Meta: { release: 'v0' } });
    expect((await h.sim.writesTo(d.ID)).map((w) => w.route)).toEqual(['/v1/deployment/fail/:id']);
    expect((await h.sim.requests()).filter((q) => q.route === '/v1/job/:id/revert' && q.path.includes('b-web'))).toHaveLength(1);
    const s = await detail(d.ID);
    expect(s.history.map((x) => [x.action, x.outcome, x.source, x.who])).toEqual([['abort', 'ok', 'human', 'alice'], ['revert', 'ok', 'human', 'alice']]);
    const metrics = await (await fetch(`${daemonUrl}/metrics`)).text();
    expect(metrics).toContain('nomad_promoter_decisions_total{nomad_namespace="default",nomad_job="b-web",task_group="web",action="abort",outcome="ok",source="human"} 1');
    // Nothing more to abort.
    expect((await cli(['abort', d.ID])).code).toBe(1);
  }, 60_000);

  test('promote during an inconclusive hold: promoted once, recorded as human with who and why', async () => {
    const d = await heldDeployment('p-hold');
    const held = await detail(d.ID);
    expect(held.pending[0]!.reason).toMatch(/holding: verdict inconclusive/);
    expect(held.pending[0]).toMatchObject({ causes: [{ group: 'web', check: 'verdict', state: 'inconclusive', lastResult: 'inconclusive' }] });
    const holdLine = JSON.parse(await h.daemons[0]!.waitForLine(/^(?=.*"msg":"check phase changed")(?=.*"job":"p-hold")/)) as unknown;
    expect(holdLine).toMatchObject({ deploymentId: d.ID, group: 'web', stage: 'canary', check: 'verdict', phase: 'inconclusive', lastResult: 'inconclusive' });
    // explain reads the daemon's own state for a tracked deployment, by an 8-character prefix.
    const explained = await cli(['explain', d.ID.slice(0, 8)]);
    expect(explained.code).toBe(0);
    expect(explained.out).toContain(`From the running daemon at ${daemonUrl}, which tracks this deployment:`);
    expect(explained.out).toContain(`Deployment ${d.ID} (namespace default, job p-hold version 1): running in Nomad, state ${held.state}`);
    expect(explained.out).toMatch(/check canary:verdict: inconclusive/);
    const r = await act(d.ID, 'promote', { reason: 'verified by hand', who: 'bob' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ action: 'promote', groups: ['web'], outcome: 'ok', reason: 'verified by hand', source: 'human', who: 'bob' });
    await inState(d.ID, ...PROMOTED);
    expect(await promoteWrites(d.ID)).toHaveLength(1);
    // The check entering its hold is in the history as the policy's, then the person's promote.
    expect((await detail(d.ID)).history.map((x) => [x.action, x.outcome, x.source])).toEqual([['check', 'ok', 'policy'], ['promote', 'ok', 'human']]);
    const table = await cli(['status']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(new RegExp(`^${d.ID.slice(0, 8)}\\s+p-hold\\s+web\\s+(promoted|succeeded|done)\\s+verdict=inconclusive`, 'm'));
    const one = await cli(['status', d.ID.slice(0, 8)]);
    expect(one.out).toMatch(/promote web: ok: verified by hand {2}\[human bob\]/);
    const watch = startProcess(['status', '--watch'], { PROMOTER_DAEMON: daemonUrl });
    try {
      await watch.waitForLine(new RegExp(`^${d.ID.slice(0, 8)}\\s+p-hold\\s+web\\s`));
    } finally {
      await watch.stop();
    }
    const again = await act(d.ID, 'promote');
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/^promote does not apply: (no canary group left to promote|the deployment is finished)/);
  }, 60_000);

  test('retry restarts a held check: once the evidence is good, the policy promotes', async () => {
    const d = await heldDeployment('p-retry');
    verdicts.set('p-retry', 200);
    const r = await cli(['retry', d.ID, '--reason', 'fixed the probe']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^retry web: ok: fixed the probe \(restarted: web\/canary:verdict\)/);
    await inState(d.ID, ...PROMOTED);
    const s = await detail(d.ID);
    expect(s.history.map((x) => [x.action, x.outcome, x.source])).toEqual([['check', 'ok', 'policy'], ['retry', 'ok', 'human'], ['promote', 'ok', 'policy']]);
    expect(s.groups['web']!.checks).toEqual([expect.objectContaining({ check: 'verdict', state: 'passed', measurements: 2 })]);
  }, 60_000);

  test('pause stops decisions in Nomad and in the promoter; resume continues', async () => {
    const d = await heldDeployment('p-pause');
    expect((await act(d.ID, 'resume')).status).toBe(409);
    expect((await act(d.ID, 'pause', { reason: 'change freeze' })).status).toBe(202);
    await eventually(async () => (await h.sim.latest('p-pause'))?.Status === 'paused', 'paused in Nomad');
    await eventually(async () => (await detail(d.ID)).pending[0]?.reason === 'deployment is paused in Nomad', 'the promoter sees the pause');
    const promote = await act(d.ID, 'promote');
    expect(promote.status).toBe(409);
    expect(promote.body.error).toMatch(/paused/);
    expect((await act(d.ID, 'pause')).status).toBe(409);
    // The check passes now, but while paused nothing is decided.
    verdicts.set('p-pause', 200);
    expect((await act(d.ID, 'retry')).status).toBe(202);
    const passed = await eventually(async () => {
      const x = await detail(d.ID);
      return x.groups['web']!.checks[0]?.state === 'passed' ? x : undefined;
    }, 'the check passed while paused');
    expect(passed.state).toBe('holding');
    expect(await promoteWrites(d.ID)).toEqual([]);
    expect((await act(d.ID, 'resume', { reason: 'freeze over' })).status).toBe(202);
    await inState(d.ID, ...PROMOTED);
    const s = await detail(d.ID);
    expect(s.history.map((x) => [x.action, x.source])).toEqual([['check', 'policy'], ['pause', 'human'], ['retry', 'human'], ['resume', 'human'], ['promote', 'policy']]);
    expect(await promoteWrites(d.ID)).toHaveLength(1);
  }, 60_000);
});
