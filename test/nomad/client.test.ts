import { afterEach, describe, expect, test } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { HttpNomadClient, type RequestSample } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { isAbortError, NomadError } from '../../src/nomad/errors.js';
import { clientFixture, json, text, type Handler } from './fake-nomad.js';

const TOKEN = '9c2e7f10-aaaa-bbbb-cccc-secret0token';
const DEP = { id: '5f1d0f30-82d3-8e5c-5b8e-0d7b2c2c7f1a', namespace: 'apps' };

const fixture = clientFixture();
afterEach(() => fixture.close());
const setup = fixture.setup;

function deployment(id: string, modifyIndex = 10): Record<string, unknown> {
  return { ID: id, Namespace: 'apps', JobID: 'web', Status: 'running', TaskGroups: {}, CreateIndex: 5, ModifyIndex: modifyIndex };
}

const okUpdate = { EvalID: '', EvalCreateIndex: 0, DeploymentModifyIndex: 20, RevertedJobVersion: null, Index: 20 };

describe('blocking queries', () => {
  test('index 0 is sent as 1 so the query blocks; wait is a Go duration with a unit', async () => {
    const { fake, client } = await setup((_r, res) => json(res, [], { 'X-Nomad-Index': 7 }));
    await client.listDeployments({ index: 0, waitMs: 400 });
    await client.listDeployments({ index: 42, waitMs: 1500 });
    expect(fake.requests[0]!.query.get('index')).toBe('1');
    expect(fake.requests[0]!.query.get('wait')).toBe('400ms');
    expect(fake.requests[1]!.query.get('index')).toBe('42');
    expect(fake.requests[1]!.query.get('wait')).toBe('1500ms');
  });

  test('without waitMs a blocking query asks for Nomad’s 300 s maximum, explicitly', async () => {
    const { fake, client } = await setup((_r, res) => json(res, []));
    await client.listDeployments({ index: 3 });
    expect(fake.requests[0]!.query.get('wait')).toBe('300000ms');
  });

  test('a non-blocking read sends neither index nor wait', async () => {
    const { fake, client } = await setup((_r, res) => json(res, []));
    await client.listDeployments({ waitMs: 1000 });
    expect(fake.requests[0]!.query.has('index')).toBe(false);
    expect(fake.requests[0]!.query.has('wait')).toBe(false);
  });

  test('an answer at wait + Nomad’s jitter (< wait/16) is not cut off by the client', async () => {
    const wait = 400;
    const { fake, client } = await setup(
      (_r, res) => {
        setTimeout(() => json(res, [deployment('d1')], { 'X-Nomad-Index': 9 }), wait + wait / 16 - 2);
      },
      {},
      // Small margin, and a request timeout below the wait: only the blocking rule can save it.
      { blockingMarginMs: 100, requestTimeoutMs: 50, retries: 0 },
    );
    const res = await client.listDeployments({ index: 8, waitMs: wait });
    expect(res.index).toBe(9);
    expect(res.body).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
  });

  test('a blocking query that never answers is given up and reported as a timeout', async () => {
    const { client } = await setup(() => {}, {}, { blockingMarginMs: 20, retries: 0 });
    const err = await client.listDeployments({ index: 8, waitMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NomadError);
    expect((err as NomadError).status).toBe(0);
    expect((err as NomadError).code).toBe('ETIMEDOUT');
    expect((err as NomadError).transient).toBe(true);
  });

  test('a non-blocking read that never answers times out after requestTimeoutMs', async () => {
    const { fake, client } = await setup(() => {}, {}, { requestTimeoutMs: 100, retries: 1 });
    const err = await client.readDeployment(DEP).catch((e: unknown) => e);
    expect((err as NomadError).code).toBe('ETIMEDOUT');
    expect(fake.requests).toHaveLength(2);
  });

  test.each([
    ['Go canonical casing', { 'X-Nomad-Index': '123', 'X-Nomad-Knownleader': 'true', 'X-Nomad-Lastcontact': '17', 'X-Nomad-Nexttoken': '55.abc' }],
    ['documented casing', { 'X-Nomad-Index': '123', 'X-Nomad-KnownLeader': 'true', 'X-Nomad-LastContact': '17', 'X-Nomad-NextToken': '55.abc' }],
    ['lower case', { 'x-nomad-index': '123', 'x-nomad-knownleader': 'true', 'x-nomad-lastcontact': '17', 'x-nomad-nexttoken': '55.abc' }],
  ])('response headers are read whatever their casing (%s)', async (_name, headers) => {
    const { client } = await setup((_r, res) => {
      // writeHead with a flat array keeps the names exactly as written.
      res.writeHead(200, ['Content-Type', 'application/json', ...Object.entries(headers).flat()]);
      res.end('[]');
    });
    const res = await client.listDeployments();
    expect(res).toEqual({ body: [], index: 123, knownLeader: true, lastContactMs: 17, nextToken: '55.abc', readMs: expect.any(Number) });
  });

  test('missing headers: index 0, no known leader, no next token', async () => {
    const { client } = await setup((_r, res) => json(res, []));
    const res = await client.listDeployments();
    expect(res).toEqual({ body: [], index: 0, knownLeader: false, lastContactMs: 0, readMs: expect.any(Number) });
  });
});

describe('pagination', () => {
  test('listAllDeployments follows next_token across pages; only the first page blocks', async () => {
    const pages: Record<string, { items: string[]; next?: string; index: number }> = {
      '': { items: ['d1', 'd2'], next: '12.d3', index: 30 },
      '12.d3': { items: ['d3', 'd4'], next: '14.d5', index: 31 },
      '14.d5': { items: ['d5'], index: 31 },
    };
    const { fake, client } = await setup((r, res) => {
      const page = pages[r.query.get('next_token') ?? '']!;
      const headers: Record<string, string | number> = { 'X-Nomad-Index': page.index, 'X-Nomad-Knownleader': 'true' };
      if (page.next) headers['X-Nomad-Nexttoken'] = page.next;
      json(res, page.items.map((id) => deployment(id)), headers);
    });
    const all = await client.listAllDeployments({ namespace: '*', perPage: 2, index: 29, waitMs: 400 });
    expect(all.body.map((d) => d.ID)).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
    expect(all.nextToken).toBeUndefined();
    // The lowest index seen: blocking on it can never miss a change made between pages.
    expect(all.index).toBe(30);
    expect(fake.requests.map((r) => r.query.get('next_token'))).toEqual([null, '12.d3', '14.d5']);
    expect(fake.requests.map((r) => r.query.get('index'))).toEqual(['29', null, null]);
    expect(fake.requests.every((r) => r.query.get('per_page') === '2' && r.query.get('namespace') === '*')).toBe(true);
  });

  test('listAllAllocations reads page by page, each page cut by keep before the next is asked for', async () => {
    const pages: Record<string, { ids: string[]; next?: string; index: number }> = {
      '': { ids: ['a1', 'a2'], next: '7.a3', index: 41 },
      '7.a3': { ids: ['a3'], index: 40 },
    };
    const kept: string[] = [];
    const { fake, client } = await setup((r, res) => {
      // Page 2 is asked for only once page 1 went through keep.
      if (r.query.get('next_token')) expect(kept).toEqual(['a1', 'a2']);
      const page = pages[r.query.get('next_token') ?? '']!;
      const headers: Record<string, string | number> = { 'X-Nomad-Index': page.index };
      if (page.next) headers['X-Nomad-Nexttoken'] = page.next;
      json(res, page.ids.map((id) => ({ ID: id, JobID: 'web', Namespace: 'apps', TaskStates: { big: {} }, ModifyIndex: 9 })), headers);
    });
    const all = await client.listAllAllocations({ namespace: 'apps', perPage: 2, resources: true, taskStates: false }, (a) => {
      kept.push(a.ID);
      return { id: a.ID };
    });
    expect(all.body).toEqual([{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }]);
    expect(all.index).toBe(40);
    expect(fake.requests.map((r) => [r.query.get('next_token'), r.query.get('resources'), r.query.get('task_states'), r.query.get('per_page')])).toEqual([
      [null, 'true', 'false', '2'],
      ['7.a3', 'true', 'false', '2'],
    ]);
  });

  test('a transient failure on a later page is retried even by a client without retries; the first page is not', async () => {
    let laterFailures = 1;
    let firstFails = false;
    const { fake, client } = await setup(
      (r, res) => {
        const token = r.query.get('next_token');
        if (token ? laterFailures-- > 0 : firstFails) return text(res, 500, 'rpc error: EOF');
        json(res, [deployment(token ? 'd2' : 'd1')], token ? { 'X-Nomad-Index': 5 } : { 'X-Nomad-Index': 5, 'X-Nomad-Nexttoken': '9.d2' });
      },
      {},
      { retries: 0 },
    );
    const all = await client.listAllDeployments({ perPage: 1 });
    expect(all.body.map((d) => d.ID)).toEqual(['d1', 'd2']);
    expect(fake.requests.map((r) => r.query.get('next_token'))).toEqual([null, '9.d2', '9.d2']);
    // The first page is the client's own read (a long-poll's): its failure goes to the caller's backoff.
    firstFails = true;
    await expect(client.listAllDeployments({ perPage: 1 })).rejects.toThrow(/500/);
    expect(fake.requests).toHaveLength(4);
  });

  test('a page that is not a list of objects is an error naming the table', async () => {
    const { client } = await setup((_r, res) => json(res, [{ ID: 'a1' }, 7]));
    await expect(client.listAllAllocations({}, (a) => a)).rejects.toThrow('Nomad answered the allocations list with a list holding a non-object, not a list of objects');
  });

  test('a next token that comes back twice stops the loop with an error', async () => {
    const { client } = await setup((_r, res) => json(res, [deployment('d1')], { 'X-Nomad-Nexttoken': 'same' }));
    await expect(client.listAllDeployments()).rejects.toThrow(/pagination loop/);
  });
});

describe('request shape', () => {
  test('the token travels only in X-Nomad-Token, never in the URL', async () => {
    const { fake, client } = await setup((_r, res) => json(res, okUpdate), { NOMAD_TOKEN: TOKEN });
    await client.listDeployments();
    await client.promote(DEP);
    for (const r of fake.requests) {
      expect(r.headers['x-nomad-token']).toBe(TOKEN);
      expect(r.url).not.toContain(TOKEN);
      expect(r.headers.authorization).toBeUndefined();
    }
  });

  test('region (when configured) and namespace go on every call', async () => {
    const { fake, client } = await setup(
      (r, res) => json(res, r.pathname.endsWith('/checks') ? {} : r.method === 'GET' ? [] : okUpdate),
      { NOMAD_REGION: 'eu-west', NOMAD_NAMESPACE: 'team-a' },
    );
    await client.listDeployments();
    await client.listDeployments({ namespace: '*' });
    await client.readDeployment(DEP);
    await client.listAllocations();
    await client.deploymentAllocations(DEP);
    await client.readAllocation('a1');
    await client.allocationChecks('a1');
    await client.readJob('web', 'apps');
    await client.jobVersions('web', 'apps');
    await client.promote(DEP);
    await client.fail(DEP);
    await client.pause(DEP, true);
    await client.setAllocationHealth(DEP, { healthy: ['a1'], unhealthy: [] });
    await client.unblock(DEP);
    await client.revertJob('web', 'apps', 3, 4);
    await client.registerJob({ ID: 'web', TaskGroups: [] });
    expect(fake.requests.map((r) => r.query.get('region'))).toEqual(fake.requests.map(() => 'eu-west'));
    expect(fake.requests.map((r) => r.query.get('namespace'))).toEqual([
      'team-a', '*', 'apps', 'team-a', 'apps', 'team-a', 'team-a', 'apps', 'apps',
      'apps', 'apps', 'apps', 'apps', 'apps', 'apps', 'team-a',
    ]);
  });

  test('without NOMAD_NAMESPACE the namespace is `default`; without NOMAD_REGION no region is sent', async () => {
    const { fake, client } = await setup((_r, res) => json(res, []));
    await client.listDeployments();
    expect(fake.requests[0]!.query.get('namespace')).toBe('default');
    expect(fake.requests[0]!.query.has('region')).toBe(false);
  });

  test('NOMAD_HTTP_AUTH becomes Basic auth, beside the token', async () => {
    const { fake, client } = await setup((_r, res) => json(res, []), { NOMAD_HTTP_AUTH: 'ops:s3cr3t:with:colons', NOMAD_TOKEN: TOKEN });
    await client.listDeployments();
    const auth = fake.requests[0]!.headers.authorization!;
    expect(auth).toMatch(/^Basic /);
    expect(Buffer.from(auth.slice(6), 'base64').toString()).toBe('ops:s3cr3t:with:colons');
    expect(fake.requests[0]!.headers['x-nomad-token']).toBe(TOKEN);
  });

  test('reads map to their endpoints and parameters', async () => {
    const { fake, client } = await setup((r, res) => json(res, r.pathname.endsWith('/checks') ? null : []));
    await client.listDeployments({ filter: 'Status == "running"', stale: true });
    await client.listAllocations({ namespace: '*', resources: true, taskStates: false, index: 5, waitMs: 1000 });
    await client.deploymentAllocations({ id: 'a/b', namespace: 'apps' });
    expect(await client.allocationChecks('a1')).toEqual({});
    await client.jobVersions('my job', 'apps');
    const [deps, allocs, depAllocs, checks, versions] = fake.requests;
    expect(deps!.pathname).toBe('/v1/deployments');
    expect(deps!.query.get('filter')).toBe('Status == "running"');
    expect(deps!.query.get('stale')).toBe('true');
    expect(allocs!.pathname).toBe('/v1/allocations');
    expect(allocs!.query.get('resources')).toBe('true');
    expect(allocs!.query.get('task_states')).toBe('false');
    expect(allocs!.query.get('index')).toBe('5');
    expect(depAllocs!.url).toMatch(/^\/v1\/deployment\/allocations\/a%2Fb\?/);
    expect(checks!.pathname).toBe('/v1/allocation/a1/checks');
    expect(versions!.url).toMatch(/^\/v1\/job\/my%20job\/versions\?/);
  });

  test('promote sends All when no groups are given, Groups otherwise', async () => {
    const { fake, client } = await setup((_r, res) => json(res, okUpdate));
    const res = await client.promote(DEP);
    await client.promote(DEP, ['web', 'api']);
    expect(res).toEqual(okUpdate);
    expect(fake.requests[0]!.method).toBe('POST');
    expect(fake.requests[0]!.pathname).toBe(`/v1/deployment/promote/${DEP.id}`);
    expect(JSON.parse(fake.requests[0]!.body)).toEqual({ DeploymentID: DEP.id, All: true });
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({ DeploymentID: DEP.id, Groups: ['web', 'api'] });
    expect(fake.requests[0]!.headers['content-type']).toBe('application/json');
  });

  test('allocation health, pause, fail, unblock, revert and register bodies', async () => {
    const { fake, client } = await setup((_r, res) => json(res, okUpdate));
    await client.setAllocationHealth(DEP, { healthy: ['a1', 'a2'], unhealthy: ['a3'] });
    await client.pause(DEP, false);
    await client.fail(DEP);
    await client.unblock(DEP);
    await client.revertJob('web', 'apps', 3, 4);
    await client.revertJob('web', 'apps', 3);
    await client.registerJob({ ID: 'web', Namespace: 'apps', TaskGroups: [] });
    const [health, pause, fail, unblock, revert, revertLoose, register] = fake.requests;
    expect(health!.pathname).toBe(`/v1/deployment/allocation-health/${DEP.id}`);
    expect(JSON.parse(health!.body)).toEqual({ DeploymentID: DEP.id, HealthyAllocationIDs: ['a1', 'a2'], UnhealthyAllocationIDs: ['a3'] });
    expect(pause!.pathname).toBe(`/v1/deployment/pause/${DEP.id}`);
    expect(JSON.parse(pause!.body)).toEqual({ DeploymentID: DEP.id, Pause: false });
    expect(fail!.pathname).toBe(`/v1/deployment/fail/${DEP.id}`);
    expect(fail!.method).toBe('POST');
    expect(fail!.body).toBe('');
    expect(unblock!.pathname).toBe(`/v1/deployment/unblock/${DEP.id}`);
    expect(JSON.parse(unblock!.body)).toEqual({ DeploymentID: DEP.id });
    expect(revert!.pathname).toBe('/v1/job/web/revert');
    expect(JSON.parse(revert!.body)).toEqual({ JobID: 'web', JobVersion: 3, EnforcePriorVersion: 4 });
    expect(JSON.parse(revertLoose!.body)).toEqual({ JobID: 'web', JobVersion: 3 });
    expect(register!.method).toBe('PUT');
    expect(register!.pathname).toBe('/v1/jobs');
    expect(JSON.parse(register!.body)).toEqual({ Job: { ID: 'web', Namespace: 'apps', TaskGroups: [] } });
  });

  test('gzip-encoded answers are decoded', async () => {
    const { fake, client } = await setup((_r, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'X-Nomad-Index': '4' });
      res.end(gzipSync(JSON.stringify([deployment('d1')])));
    });
    const res = await client.listDeployments();
    expect(res.body[0]!.ID).toBe('d1');
    expect(fake.requests[0]!.headers['accept-encoding']).toBe('gzip');
  });

  test('calls share one connection: never more than maxSockets open at once', async () => {
    const { fake, client } = await setup((_r, res) => setTimeout(() => json(res, []), 20));
    await Promise.all([client.listDeployments(), client.readDeployment(DEP), client.listAllocations(), client.readJob('web', 'apps')]);
    expect(fake.requests).toHaveLength(4);
    expect(fake.maxOpen).toBe(1);
    expect(fake.connections).toBe(1);
  });
});

