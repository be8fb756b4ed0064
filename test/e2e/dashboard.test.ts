/**
 * The dashboard in a real browser (Debian's chromium through playwright-core), against the
 * daemon and the simulator as separate processes, with the demo's policy and jobs: the page
 * follows the stream without a reload, and its abort acts once, with the token only.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEMO_POLICY, demoJob } from '../../src/app/demo.js';
import { eventually, startHarness, type Harness } from './harness.js';

const TOKEN = 'dashboard-e2e-api-token-0123456789';
/** A job whose canaries bake for an hour: still baking when the test aborts it. */
const SLOW_POLICY = 'name: slow\nmatch:\n  jobs: ["slow-*"]\ncanary:\n  bake: 1h\nonFailure:\n  rollback: auto\n';

let h: Harness;
let browser: Browser;
let daemonUrl: string;
let readOnlyUrl: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  h = await startHarness({ 'demo.yaml': DEMO_POLICY, 'slow.yaml': SLOW_POLICY });
  for (const id of ['web-good', 'web-bad', 'slow-web']) await h.sim.register(demoJob(id, 'v1', true));
  await eventually(async () => {
    const all = await Promise.all(['web-good', 'web-bad', 'slow-web'].map((id) => h.sim.latest(id)));
    return all.every((d) => d?.Status === 'successful');
  }, 'version 0 of every job successful');
  daemonUrl = (await h.startDaemon([], { PROMOTER_API_TOKEN: TOKEN })).url;
  // A second daemon without a token, in dry-run: it shows the same deployments and writes nothing.
  readOnlyUrl = (await h.startDaemon(['--dry-run'])).url;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function open(url: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  // A CSP violation or a script error shows up here; the refusals the test provokes do not count.
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()));
  await page.goto(`${url}/`);
  await page.waitForSelector('[data-live="up"]');
  return page;
}

const card = (job: string) => `li.card[data-job="${job}"][data-version="1"]`;
const groupState = (job: string, state: string) => `${card(job)} .group-line [data-state="${state}"]`;

test('live: the good canary is seen baking then promoted; the bad one shows its failed check and the value measured; an overriding promote and an abort ask first; abort with the token fails and rolls back once; without a token, no buttons and 403', async () => {
  const page = await open(daemonUrl);
  const loads: string[] = [];
  page.on('load', () => loads.push(page.url()));

  await h.sim.register(demoJob('web-good', 'v2', true));
  await h.sim.register(demoJob('web-bad', 'v2', false));
  await h.sim.register(demoJob('slow-web', 'v2', true));

  await page.waitForSelector(groupState('web-good', 'baking'), { timeout: 30_000 });
  expect(await page.textContent(`${card('web-good')} .deadline`)).toMatch(/^bake ends in \d+s$/);
  await page.waitForSelector(`${card('web-good')} .group-line :is([data-state="promoted"], [data-state="rollout"], [data-state="succeeded"])`, { timeout: 30_000 });
  expect((await h.sim.latest('web-good'))?.TaskGroups['web']?.Promoted).toBe(true);

  const failedCheck = `${card('web-bad')} li[data-check="healthz"][data-phase="failed"]`;
  await page.waitForSelector(failedCheck, { timeout: 30_000 });
  expect(await page.textContent(`${failedCheck} .check-value`)).toBe('503');

  // Abort the baking slow-web from its detail view, with the token entered once.
  await page.waitForSelector(groupState('slow-web', 'baking'), { timeout: 30_000 });
  const slow = (await h.sim.latest('slow-web'))!;
  expect(slow.JobVersion).toBe(1);
  await page.click('[data-token-open]');
  await page.fill('input[name="token"]', TOKEN);
  await page.fill('input[name="who"]', 'Zoë 李');
  await page.press('input[name="token"]', 'Enter');
  expect(await page.content()).not.toContain(TOKEN);
  await page.click(`${card('slow-web')} a.card-head`);
  await page.waitForSelector(`article.detail[data-deployment="${slow.ID}"] [data-action="abort"]`);
  // A promote while baking overrides the analysis: it asks first, and Cancel sends nothing.
  await page.click('[data-action="promote"]');
  expect(await page.textContent('.confirm p')).toBe('Promote slow-web v1 now? The policy does not promote it yet: this overrides the analysis.');
  await page.click('.confirm button:not([data-confirm])');
  await page.waitForSelector('.confirm', { state: 'detached' });
  await page.click('[data-action="abort"]');
  // Nothing is sent before the confirmation.
  await page.waitForSelector('[data-confirm="abort"]');
  expect(await h.sim.writesTo(slow.ID)).toEqual([]);
  await page.click('[data-confirm="abort"]');
  expect(await page.textContent('.actions [role="status"]', { timeout: 10_000 })).toBe('abort: accepted');
  await page.waitForSelector(`article.detail[data-deployment="${slow.ID}"] .detail-head [data-state="failed"]`, { timeout: 30_000 });
  // The abort is kept under the name given beside the token.
  expect(await page.textContent('.timeline li.source-human[data-action="abort"] .source')).toBe('human (Zoë 李)');
  const rolledBack = await eventually(async () => {
    const d = await h.sim.latest('slow-web');
    return d && d.JobVersion === 2 && d.Status === 'successful' ? d : undefined;
  }, 'slow-web rolled back to the spec of version 0');
  expect(rolledBack.ID).not.toBe(slow.ID);
  const fails = (await h.sim.writesTo(slow.ID)).filter((r) => r.path === `/v1/deployment/fail/${slow.ID}`);
  expect(fails).toHaveLength(1);
  expect((await h.sim.state()).deployments.filter((d) => d.JobID === 'slow-web' && d.JobVersion >= 2).map((d) => d.JobVersion)).toEqual([2]);

  // An action the daemon refuses is shown as it words it.
  await page.click('[data-action="resume"]');
  expect(await page.textContent('.actions [role="status"]', { timeout: 10_000 })).toMatch(/^resume refused: 409: resume does not apply: /);

  expect(loads).toEqual([]);

  // A malformed link shows the overview rather than a blank page.
  await page.goto(`${daemonUrl}/#/deployments/%zz`);
  await page.waitForSelector(card('web-good'));

  // Read-only: no token in this browser, a daemon without one.
  const reader = await open(readOnlyUrl);
  await reader.waitForSelector(card('web-good'));
  await reader.goto(`${readOnlyUrl}/#/deployments/${slow.ID}`);
  await reader.waitForSelector(`article.detail[data-deployment="${slow.ID}"] .explain`);
  expect(await reader.$$('[data-action]:is(button)')).toHaveLength(0);
  expect(await reader.$$('.actions')).toHaveLength(0);
  const answer = await reader.evaluate(async (id) => {
    const res = await fetch(`v1/deployments/${id}/promote`, { method: 'POST' });
    return { status: res.status, body: await res.text() };
  }, slow.ID);
  expect(answer).toEqual({ status: 403, body: JSON.stringify({ error: 'actions are disabled: the daemon has no PROMOTER_API_TOKEN' }) });

  expect(pageErrors).toEqual([]);
}, 60_000);
