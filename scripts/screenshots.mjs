// Takes the README's dashboard screenshots (docs/images/) with Debian's chromium, against
// `nomad-promoter demo --keep-running`. Run after `npm run build`: node scripts/screenshots.mjs
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

// A token for this run only, so the detail view shows the action buttons.
const token = randomBytes(16).toString('hex');
const demo = spawn('bin/nomad-promoter', ['demo', '--keep-running', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PROMOTER_API_TOKEN: token } });
const url = await new Promise((resolve, reject) => {
  createInterface({ input: demo.stdout }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    const m = /dashboard at (http:\/\/\S+?)\/,/.exec(line);
    if (m) resolve(m[1]);
  });
  demo.once('exit', (code) => reject(new Error(`demo exited (${code}) before printing the dashboard's URL`)));
});

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 }, deviceScaleFactor: 1, colorScheme: 'light' });
  await page.goto(`${url}/`);
  // The moment both stories show: web-bad's check failed while web-good's canaries bake.
  const card = (job) => `li.card[data-job="${job}"][data-version="1"]`;
  await page.waitForSelector(`${card('web-bad')} [data-check="healthz"][data-phase="failed"]`, { timeout: 60_000 });
  await page.waitForSelector(`${card('web-good')} .group-line [data-state="baking"]`, { timeout: 60_000 });
  await page.screenshot({ path: 'docs/images/dashboard-overview.png', fullPage: true });
  const phone = await browser.newPage({ viewport: { width: 390, height: 760 }, deviceScaleFactor: 1, colorScheme: 'light' });
  await phone.goto(`${url}/`);
  await phone.waitForSelector(`${card('web-bad')} [data-check="healthz"][data-phase="failed"]`);
  await phone.screenshot({ path: 'docs/images/dashboard-phone.png' });

  await page.waitForSelector(`${card('web-good')} .group-line :is([data-state="promoted"], [data-state="rollout"], [data-state="succeeded"])`, { timeout: 60_000 });
  await page.click('[data-token-open]');
  await page.fill('input[name="token"]', token);
  await page.press('input[name="token"]', 'Enter');
  await page.click(`${card('web-good')} a.card-head`);
  await page.waitForSelector('.timeline li[data-action="promote"]');
  await page.waitForSelector('svg.chart circle');
  await page.screenshot({ path: 'docs/images/dashboard-detail.png', fullPage: true });
  console.log('wrote docs/images/dashboard-overview.png, dashboard-phone.png, dashboard-detail.png');
} finally {
  await browser.close();
  demo.kill('SIGTERM');
  await once(demo, 'exit');
}
