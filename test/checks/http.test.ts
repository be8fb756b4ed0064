import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Observation } from '../../src/domain/analysis.js';
import type { HttpSource } from '../../src/domain/policy.js';
import { decodeBody, httpProvider, type HttpResponseVariable } from '../../src/checks/http.js';
import { closedPort, startServer, type LocalServer } from './local-server.js';
import { toMeasurement } from '../../src/analysis/measure.js';
import { celFor } from '../support/cel.js';

let server: LocalServer;

beforeAll(async () => {
  server = await startServer((req, res) => {
    switch (new URL(req.url, 'http://local').pathname) {
      case '/json':
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('X-Build-Version', 'v2');
        res.end(JSON.stringify({ ok: true, checks: [{ name: 'db', up: true }] }));
        return;
      case '/rates':
        // JSON has no Infinity, but a number too large for a double parses as one.
        res.setHeader('content-type', 'application/json');
        res.end(`{"errorRate": ${new URL(req.url, 'http://local').searchParams.get('v')}}`);
        return;
      case '/problem':
        res.statusCode = 503;
        res.setHeader('content-type', 'application/problem+json');
        res.end(JSON.stringify({ title: 'warming up' }));
        return;
      case '/text':
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain');
        res.end('boom');
        return;
      case '/broken-json':
        res.setHeader('content-type', 'application/json');
        res.end('{not json');
        return;
      case '/redirect':
        res.statusCode = 302;
        res.setHeader('location', '/json');
        res.end();
        return;
      case '/big':
        res.end('x'.repeat(2048));
        return;
      case '/hang':
        return; // never answers
      default:
        res.setHeader('content-type', 'text/plain');
        res.end(`${req.method} ${req.body}`);
    }
  });
});

afterAll(async () => {
  await server?.close();
});

const provider = httpProvider();
const source = (path: string, extra: Partial<HttpSource> = {}): HttpSource => ({
  kind: 'http',
  url: `${server.url}${path}`,
  method: 'GET',
  headers: {},
  body: '',
  timeoutMs: 2000,
  ...extra,
});

function response(o: Observation): HttpResponseVariable {
  if (o.kind !== 'data') throw new Error(`expected data, got error: ${o.message}`);
  expect(o.noData).toBe(false);
  return o.variables.response as HttpResponseVariable;
}

