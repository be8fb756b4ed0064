/**
 * Notifications from the decision history, in process: the real snapshot store feeds the
 * notifier, which posts to local node:http receivers.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { pino } from 'pino';
import type { ServerResponse } from 'node:http';
import type { NotifyTarget, Policy } from '../../src/domain/policy.js';
import { MACHINE_VERSION, type DeploymentState, type StoredSnapshot } from '../../src/machine/machine.js';
import type { DecisionRecord } from '../../src/machine/types.js';
import { Notifier, type NotifierOptions } from '../../src/notify/notifier.js';
import { Recorder } from '../../src/server/metrics.js';
import { MemorySnapshotStore } from '../../src/store/memory.js';
import { ObservedStore } from '../../src/store/observed.js';
import { closedPort, startServer, type LocalServer, type RecordedRequest } from '../checks/local-server.js';
import { policy } from '../support/builders.js';
import { eventually } from '../support/eventually.js';

const ID = '5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f';

function webhook(url: string, overrides: Partial<NotifyTarget> = {}): NotifyTarget {
  return { kind: 'webhook', url, headers: {}, prefix: '', on: ['promoted', 'failed', 'rolled_back', 'timeout', 'human'], heldAfterMs: 300_000, timeoutMs: 5_000, ...overrides };
}

function entry(action: DecisionRecord['action'], reason: string, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return { at: Date.now(), action, groups: ['web'], outcome: 'ok', reason, evidence: [], ...overrides };
}

function snapshot(history: DecisionRecord[], value: DeploymentState = 'active'): StoredSnapshot {
  return {
    machineVersion: MACHINE_VERSION,
    value,
    context: {
      deploymentId: ID,
      namespace: 'default',
      job: 'web',
      jobVersion: 3,
      nomadStatus: 'running',
      groups: { web: { policy: 'web-canary', mode: 'enforce', canary: true, promoted: false, checks: {}, healthDecided: {}, state: 'baking' } },
      done: {},
      pending: [],
      history,
      pausedMs: 0,
      warnings: [],
      updatedAt: Date.now(),
    },
  };
}

interface Setup {
  notifier: Notifier;
  /** Puts the deployment's snapshot with this history through the store, as a reconcile does. */
  put(history: DecisionRecord[], value?: DeploymentState): Promise<void>;
  lines: string[];
  metrics(): Promise<string>;
  setPolicies(p: Policy[]): void;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

function setup(policies: Policy[], options: Partial<NotifierOptions> = {}): Setup {
  let current = policies;
  const lines: string[] = [];
  const recorder = new Recorder('test', { defaultMetrics: false });
  const notifier = new Notifier({
    policies: () => current,
    env: {},
    onResult: (target, result) => recorder.notification(target, result),
    logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    retry: { minTimeoutMs: 10, maxTimeoutMs: 20 },
    ...options,
  });
  open.push({ close: () => notifier.close(0) });
  const store = new ObservedStore(new MemorySnapshotStore(), (err) => {
    throw err;
  });
  store.subscribe(notifier.onChange);
  return {
    notifier,
    put: (history, value) => store.put(ID, snapshot(history, value)),
    lines,
    metrics: () => recorder.registry.metrics(),
    setPolicies: (p) => (current = p),
  };
}

async function receiver(handler: (req: RecordedRequest, res: ServerResponse, n: number) => void = (_r, res) => res.end()): Promise<LocalServer> {
  let n = 0;
  const server = await startServer((req, res) => handler(req, res, n++));
  open.push(server);
  return server;
}

const bodies = (s: LocalServer) => s.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
const events = (s: LocalServer) => bodies(s).map((b) => b.events);
const arrived = (s: LocalServer, count: number) => eventually(async () => s.requests.length >= count, `${count} notification(s) at the receiver`, 5_000, 10);

