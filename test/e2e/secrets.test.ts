/**
 * Secrets never leave the process: the Nomad token and PROMOTER_VAR_* values stay out of logs,
 * metrics and the status API, even when a check that uses them fails and reports its error.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { eventually, stableV0, startHarness, webJob, type Harness } from './harness.js';

const TOKEN = '6f0c2a7e-4b1d-4e9a-9c3f-token-under-test';
const API_KEY = 'pv-api-key-9f8e7d6c5b4a';

const POLICY = `name: secret-probe
match:
  jobs: ["sec-*"]
checks:
  probe:
    scope: allocation
    http:
      url: "http://127.0.0.1:59999/health?key={{ env.PROMOTER_VAR_API_KEY }}"
      headers: { Authorization: "Bearer {{ env.PROMOTER_VAR_API_KEY }}" }
      timeout: 1s
    pass: "response.status == 200"
    interval: 1s
    count: 2
    consecutiveErrorLimit: 1
canary:
  analysis: [probe]
  bake: 0s
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ 'secret.yaml': POLICY });
  await h.sim.send('PUT', '/_sim/acl', { enabled: true, tokens: { [TOKEN]: ['management'] } });
  h.sim.token = TOKEN;
});
afterAll(() => h.close());

test('the token and PROMOTER_VAR_* values appear nowhere: logs, metrics, status, history', async () => {
  await stableV0(h.sim, 'sec-app');
  const daemon = await h.startDaemon([], { NOMAD_TOKEN: TOKEN, PROMOTER_VAR_API_KEY: API_KEY });
  await h.sim.register(webJob('sec-app', 'v1'));
  const d = await eventually(async () => {
    const x = await h.sim.latest('sec-app');
    return x?.JobVersion === 1 ? x : undefined;
  }, 'sec-app v1 deployment');
  const status = await eventually(async () => {
    const s = (await (await fetch(`${daemon.url}/v1/deployments/${d.ID}`)).json()) as { state: string };
    return s.state === 'holding' ? s : undefined;
  }, 'the probe errored and the deployment holds', 30_000);

  const texts = {
    logs: daemon.process.lines.join('\n') + daemon.process.stderr(),
    metrics: await (await fetch(`${daemon.url}/metrics`)).text(),
    list: await (await fetch(`${daemon.url}/v1/deployments`)).text(),
    detail: JSON.stringify(status),
  };
  for (const [where, text] of Object.entries(texts)) {
    expect({ where, token: text.includes(TOKEN), key: text.includes(API_KEY) }).toEqual({ where, token: false, key: false });
  }
  // The check that carries the secret ran and its errors were reported, not silenced.
  expect(texts.logs).toMatch(/"result":"error","message":"request failed: connect ECONNREFUSED 127\.0\.0\.1:59999".*"msg":"measurement"/);
  // The daemon did authenticate with the token: its reads went through with ACLs on.
  expect((await h.sim.requests()).some((r) => r.status === 403)).toBe(false);
}, 60_000);