describe('http provider', () => {
  test.each([
    { v: '1e999', answer: '+Inf' },
    { v: '-1e999', answer: '-Inf' },
  ])('a JSON number out of range ($v) is the noData outcome, never a pass', async ({ v, answer }) => {
    const o = await provider.observe(source(`/rates?v=${v}`), {});
    const spec = { name: 'c', pass: 'response.body.errorRate < 0.05', fail: 'response.body.errorRate >= 0.1', noData: 'inconclusive' as const };
    expect(toMeasurement(o, spec, celFor('http'), 1)).toMatchObject({ result: 'inconclusive', message: `no data: ${answer} is not a finite number -> inconclusive` });
  });


  test('JSON body is decoded; header names are lower-case; ms is measured', async () => {
    const r = response(await provider.observe(source('/json'), {}));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true, checks: [{ name: 'db', up: true }] });
    expect(r.headers['x-build-version']).toBe('v2');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(r.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  test('non-2xx is data for the expression, not an error (+json types are JSON)', async () => {
    const r = response(await provider.observe(source('/problem'), {}));
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ title: 'warming up' });
  });

  test('text body stays a string', async () => {
    const r = response(await provider.observe(source('/text'), {}));
    expect(r).toMatchObject({ status: 500, body: 'boom' });
  });

  test('a body that claims JSON but does not parse stays a string', async () => {
    expect(response(await provider.observe(source('/broken-json'), {})).body).toBe('{not json');
  });

  test('redirects are not followed: the 3xx is the answer', async () => {
    const r = response(await provider.observe(source('/redirect'), {}));
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/json');
  });

  test('method, headers and body are sent', async () => {
    const before = server.requests.length;
    const r = response(
      await provider.observe(source('/echo', { method: 'post', headers: { 'X-Probe': 'canary', 'Content-Type': 'application/json' }, body: '{"a":1}' }), {}),
    );
    expect(r.body).toBe('POST {"a":1}');
    const req = server.requests[before];
    expect(req?.headers['x-probe']).toBe('canary');
    expect(req?.headers['content-type']).toBe('application/json');
  });

  test('timeout -> error', async () => {
    expect(await provider.observe(source('/hang', { timeoutMs: 50 }), {})).toEqual({ kind: 'error', message: 'no answer within 50ms' });
  });

  test('connection refused -> error', async () => {
    const o = await provider.observe({ ...source('/'), url: `http://127.0.0.1:${await closedPort()}/healthz` }, {});
    expect(o).toEqual({ kind: 'error', message: expect.stringContaining('ECONNREFUSED') });
  });

  test('cancelled by the caller -> error', async () => {
    const controller = new AbortController();
    const pending = provider.observe(source('/hang', { timeoutMs: 10_000 }), { signal: controller.signal });
    controller.abort();
    expect(await pending).toEqual({ kind: 'error', message: 'request cancelled' });
  });

  test('a body over the size cap -> error', async () => {
    const small = httpProvider({ maxBodyBytes: 1024 });
    expect(await small.observe(source('/big'), {})).toEqual({ kind: 'error', message: 'response body larger than 1024 bytes' });
  });

  test.each([
    { name: 'not a URL', extra: { url: 'nope' }, message: 'http.url: not a URL (expected http://host[:port][/path])' },
    { name: 'not http', extra: { url: 'file:///etc/passwd' }, message: 'http.url: not http:// or https://' },
    { name: 'GET with a body', extra: { body: 'x' }, message: 'a GET request cannot carry a body' },
  ])('$name -> error', async ({ extra, message }) => {
    expect(await provider.observe(source('/json', extra), {})).toEqual({ kind: 'error', message });
  });
});

describe('secrets never reach a message', () => {
  const token = 'Bearer s3cr3t-token-value';

  test('an invalid header value is reported by name only', async () => {
    const o = await provider.observe(source('/json', { headers: { Authorization: `${token}\r\nX-Injected: 1` } }), {});
    expect(o).toEqual({ kind: 'error', message: 'invalid value for header "Authorization"' });
  });

  test.each([
    { name: 'connection refused', path: '' },
    { name: 'timeout', path: '/hang' },
  ])('$name with secret headers, URL credentials and query token', async ({ path }) => {
    const port = path ? server.port : await closedPort();
    const o = await provider.observe(
      {
        ...source(path, { timeoutMs: 50 }),
        url: `http://user:url-pa55word@127.0.0.1:${port}${path}?token=query-s3cret`,
        headers: { Authorization: token, 'X-Api-Key': 'api-key-s3cret' },
      },
      { secrets: ['env-s3cret'] },
    );
    expect(o.kind).toBe('error');
    const message = o.kind === 'error' ? o.message : '';
    for (const secret of ['s3cr3t-token-value', 'api-key-s3cret', 'url-pa55word', 'query-s3cret', 'env-s3cret']) {
      expect(message).not.toContain(secret);
    }
  });

  test('URL credentials become Basic auth', async () => {
    const before = server.requests.length;
    await provider.observe({ ...source('/json'), url: `http://user:pa55@127.0.0.1:${server.port}/json` }, {});
    expect(server.requests[before]?.headers.authorization).toBe(`Basic ${Buffer.from('user:pa55').toString('base64')}`);
  });
});

describe('decodeBody', () => {
  test.each([
    ['application/json', '{"a":1}', { a: 1 }],
    ['Application/JSON; charset=utf-8', '[1,2]', [1, 2]],
    ['application/vnd.api+json', '{"a":1}', { a: 1 }],
    ['application/jsonp', '{"a":1}', '{"a":1}'],
    ['text/json-ish', '{"a":1}', '{"a":1}'],
    [undefined, '{"a":1}', '{"a":1}'],
    ['application/json', '', ''],
  ])('%s %s', (type, raw, expected) => {
    expect(decodeBody(raw, type)).toEqual(expected);
  });
});