describe('webhook', () => {
  test('exactly one webhook per event listed in on, in order, however often the snapshot is written', async () => {
    const hook = await receiver();
    const { put } = setup([policy({ notify: [webhook(`${hook.url}/hook`, { on: ['promoted', 'rolled_back', 'human'] })] })]);
    const hold = entry('check', 'canary check errors pending -> inconclusive: no data');
    const promote = entry('promote', 'analysis passed and bake 1m elapsed', { outcome: 'pending', evidence: [{ check: 'errors', result: 'pass', value: 0.01, at: Date.now() }] });
    const health = entry('set_health', 'health checks passed');
    const pause = entry('pause', 'pause by alice', { source: 'human', who: 'alice' });
    const fail = entry('fail', 'web: check errors failed');
    const revert = entry('revert', 'rollback: auto: revert to the latest stable version');

    await put([hold, promote]);
    await put([hold, promote]);
    await put([hold, { ...promote, outcome: 'ok' }]);
    await put([hold, { ...promote, outcome: 'ok' }]);
    await put([hold, { ...promote, outcome: 'ok' }, health, pause]);
    await put([hold, { ...promote, outcome: 'ok' }, health, pause, fail, revert]);
    await put([hold, { ...promote, outcome: 'ok' }, health, pause, fail, revert]);
    await arrived(hook, 3);
    // A last one: anything sent twice before it would have reached the receiver first.
    const resume = entry('resume', 'resume by bob', { source: 'human', who: 'bob' });
    await put([hold, { ...promote, outcome: 'ok' }, health, pause, fail, revert, resume]);
    await arrived(hook, 4);

    expect(events(hook)).toEqual([['promoted'], ['human'], ['rolled_back'], ['human']]);
    expect(hook.requests.map((r) => [r.method, r.url, r.headers['content-type']])).toEqual(Array(4).fill(['POST', '/hook', 'application/json']));
    expect(bodies(hook)[0]).toEqual({
      event: 'promoted',
      events: ['promoted'],
      at: new Date(promote.at).toISOString(),
      deploymentId: ID,
      namespace: 'default',
      job: 'web',
      jobVersion: 3,
      groups: ['web'],
      policy: 'web-canary',
      action: 'promote',
      outcome: 'ok',
      source: 'policy',
      reason: 'analysis passed and bake 1m elapsed',
      evidence: [{ check: 'errors', result: 'pass', value: 0.01 }],
    });
    expect(bodies(hook)[1]).toMatchObject({ event: 'human', action: 'pause', source: 'human', who: 'alice' });
  });

  test('a target whose URL credentials do not decode fails alone: the other targets and entries are told', async () => {
    const hook = await receiver();
    const bad = 'http://user:p%zz-secret@127.0.0.1:9/';
    const { put, lines } = setup([policy({ notify: [webhook(bad), webhook(hook.url)] })]);
    await put([entry('promote', 'analysis passed'), entry('fail', 'web: check errors failed')]);
    await arrived(hook, 2);
    expect(events(hook)).toEqual([['promoted'], ['failed']]);
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'notification failed');
    expect(failed.map((l) => l.error)).toEqual([expect.stringMatching(/percent-encoding/), expect.stringMatching(/percent-encoding/)]);
    expect(lines.join('')).not.toContain('secret');
  });

  test('a fail at the canary timeout is told as failed and timeout, in one webhook', async () => {
    const hook = await receiver();
    const { put } = setup([policy({ notify: [webhook(hook.url, { on: ['timeout', 'failed'] })] })]);
    await put([entry('fail', 'web: canary timeout 10m expired: onTimeout fail')]);
    await arrived(hook, 1);
    expect(bodies(hook)[0]).toMatchObject({ event: 'timeout', events: ['timeout', 'failed'], action: 'fail' });
  });

  test('a receiver that answers 500 three times, then 200, gets the notification exactly once', async () => {
    const hook = await receiver((_req, res, n) => {
      res.statusCode = n < 3 ? 500 : 200;
      res.end();
    });
    const { put, metrics, lines } = setup([policy({ notify: [webhook(hook.url)] })]);
    const promote = entry('promote', 'analysis passed');
    await put([promote]);
    await eventually(async () => (await metrics()).includes('nomad_promoter_notifications_total{target="webhook",result="ok"} 1'), 'delivered', 5_000, 10);
    await put([promote, entry('revert', 'rollback')]);
    await arrived(hook, 5);
    expect(hook.requests.slice(0, 4).map((r) => r.body)).toEqual(Array(4).fill(hook.requests[0]!.body));
    expect(events(hook)).toEqual([['promoted'], ['promoted'], ['promoted'], ['promoted'], ['rolled_back']]);
    expect(await metrics()).toContain('nomad_promoter_notifications_total{target="webhook",result="error"} 0');
    expect(lines.join('')).not.toContain('notification failed');
  });

  test('a 4xx answer is final: given up at once, counted as error, said in the log', async () => {
    const hook = await receiver((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const { put, metrics, lines } = setup([policy({ notify: [webhook(hook.url)] })]);
    await put([entry('promote', 'analysis passed')]);
    await eventually(async () => (await metrics()).includes('nomad_promoter_notifications_total{target="webhook",result="error"} 1'), 'given up', 5_000, 10);
    expect(hook.requests).toHaveLength(1);
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'notification failed');
    expect(failed).toMatchObject({ deploymentId: ID, policy: 'web-canary', event: 'promoted', target: 'webhook', error: 'notification failed: the receiver answered 404' });
  });

  test('a request gets its own timeout: one that hangs is abandoned and sent again', async () => {
    let abandoned = false;
    const hook = await receiver((_req, res, n) => {
      if (n > 0) return void res.end();
      res.on('close', () => (abandoned = true));
    });
    const { put, metrics } = setup([policy({ notify: [webhook(hook.url, { timeoutMs: 200 })] })]);
    await put([entry('promote', 'analysis passed')]);
    await eventually(async () => (await metrics()).includes('nomad_promoter_notifications_total{target="webhook",result="ok"} 1'), 'delivered', 5_000, 10);
    expect(abandoned).toBe(true);
    expect(hook.requests).toHaveLength(2);
  });

  test('when the queue is full the oldest waiting notification is dropped, and counted', async () => {
    const held: ServerResponse[] = [];
    const hook = await receiver((_req, res) => void held.push(res));
    const { put, metrics, lines } = setup([policy({ notify: [webhook(hook.url, { on: ['human'] })] })], { capacity: 2 });
    const history: DecisionRecord[] = [];
    for (const n of [1, 2, 3, 4, 5]) {
      history.push(entry('pause', `pause ${n}`, { source: 'human', who: 'alice', at: n }));
      await put([...history]);
      // The first is in flight before the others queue behind it.
      if (n === 1) await arrived(hook, 1);
    }
    expect(await metrics()).toContain('nomad_promoter_notifications_total{target="webhook",result="dropped"} 2');
    const dropped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'notification dropped');
    expect(dropped.map((l) => l.why)).toEqual(['the queue is full', 'the queue is full']);
    // Answering each as it comes lets the rest through.
    const answer = () => held.splice(0).forEach((res) => res.end());
    answer();
    await eventually(async () => (answer(), hook.requests.length >= 3), 'the rest delivered', 5_000, 10);
    expect(bodies(hook).map((b) => b.reason)).toEqual(['pause 1', 'pause 4', 'pause 5']);
  });

  test('at close, what is still queued gets the grace, then is dropped and counted', async () => {
    const hook = await receiver(() => undefined);
    const { put, notifier, metrics } = setup([policy({ notify: [webhook(hook.url)] })]);
    await put([entry('promote', 'analysis passed'), entry('revert', 'rollback')]);
    await arrived(hook, 1);
    await notifier.close(50);
    expect(await metrics()).toContain('nomad_promoter_notifications_total{target="webhook",result="dropped"} 2');
  });

  test('targets come from the policy set in force: a reload changes where the next entry goes', async () => {
    const before = await receiver();
    const after = await receiver();
    const { put, setPolicies } = setup([policy({ notify: [webhook(before.url)] })]);
    const promote = entry('promote', 'analysis passed');
    await put([promote]);
    await arrived(before, 1);
    setPolicies([policy({ notify: [webhook(after.url)] })]);
    await put([promote, entry('revert', 'rollback')]);
    await arrived(after, 1);
    expect(events(before)).toEqual([['promoted']]);
    expect(events(after)).toEqual([['rolled_back']]);
  });
});