describe('retries', () => {
  /** Fails the first `failures` requests with `fail`, then answers `ok`. */
  function flaky(failures: number, fail: Handler, ok: Handler = (_r, res) => json(res, okUpdate)): Handler {
    let n = 0;
    return (r, res) => (n++ < failures ? fail(r, res) : ok(r, res));
  }

  test('500 No cluster leader is retried until it succeeds', async () => {
    const { fake, client } = await setup(flaky(2, (_r, res) => text(res, 500, 'No cluster leader')));
    await expect(client.promote(DEP)).resolves.toEqual(okUpdate);
    expect(fake.requests).toHaveLength(3);
  });

  test('429 Too Many Requests is retried', async () => {
    const { fake, client } = await setup(
      flaky(1, (_r, res) => {
        res.setHeader('Connection', 'close');
        text(res, 429, 'Your IP is issuing too many concurrent connections, please rate limit your calls');
      }),
    );
    await expect(client.readDeployment(DEP)).resolves.toBeDefined();
    expect(fake.requests).toHaveLength(2);
  });

  test('a connection reset is retried for a read', async () => {
    const { fake, client } = await setup(flaky(2, (r) => r.req.socket.destroy()));
    await expect(client.readDeployment(DEP)).resolves.toBeDefined();
    expect(fake.requests).toHaveLength(3);
  });

  test('a write whose connection reset after sending is not repeated: Nomad may have applied it', async () => {
    const { fake, client } = await setup(flaky(2, (r) => r.req.socket.destroy()));
    const err = (await client.fail(DEP).catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.transient).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  test('a write answered 500 No cluster leader is retried: Nomad did nothing', async () => {
    const { fake, client } = await setup(flaky(1, (_r, res) => text(res, 500, 'No cluster leader')));
    await expect(client.fail(DEP)).resolves.toEqual(okUpdate);
    expect(fake.requests).toHaveLength(2);
  });

  test('retries are bounded: retries + 1 attempts, then the last error', async () => {
    const { fake, client } = await setup((_r, res) => text(res, 503, 'No cluster leader'), {}, { retries: 2 });
    const err = (await client.listDeployments().catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.status).toBe(503);
    expect(fake.requests).toHaveLength(3);
  });

  test.each([
    [403, 'Permission denied'],
    [500, 'deployment not found'],
    [500, "can't promote terminal deployment"],
    [500, '1 error occurred:\n\t* Task group "web" has 0/2 healthy allocations\n\n'],
    [400, 'Deployment ID does not match'],
  ])('%i %j is final: exactly one attempt', async (status, message) => {
    const { fake, client } = await setup((_r, res) => text(res, status, message), { NOMAD_TOKEN: TOKEN });
    const err = (await client.promote(DEP).catch((e: unknown) => e)) as NomadError;
    expect(fake.requests).toHaveLength(1);
    expect(err).toBeInstanceOf(NomadError);
    expect(err.status).toBe(status);
    expect(err.method).toBe('POST');
    expect(err.route).toBe('/v1/deployment/promote/:id');
    expect(err.text).toBe(message.trim());
    expect(err.transient).toBe(false);
    expect(err.message).not.toContain(DEP.id);
    expect(err.message).not.toContain(TOKEN);
    expect(JSON.stringify(err)).not.toContain(TOKEN);
  });

  test('a token echoed back by a server is scrubbed from the error', async () => {
    const { client } = await setup((_r, res) => text(res, 403, `token ${TOKEN} is not valid`), { NOMAD_TOKEN: TOKEN });
    const err = (await client.listDeployments().catch((e: unknown) => e)) as NomadError;
    expect(err.message).not.toContain(TOKEN);
    expect(err.text).toContain('[redacted]');
  });

  test('NOMAD_HTTP_AUTH echoed back by a server, as the Basic header it became, is scrubbed from the error', async () => {
    const auth = 'ops:s3cr3t-pw';
    const { client } = await setup((r, res) => text(res, 403, `bad credentials: ${r.headers.authorization}, ${auth}`), { NOMAD_HTTP_AUTH: auth });
    const err = (await client.listDeployments().catch((e: unknown) => e)) as NomadError;
    const token = Buffer.from(auth).toString('base64');
    expect(err.text).toBe('bad credentials: Basic [redacted], ops:[redacted]');
    for (const form of ['s3cr3t-pw', token]) {
      expect(err.message).not.toContain(form);
      expect(JSON.stringify(err)).not.toContain(form);
    }
  });

  test('a connection refused names the route, not the token', async () => {
    const { config } = readNomadConfig({ NOMAD_ADDR: 'http://127.0.0.1:1', NOMAD_TOKEN: TOKEN });
    const client = new HttpNomadClient(config!, { minRetryDelayMs: 1, maxRetryDelayMs: 5, retries: 1 });
    const err = (await client.readDeployment(DEP).catch((e: unknown) => e)) as NomadError;
    client.close();
    expect(err).toBeInstanceOf(NomadError);
    expect(err.status).toBe(0);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.route).toBe('/v1/deployment/:id');
    expect(err.message).not.toContain(TOKEN);
  });
});

describe('abort', () => {
  test('an already aborted signal sends nothing', async () => {
    const { fake, client } = await setup((_r, res) => json(res, []));
    const ac = new AbortController();
    ac.abort();
    const err = await client.listDeployments({ signal: ac.signal }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });

  test('aborting an in-flight blocking query rejects at once with an AbortError', async () => {
    const ac = new AbortController();
    const { fake, client } = await setup(() => ac.abort());
    const err = await client.listDeployments({ index: 5, waitMs: 60_000, signal: ac.signal }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(err).not.toBeInstanceOf(NomadError);
    expect(fake.requests).toHaveLength(1);
  });

  test('aborting during the backoff stops the retries', async () => {
    const ac = new AbortController();
    const { fake, client } = await setup(
      (_r, res) => {
        text(res, 500, 'No cluster leader');
      },
      {},
      {
        minRetryDelayMs: 30,
        maxRetryDelayMs: 30,
        retries: 50,
        // Abort as soon as the first attempt is known to have failed.
        observe: () => ac.abort(),
      },
    );
    const err = await client.promote(DEP, undefined, ac.signal).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    // Give a retry the chance to happen if the abort were ignored.
    await new Promise((r) => setTimeout(r, 150));
    expect(fake.requests).toHaveLength(1);
  });

  test('a custom abort reason that is not an Error still rejects with an AbortError', async () => {
    const ac = new AbortController();
    const { client } = await setup(() => ac.abort('shutting down'));
    const err = await client.readDeployment(DEP, { signal: ac.signal }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
  });

  test('close() fails calls in flight and later calls without retrying', async () => {
    const { fake, client } = await setup(() => {});
    const pending = client.listDeployments({ index: 3, waitMs: 60_000 }).catch((e: unknown) => e);
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    client.close();
    const err = (await pending) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.code).toBe('ECLOSED');
    await expect(client.listDeployments()).rejects.toThrow(/client is closed/);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('observe', () => {
  test('one sample per attempt, labelled with the route pattern and the status', async () => {
    const samples: RequestSample[] = [];
    let n = 0;
    const { client } = await setup(
      (r, res) => {
        if (r.pathname.startsWith('/v1/deployment/promote/') && n++ === 0) return text(res, 500, 'No cluster leader');
        if (r.pathname.startsWith('/v1/deployment/fail/')) return r.req.socket.destroy();
        json(res, okUpdate);
      },
      {},
      { observe: (s) => samples.push(s), retries: 1 },
    );
    await client.promote(DEP);
    await client.readDeployment(DEP);
    await client.fail(DEP).catch(() => {});
    expect(samples.map(({ route, method, code }) => ({ route, method, code }))).toEqual([
      { route: '/v1/deployment/promote/:id', method: 'POST', code: '500' },
      { route: '/v1/deployment/promote/:id', method: 'POST', code: '200' },
      { route: '/v1/deployment/:id', method: 'GET', code: '200' },
      // A reset write is not repeated (Nomad may have applied it): one sample.
      { route: '/v1/deployment/fail/:id', method: 'POST', code: 'error' },
    ]);
    expect(samples.every((s) => s.seconds >= 0 && !s.route.includes(DEP.id))).toBe(true);
  });
});

describe('bad answers', () => {
  test('a 200 whose body is not JSON is a transient error (ask again later), not retried by the client itself', async () => {
    const { fake, client } = await setup((_r, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>proxy login</html>');
    });
    const err = (await client.listDeployments().catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.transient).toBe(true);
    expect(err.text).toBe('response body is not JSON');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('robustness', () => {
  test('a response cut short mid-body is a transient failure and is retried', async () => {
    let n = 0;
    const { fake, client } = await setup((r, res) => {
      if (n++ === 0) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
        res.write('[{"ID":"d1"');
        setTimeout(() => r.req.socket.destroy(), 10);
        return;
      }
      json(res, [deployment('d1')]);
    });
    const res = await client.listDeployments();
    expect(res.body).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });

  test('an observe hook that throws changes nothing', async () => {
    const { client } = await setup((_r, res) => json(res, okUpdate), {}, {
      observe: () => {
        throw new Error('metrics broke');
      },
    });
    await expect(client.promote(DEP)).resolves.toEqual(okUpdate);
  });
});
