/**
 * The Prometheus provider against a real Prometheus (Debian `prometheus` package), plus small
 * local servers for what a real Prometheus cannot show (a hanging server, a proxy's page).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Observation } from '../../src/domain/analysis.js';
import type { PrometheusSource } from '../../src/domain/policy.js';
import { interpret, MAX_GET_QUERY_LENGTH, prometheusProvider } from '../../src/checks/prometheus.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { toMeasurement } from '../../src/analysis/measure.js';
import { celFor } from '../support/cel.js';
import { closedPort, startServer, type LocalServer } from './local-server.js';

const EXPORTED = [
  '# TYPE demo_requests_total counter',
  'demo_requests_total{alloc_id="a1",code="200"} 10',
  'demo_requests_total{alloc_id="a2",code="200"} 20',
  'demo_requests_total{alloc_id="a3",code="500"} 30',
  '',
].join('\n');

let prom: RunningPrometheus;
let exporter: LocalServer;
let remoteRead: LocalServer;
let sdDir: string;

beforeAll(async () => {
  exporter = await startServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(EXPORTED);
  });
  // A remote_read endpoint that always fails: Prometheus reports that as a warning, not an error.
  remoteRead = await startServer((_req, res) => {
    res.statusCode = 500;
    res.end('remote storage down');
  });
  sdDir = await mkdtemp(join(tmpdir(), 'prom-sd-'));
  const fileSdPath = join(sdDir, 'targets.json');
  await writeFile(fileSdPath, JSON.stringify([{ targets: [`127.0.0.1:${exporter.port}`], labels: { source: 'file' } }]));
  prom = await startPrometheus({
    scrapeTargets: [`127.0.0.1:${exporter.port}`],
    fileSdPath,
    remoteReadUrls: [`${remoteRead.url}/read`],
    scrapeIntervalSeconds: 1,
  });
}, 30_000);

afterAll(async () => {
  await prom?.stop();
  await exporter?.close();
  await remoteRead?.close();
  if (sdDir) await rm(sdDir, { recursive: true, force: true });
});

const provider = prometheusProvider();
const observe = (query: string, timeoutMs = 5000, address = prom.url): Promise<Observation> =>
  provider.observe({ kind: 'prometheus', address, query, timeoutMs }, {});

function data(o: Observation): Extract<Observation, { kind: 'data' }> {
  if (o.kind !== 'data') throw new Error(`expected data, got error: ${o.message}`);
  return o;
}

const twoSeries = 'label_replace(vector(1), "k", "a", "", "") or label_replace(vector(2), "k", "b", "", "")';

describe('answers of a real Prometheus', () => {
  test.each([
    { name: 'scalar literal', query: '0.5', value: 0.5, results: [{ labels: {}, value: 0.5 }] },
    { name: 'scalar()', query: 'scalar(vector(0.5))', value: 0.5, results: [{ labels: {}, value: 0.5 }] },
    { name: 'one series', query: 'vector(1)', value: 1, results: [{ labels: {}, value: 1 }] },
    { name: '+Inf', query: '+Inf', value: Number.POSITIVE_INFINITY, results: [{ labels: {}, value: Number.POSITIVE_INFINITY }] },
    { name: '-Inf', query: '-Inf', value: Number.NEGATIVE_INFINITY, results: [{ labels: {}, value: Number.NEGATIVE_INFINITY }] },
    { name: 'one series at +Inf', query: 'vector(1) / 0', value: Number.POSITIVE_INFINITY, results: [{ labels: {}, value: Number.POSITIVE_INFINITY }] },
  ])('$name -> result is the number', async ({ query, value, results }) => {
    const o = data(await observe(query));
    expect(o.noData).toBe(false);
    expect(o.value).toBe(value);
    expect(o.variables.result).toBe(value);
    expect(o.variables.results).toEqual(results);
  });

  test('several series -> results with labels, and no `result`', async () => {
    const o = data(await observe(twoSeries));
    expect(o.noData).toBe(false);
    expect(o.value).toBeUndefined();
    expect(o.variables).not.toHaveProperty('result');
    expect(o.variables.results).toEqual(
      expect.arrayContaining([
        { labels: { k: 'a' }, value: 1 },
        { labels: { k: 'b' }, value: 2 },
      ]),
    );
    expect(o.variables.results).toHaveLength(2);
  });

  test('several scraped series keep their labels (static and file_sd targets)', async () => {
    // Prometheus applies discovered targets a few seconds after start; poll rather than sleep.
    const query = 'demo_requests_total{job="test"}';
    let o: Observation = await observe(query);
    for (let i = 0; i < 150 && o.kind === 'data' && o.noData; i++) {
      await new Promise((r) => setTimeout(r, 100));
      o = await observe(query);
    }
    const results = data(o).variables.results as { labels: Record<string, string>; value: number }[];
    expect(results.map((r) => [r.labels.alloc_id, r.labels.code, r.value]).sort()).toEqual([
      ['a1', '200', 10],
      ['a2', '200', 20],
      ['a3', '500', 30],
    ]);
    expect(results[0]?.labels.job).toBe('test');

    let fromFile: Observation = await observe('demo_requests_total{job="file-sd"}');
    for (let i = 0; i < 50 && fromFile.kind === 'data' && fromFile.noData; i++) {
      await new Promise((r) => setTimeout(r, 100));
      fromFile = await observe('demo_requests_total{job="file-sd"}');
    }
    const fileResults = data(fromFile).variables.results as { labels: Record<string, string> }[];
    expect(fileResults).toHaveLength(3);
    expect(fileResults.every((r) => r.labels.source === 'file')).toBe(true);
  });

  test.each([
    { name: 'a metric that does not exist', query: 'nonexistent_metric_total' },
    { name: 'absent() of a present metric', query: 'absent(vector(1))' },
  ])('$name -> noData', async ({ query }) => {
    const o = data(await observe(query));
    expect(o.noData).toBe(true);
    expect(o.value).toBeUndefined();
  });

  // policy.md: a value that is not a finite number is the `noData` outcome, never a pass, for a
  // check that wants a low value (error rate) and one that wants a high value (success rate).
  const CHECKS = {
    'error-rate': { pass: 'result < 0.05', fail: 'result >= 0.1' },
    'error-rate over results': { pass: 'results.all(r, r.value < 0.05)', fail: 'results.exists(r, r.value >= 0.1)' },
    'success-rate': { pass: 'result > 0.99', fail: 'result < 0.9' },
    'success-rate over results': { pass: 'results.all(r, r.value > 0.99)', fail: 'results.exists(r, r.value < 0.9)' },
  };
  const NON_FINITE = [
    { answer: 'NaN', query: 'NaN' },
    { answer: 'NaN', query: 'vector(0) / 0' },
    { answer: '+Inf', query: '+Inf' },
    { answer: '+Inf', query: 'vector(1) / 0' },
    { answer: '-Inf', query: '-Inf' },
    { answer: '-Inf', query: 'vector(-1) / 0' },
    { answer: '-Inf', query: twoSeries.replace('vector(2)', 'vector(-1) / 0') },
  ];
  test.each(NON_FINITE.flatMap((v) => Object.entries(CHECKS).map(([check, exprs]) => ({ ...v, check, ...exprs }))))(
    '$query ($answer), $check check -> the noData outcome, never a pass',
    async ({ query, answer, pass, fail }) => {
      const o = await observe(query);
      const spec = { name: 'c', pass, fail, noData: 'inconclusive' as const };
      const m = toMeasurement(o, spec, celFor('prometheus'), 1);
      expect(m).toMatchObject({ result: 'inconclusive', message: `no data: ${answer} is not a finite number -> inconclusive` });
    },
  );

  test('empty vector -> results is an empty list', async () => {
    const o = data(await observe('nonexistent_metric_total'));
    expect(o.variables.results).toEqual([]);
    expect(o.variables).not.toHaveProperty('result');
  });

  test('range vector -> error', async () => {
    expect(await observe('up[1m]')).toEqual({ kind: 'error', message: 'range vector results are not supported; use an instant query' });
  });

  test('string result -> error', async () => {
    const o = await observe('"hello"');
    expect(o.kind).toBe('error');
  });

  test('400: bad syntax keeps Prometheus’s own message', async () => {
    const o = await observe('sum(rate(http_requests_total[1m])');
    expect(o).toEqual({
      kind: 'error',
      message: expect.stringMatching(/^Prometheus query failed \(HTTP 400, bad_data\): invalid parameter "query": .*parse error: unclosed left parenthesis/),
    });
  });

  test('422: an execution error keeps Prometheus’s own message', async () => {
    const many = (a: number, b: number) => `(label_replace(vector(${a}), "k", "x${a}", "", "") or label_replace(vector(${b}), "k", "x${b}", "", ""))`;
    const o = await observe(`${many(1, 2)} * on() ${many(3, 4)}`);
    expect(o).toEqual({
      kind: 'error',
      message: expect.stringMatching(/^Prometheus query failed \(HTTP 422, execution\): .*many-to-many matching not allowed/),
    });
  });

  test('503: a query slower than the check timeout is Prometheus’s timeout error', async () => {
    // Evaluating 604800 points takes well over 1 ms; the `timeout` parameter carries the check's timeout.
    const o = await observe('sum(count_over_time(vector(1)[7d:1s]))', 1);
    expect(o).toEqual({
      kind: 'error',
      message: expect.stringMatching(/^Prometheus query failed \(HTTP 503, timeout\): query timed out/),
    });
  });

  test('warnings come back on the observation', async () => {
    const o = data(await observe('up{remote="0"}'));
    expect(o.warnings).toEqual([expect.stringContaining('remote_read')]);
  });

  test('a long query is sent and answered', async () => {
    const long = `vector(1)${' '.repeat(MAX_GET_QUERY_LENGTH * 3)}`;
    const o = data(await observe(long));
    expect(o.value).toBe(1);
  });
});

describe('what a real Prometheus cannot show', () => {
  test('no answer within the timeout -> error naming the timeout', async () => {
    const hanging = await startServer(() => undefined);
    try {
      const o = await observe('vector(1)', 50, hanging.url);
      expect(o).toEqual({ kind: 'error', message: 'Prometheus did not answer within 50ms' });
    } finally {
      await hanging.close();
    }
  });

  test('credentials of the address, echoed back by a proxy in every form the check sent, are redacted', async () => {
    const echo = await startServer((req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `denied: ${req.headers.authorization} for ${req.url}` }));
    });
    try {
      const password = 'p@ss:w0rd';
      const address = `http://ops:${encodeURIComponent(password)}@127.0.0.1:${echo.port}`;
      const o = await observe('vector(1)', 1000, address);
      const token = Buffer.from(`ops:${password}`).toString('base64');
      expect(echo.requests[0]!.headers.authorization).toBe(`Basic ${token}`);
      expect(o).toEqual({ kind: 'error', message: expect.stringMatching(/^Prometheus query failed \(HTTP 400, bad_data\): denied: Basic \[redacted\] for \/api\/v1\/query/) });
      const message = (o as { message: string }).message;
      for (const form of [password, encodeURIComponent(password), token]) expect(message).not.toContain(form);
    } finally {
      await echo.close();
    }
  });

  test('connection refused -> error', async () => {
    const o = await observe('vector(1)', 1000, `http://127.0.0.1:${await closedPort()}`);
    expect(o).toEqual({ kind: 'error', message: expect.stringContaining('ECONNREFUSED') });
  });

  test('cancelled by the caller -> error', async () => {
    const hanging = await startServer(() => undefined);
    try {
      const controller = new AbortController();
      const pending = provider.observe({ kind: 'prometheus', address: hanging.url, query: 'vector(1)', timeoutMs: 10_000 }, { signal: controller.signal });
      controller.abort();
      expect(await pending).toEqual({ kind: 'error', message: 'Prometheus query cancelled' });
    } finally {
      await hanging.close();
    }
  });

  test('GET with query and timeout; POST form when the query is long; path prefix and credentials kept', async () => {
    const fake = await startServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [0, '1'] } }));
    });
    try {
      const address = `http://reader:pa55word@127.0.0.1:${fake.port}/prom/`;
      await provider.observe({ kind: 'prometheus', address, query: 'up == 1', timeoutMs: 3000 }, {});
      const long = `vector(1) ${'x'.repeat(MAX_GET_QUERY_LENGTH)}`;
      await provider.observe({ kind: 'prometheus', address, query: long, timeoutMs: 3000 }, {});
      const [short, post] = fake.requests;
      expect(short?.method).toBe('GET');
      expect(short?.url).toBe('/prom/api/v1/query?query=up+%3D%3D+1&timeout=3000ms');
      expect(short?.headers.authorization).toBe(`Basic ${Buffer.from('reader:pa55word').toString('base64')}`);
      expect(post?.method).toBe('POST');
      expect(post?.url).toBe('/prom/api/v1/query');
      expect(post?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(new URLSearchParams(post?.body).get('query')).toBe(long);
    } finally {
      await fake.close();
    }
  });

  test('a page that is not the API (a proxy) -> error without the page', async () => {
    const proxy = await startServer((_req, res) => {
      res.statusCode = 502;
      res.setHeader('content-type', 'text/html');
      res.end('<html>Bad Gateway secret-internal-host</html>');
    });
    try {
      const o = await observe('vector(1)', 1000, proxy.url);
      expect(o).toEqual({ kind: 'error', message: 'Prometheus answered HTTP 502 without an API response' });
    } finally {
      await proxy.close();
    }
  });

  test('no address anywhere -> error; the default address is used when the source has none', async () => {
    const none = await prometheusProvider().observe({ kind: 'prometheus', query: 'vector(1)', timeoutMs: 1000 }, {});
    expect(none).toEqual({ kind: 'error', message: expect.stringContaining('--prometheus-addr') });
    const noScheme = await prometheusProvider().observe({ kind: 'prometheus', address: 'prometheus:9090', query: 'vector(1)', timeoutMs: 1000 }, {});
    expect(noScheme).toEqual({ kind: 'error', message: 'Prometheus address: not http:// or https://' });
    const source: PrometheusSource = { kind: 'prometheus', query: 'vector(7)', timeoutMs: 5000 };
    expect(data(await prometheusProvider({ defaultAddress: prom.url }).observe(source, {})).value).toBe(7);
  });
});

describe('test support', () => {
  test('a missing binary is a clear failure, not a skip', async () => {
    const saved = process.env.PROMETHEUS_BIN;
    process.env.PROMETHEUS_BIN = '/nonexistent/prometheus';
    try {
      await expect(startPrometheus()).rejects.toThrow(/does not exist.*do not skip/);
    } finally {
      if (saved === undefined) delete process.env.PROMETHEUS_BIN;
      else process.env.PROMETHEUS_BIN = saved;
    }
  });
});

describe('interpret', () => {
  test('secrets are hidden in Prometheus’s error text and warnings', () => {
    const body = { status: 'error', errorType: 'bad_data', error: 'unknown label value "tok-123456"' };
    expect(interpret(400, JSON.stringify(body), ['tok-123456'])).toEqual({
      kind: 'error',
      message: 'Prometheus query failed (HTTP 400, bad_data): unknown label value "[redacted]"',
    });
    const ok = { status: 'success', data: { resultType: 'vector', result: [] }, warnings: ['remote tok-123456 down'] };
    expect(interpret(200, JSON.stringify(ok), ['tok-123456'])).toMatchObject({ warnings: ['remote [redacted] down'] });
  });

  test('several series, some NaN: data, with NaN values visible (the measurement makes them noData); none: noData', () => {
    const series = (...values: string[]) =>
      JSON.stringify({ status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [0, v] })) } });
    const some = interpret(200, series('NaN', '3'));
    expect(some).toMatchObject({ kind: 'data', noData: false, variables: { results: [{ value: Number.NaN }, { value: 3 }] } });
    expect(interpret(200, series())).toMatchObject({ kind: 'data', noData: true });
  });
});