describe('held', () => {
  test('told once a hold has lasted heldAfter, never for a shorter one; a change between holding phases does not restart it', async () => {
    const hook = await receiver();
    const { put } = setup([policy({ notify: [webhook(hook.url, { on: ['held', 'promoted'], heldAfterMs: 300 })] })]);
    const history: DecisionRecord[] = [];
    const add = async (r: DecisionRecord) => {
      history.push(r);
      await put([...history]);
    };
    await add(entry('check', 'canary check errors pending -> inconclusive: no data'));
    await add(entry('check', 'canary check errors inconclusive -> passed'));
    const latency = entry('check', 'canary check latency pending -> errored: connection refused');
    await add(latency);
    await add(entry('check', 'canary check latency errored -> inconclusive: no data'));
    await arrived(hook, 1);
    // The short hold started first: had it been told, it would have been told first.
    const [told] = bodies(hook);
    expect(told).toMatchObject({ event: 'held', events: ['held'], action: 'check', reason: 'canary check latency pending -> errored: connection refused' });
    expect(told!.heldForMs).toBeGreaterThanOrEqual(300);
    await add(entry('promote', 'promote by alice', { source: 'human', who: 'alice' }));
    await arrived(hook, 2);
    expect(events(hook)).toEqual([['held'], ['promoted']]);
  });

  test('a hold that ends before heldAfter is never told', async () => {
    const hook = await receiver();
    const { put } = setup([policy({ notify: [webhook(hook.url, { on: ['held', 'rolled_back'], heldAfterMs: 200 })] })]);
    const enter = entry('check', 'canary check errors pending -> inconclusive: no data');
    const leave = entry('check', 'canary check errors inconclusive -> failed');
    await put([enter]);
    await put([enter, leave]);
    // A second hold, started later with the same heldAfter, is told after the first would have been.
    await put([enter, leave, entry('check', 'canary check latency pending -> errored: timeout')]);
    await arrived(hook, 1);
    expect(bodies(hook).map((b) => b.reason)).toEqual(['canary check latency pending -> errored: timeout']);
  });

  test('a hold is told to its targets as the policy in force when it is due has them: changed, or not at all once removed', async () => {
    const kept = await receiver();
    const removed = await receiver();
    const held = { on: ['held' as const, 'failed' as const], heldAfterMs: 200 };
    const { put, setPolicies } = setup([policy({ notify: [webhook(kept.url, held), webhook(removed.url, held)] })]);
    const hold = entry('check', 'canary check errors pending -> inconclusive: no data');
    await put([hold]);
    setPolicies([policy({ notify: [webhook(kept.url, { ...held, headers: { 'X-Reloaded': 'yes' } })] })]);
    await arrived(kept, 1);
    expect(kept.requests[0]!.headers['x-reloaded']).toBe('yes');
    // Back in the policy: what it gets next would come after a held sent on its timer.
    setPolicies([policy({ notify: [webhook(kept.url, held), webhook(removed.url, held)] })]);
    await put([hold, entry('fail', 'web: check errors failed')]);
    await arrived(removed, 1);
    expect(events(removed)).toEqual([['failed']]);
  });
});

