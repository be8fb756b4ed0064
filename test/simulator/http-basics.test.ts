import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { request, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync, inflateRawSync } from 'node:zlib';

import { SimClient, rawRequest, webJob, withSim } from './helpers.js';

/** One GET with these request headers: status, headers and the body's bytes as sent. */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP surface', () => {
  let c: SimClient;
  beforeAll(async () => {
    c = await withSim();
    await c.register(webJob());
    await c.register(webJob({ id: 'api' }));
  });
  afterAll(() => c.sim.close());

  test('query meta headers go on the wire in Go canonical casing', async () => {
    const raw = await rawRequest(c.sim.port, 'GET /v1/deployments?per_page=1 HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw).toMatch(/\r\nX-Nomad-Index: \d+\r\n/);
    expect(raw).toContain('\r\nX-Nomad-Knownleader: true\r\n');
    expect(raw).toContain('\r\nX-Nomad-Lastcontact: 0\r\n');
    expect(raw).toMatch(/\r\nX-Nomad-Nexttoken: \d+\.[0-9a-f-]{36}\r\n/);
    expect(raw).toContain('\r\nContent-Type: application/json\r\n');
  });

  test('answers are compressed as the agent\'s CompressHandler does: gzip or deflate by Accept-Encoding, errors and empty bodies too', async () => {
    const plain = await get(c.sim.port, '/v1/deployments', {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    const list = JSON.parse(plain.body.toString('utf8')) as unknown[];

    const gz = await get(c.sim.port, '/v1/deployments', { 'Accept-Encoding': 'br, gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    expect(JSON.parse(gunzipSync(gz.body).toString('utf8'))).toEqual(list);
    // The first of gzip and deflate the request names wins; other tokens are passed over.
    const raw = await get(c.sim.port, '/v1/deployments', { 'Accept-Encoding': 'deflate, gzip' });
    expect(raw.headers['content-encoding']).toBe('deflate');
    expect(JSON.parse(inflateRawSync(raw.body).toString('utf8'))).toEqual(list);

    const error = await get(c.sim.port, '/v1/deployment/nope', { 'Accept-Encoding': 'gzip' });
    expect([error.status, error.headers['content-encoding'], gunzipSync(error.body).toString('utf8')]).toEqual([404, 'gzip', 'deployment not found']);
    const empty = await get(c.sim.port, '/v1/no-such-endpoint', { 'Accept-Encoding': 'gzip' });
    expect([empty.status, empty.headers['content-type'], gunzipSync(empty.body).length]).toEqual([404, 'application/x-gzip', 0]);

    // The control API is the simulator's own; the event stream is never compressed.
    expect((await get(c.sim.port, '/_sim/state', { 'Accept-Encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
    const stream = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const req = request({ port: c.sim.port, host: '127.0.0.1', path: '/v1/event/stream?topic=Deployment', headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        resolve(res.headers);
        req.destroy();
      });
      req.on('error', reject);
      req.end();
    });
    expect([stream['content-encoding'], stream.vary, stream['content-type']]).toEqual([undefined, 'Accept-Encoding', 'application/json']);
  });

  test('X-Nomad-Nexttoken is absent on the last page', async () => {
    const raw = await rawRequest(c.sim.port, 'GET /v1/deployments HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n');
    expect(raw).not.toMatch(/nexttoken/i);
  });

  test('errors are bare text/plain messages', async () => {
    const raw = await rawRequest(c.sim.port, 'GET /v1/deployment/nope HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(raw).toContain('\r\nContent-Type: text/plain; charset=utf-8\r\n');
    expect(raw.endsWith('\r\n\r\ndeployment not found')).toBe(true);
    // Nomad sets the query meta before deciding it is a 404.
    expect(raw).toMatch(/\r\nX-Nomad-Index: \d+\r\n/);
  });

  test('writes answer with X-Nomad-Index only', async () => {
    const raw = await rawRequest(
      c.sim.port,
      'PUT /v1/jobs HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: 49\r\nConnection: close\r\n\r\n' +
        '{"Job":{"ID":"raw","TaskGroups":[{"Name":"g"}]}}\n',
    );
    expect(raw).toMatch(/\r\nX-Nomad-Index: \d+\r\n/);
    expect(raw).not.toMatch(/X-Nomad-Knownleader/i);
  });

  test('unknown path: 404 with an empty body', async () => {
    const r = await c.get('/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.text).toBe('');
  });

  test('wrong method: 405 Invalid method', async () => {
    for (const [method, path] of [
      ['POST', '/v1/deployments'],
      ['GET', '/v1/deployment/promote/x'],
      ['DELETE', '/v1/deployment/fail/x'],
      ['PUT', '/v1/allocations'],
      ['POST', '/v1/job/web/versions'],
    ] as const) {
      const r = await c.request(method, path);
      expect([method, path, r.status, r.text]).toEqual([method, path, 405, 'Invalid method']);
    }
  });

  test('bad query options: Nomad 400 messages', async () => {
    expect((await c.get('/v1/deployments?wait=5')).text).toBe('Invalid wait time');
    expect((await c.get('/v1/deployments?index=abc')).text).toBe('Invalid index');
    expect((await c.get('/v1/deployments?per_page=x')).text).toBe('Expect a number for `per_page` query string parameter');
    expect((await c.get('/v1/deployments?stale=maybe')).text).toBe('Expect `true` or `false` for `stale` query string parameter');
    expect((await c.get('/v1/deployments?wait=5')).status).toBe(400);
  });

  test("a malformed percent-escape in the path: Go's raw 400, the connection closes, the simulator lives on", async () => {
    const started = Date.now();
    const raw = await rawRequest(c.sim.port, 'GET /v1/deployment/%zz HTTP/1.1\r\nHost: sim\r\n\r\n', 1000);
    expect(Date.now() - started).toBeLessThan(900); // closed by the server, not by the idle timeout
    expect(raw).toBe('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
    expect(await rawRequest(c.sim.port, 'GET /v1/job/web% HTTP/1.1\r\nHost: sim\r\n\r\n', 1000)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const control = await c.post('/_sim/alloc/%zz/health', { healthy: true });
    expect([control.status, control.body]).toEqual([400, { error: 'invalid URL escape "%zz"' }]);
    expect((await c.get('/v1/deployments')).status).toBe(200);
  });

  test('path escapes decode byte-wise as in Go: invalid UTF-8 is no error', async () => {
    const r = await c.get('/v1/deployment/%C3%28');
    expect([r.status, r.text]).toEqual([404, 'deployment not found']);
    const job = await c.get('/v1/job/%77%65%62'); // "web"
    expect(job.status).toBe(200);
  });

  test('status leader answers', async () => {
    const r = await c.get('/v1/status/leader');
    expect(r.status).toBe(200);
    expect(typeof r.body).toBe('string');
  });
});