describe('slack', () => {
  test('an incoming-webhook message: text for notifications, blocks for the channel, with the dashboard link', async () => {
    const hook = await receiver();
    const { put } = setup([policy({ notify: [{ ...webhook(hook.url, { on: ['failed', 'timeout'] }), kind: 'slack', prefix: '[{{ namespace }}/{{ job }}]' }] })], {
      externalUrl: new URL('https://promoter.example.com/ops'),
    });
    const fail = entry('fail', 'web: canary timeout 10m expired: onTimeout fail (p99 <250ms & errors)', {
      evidence: [
        { check: 'errors', result: 'pass', value: 0.002, at: Date.now() },
        { check: 'latency', result: 'inconclusive', at: Date.now() },
      ],
    });
    await put([fail]);
    await arrived(hook, 1);
    expect(bodies(hook)[0]).toEqual({
      text: '[default/web] Timed out: default/web v3: web: canary timeout 10m expired: onTimeout fail (p99 &lt;250ms &amp; errors)',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '[default/web] *Timed out*: `default/web v3`' } },
        { type: 'section', text: { type: 'mrkdwn', text: 'web: canary timeout 10m expired: onTimeout fail (p99 &lt;250ms &amp; errors)' } },
        { type: 'section', text: { type: 'mrkdwn', text: 'Evidence: errors: pass (0.002), latency: inconclusive' } },
        {
          type: 'context',
          elements: [
            { type: 'mrkdwn', text: 'groups web' },
            { type: 'mrkdwn', text: 'policy web-canary' },
            { type: 'mrkdwn', text: 'deployment 5f3c2a1e' },
            { type: 'mrkdwn', text: `<https://promoter.example.com/ops/#/deployments/${ID}|open in the dashboard>` },
          ],
        },
      ],
    });
  });

  test('text from a deployment cannot ping the channel, and a secret at the cut is hidden whole', async () => {
    const SECRET = 'slack-cut-4Kp9-secret';
    const hook = await receiver();
    const { put } = setup([policy({ notify: [{ ...webhook(hook.url, { on: ['failed'] }), kind: 'slack', prefix: '' }] })], { secrets: [SECRET] });
    // The secret straddles the 2900 characters Slack's text is cut to.
    const lead = 'Failed: default/web v3: ';
    const reason = `<!channel> ${'x'.repeat(2890 - lead.length - '&lt;!channel&gt; '.length)}${SECRET}`;
    await put([entry('fail', reason)]);
    await arrived(hook, 1);
    const body = bodies(hook)[0] as { text: string; blocks: { text?: { text: string } }[] };
    const texts = [body.text, ...body.blocks.flatMap((b) => (b.text ? [b.text.text] : []))];
    for (const t of texts) {
      expect(t).not.toContain('<!channel>');
      expect(t).not.toContain(SECRET.slice(0, 8));
      expect(t.length).toBeLessThanOrEqual(2900);
    }
    expect(body.text).toMatch(/^Failed: default\/web v3: &lt;!channel&gt; x+\[redacted\]$/);
  });
});

describe('secrets', () => {
  test('no PROMOTER_VAR_* value, URL credential or token in any delivered body, log line or metric', async () => {
    const CHECK_TOKEN = 'chk-7Hq2-token';
    const HOOK_TOKEN = 'hook-9Zr4-token';
    const HOOK_PASS = 'hook-pass-3Wx';
    const QUERY_KEY = 'qk-5Tn8';
    const DASH_PASS = 'dash-pass-6Yv';
    const NOMAD_TOKEN = 'nomad-1Ab2-token';
    const secrets = [CHECK_TOKEN, HOOK_TOKEN, HOOK_PASS, QUERY_KEY, DASH_PASS, NOMAD_TOKEN, Buffer.from(`ops:${HOOK_PASS}`).toString('base64')];
    const hook = await receiver();
    const slack = await receiver();
    const down = await closedPort();
    const { put, lines, metrics } = setup(
      [
        policy({
          notify: [
            webhook(`http://ops:${HOOK_PASS}@127.0.0.1:${hook.port}/hook?key=${QUERY_KEY}`, { headers: { Authorization: 'Bearer {{ env.PROMOTER_VAR_HOOK_TOKEN }}' } }),
            { ...webhook('{{ env.PROMOTER_VAR_SLACK_URL }}'), kind: 'slack', prefix: '' },
            webhook(`http://ops:${HOOK_PASS}@127.0.0.1:${down}/hook?key=${QUERY_KEY}`, { headers: { 'X-Token': '{{ env.PROMOTER_VAR_HOOK_TOKEN }}' } }),
          ],
        }),
      ],
      {
        env: { PROMOTER_VAR_CHECK_TOKEN: CHECK_TOKEN, PROMOTER_VAR_HOOK_TOKEN: HOOK_TOKEN, PROMOTER_VAR_SLACK_URL: `${slack.url}/services/T0/B0` },
        secrets: [NOMAD_TOKEN],
        externalUrl: new URL(`https://admin:${DASH_PASS}@promoter.example.com/`),
        retry: { retries: 1, minTimeoutMs: 10, maxTimeoutMs: 20 },
      },
    );
    // A check whose header carried a PROMOTER_VAR_* value, against a server that echoed it.
    const measured = { check: 'api', result: 'error' as const, at: Date.now(), message: `401: bad token Bearer ${CHECK_TOKEN}` };
    await put([
      entry('fail', `web: check api errored: 401: bad token Bearer ${CHECK_TOKEN} (hook ${HOOK_PASS}, key ${QUERY_KEY}, dash ${DASH_PASS}, nomad ${NOMAD_TOKEN})`, {
        message: `Nomad said: token ${NOMAD_TOKEN} and ${HOOK_TOKEN}`,
        evidence: [measured],
      }),
    ]);
    await arrived(hook, 1);
    await arrived(slack, 1);
    await eventually(async () => (await metrics()).includes('nomad_promoter_notifications_total{target="webhook",result="error"} 1'), 'the unreachable target given up', 5_000, 10);

    // What the targets were meant to get, they got: the credentials as headers, never in the body.
    expect(hook.requests[0]!.headers.authorization).toBe(`Bearer ${HOOK_TOKEN}`);
    expect(hook.requests[0]!.url).toBe(`/hook?key=${QUERY_KEY}`);
    const delivered = [...hook.requests, ...slack.requests].map((r) => r.body);
    expect(bodies(hook)[0]).toMatchObject({ url: `https://promoter.example.com/#/deployments/${ID}`, reason: expect.stringContaining('[redacted]') });
    const everything = [...delivered, ...lines, await metrics()].join('\n');
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'notification failed');
    expect(failed?.error).toBe(`notification failed: connect ECONNREFUSED 127.0.0.1:${down}`);
    for (const s of secrets) expect(everything).not.toContain(s);
  });
});
