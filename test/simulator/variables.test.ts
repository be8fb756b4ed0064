import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';

import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { NomadError } from '../../src/nomad/errors.js';
import type { Variable } from '../../src/nomad/api.js';
import { SimClient, webJob, withSim } from './helpers.js';

interface Meta {
  Namespace: string;
  Path: string;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
  Items?: Record<string, string> | null;
}

const index = (r: { headers: Headers }): number => Number(r.headers.get('x-nomad-index'));

describe('variables: read, write, delete', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim({ apps: false });
  });
  afterEach(() => c.sim.close());

  test('a missing variable is 404 `variable not found` with the table index', async () => {
    const r = await c.get('/v1/var/promoter/none');
    expect({ status: r.status, text: r.text }).toEqual({ status: 404, text: 'variable not found' });
    expect(r.headers.get('x-nomad-index')).toBe('0');
  });

  test('PUT creates, GET reads it back; a second PUT keeps CreateIndex and raises ModifyIndex', async () => {
    const w = await c.put<Meta>('/v1/var/promoter/apps/d1', { Items: { snapshot: 'v1' } });
    expect(w.status).toBe(200);
    expect(w.body).toMatchObject({ Namespace: 'default', Path: 'promoter/apps/d1', Items: { snapshot: 'v1' } });
    expect(w.body.CreateIndex).toBe(w.body.ModifyIndex);
    expect(index(w)).toBe(w.body.ModifyIndex);
    expect(w.body.CreateTime).toBe(c.sim.clock.now() * 1e6);

    const r = await c.get<Meta>('/v1/var/promoter/apps/d1');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(w.body);
    // Lock (no lock held) is omitted, not null.
    expect(Object.keys(r.body)).toEqual(['Namespace', 'Path', 'CreateIndex', 'CreateTime', 'ModifyIndex', 'ModifyTime', 'Items']);
    expect(index(r)).toBe(w.body.ModifyIndex);

    const w2 = await c.put<Meta>('/v1/var/promoter/apps/d1', { Items: { snapshot: 'v2' } });
    expect(w2.body.CreateIndex).toBe(w.body.CreateIndex);
    expect(w2.body.ModifyIndex).toBeGreaterThan(w.body.ModifyIndex);
    expect((await c.get<Meta>('/v1/var/promoter/apps/d1')).body.Items).toEqual({ snapshot: 'v2' });
  });

  test('cas=0 creates only if absent; cas=N only at ModifyIndex N; conflicts answer 409 with the current variable', async () => {
    const created = await c.put<Meta>('/v1/var/p?cas=0', { Items: { a: '1' } });
    expect(created.status).toBe(200);
    const again = await c.put('/v1/var/p?cas=0', { Items: { a: '2' } });
    expect(again.status).toBe(409);
    // The body is JSON, but labelled text/plain.
    expect(again.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(JSON.parse(again.text)).toMatchObject({ Path: 'p', ModifyIndex: created.body.ModifyIndex, Items: { a: '1' } });
    expect(index(again)).toBe(created.body.ModifyIndex);

    const stale = await c.put<Meta>(`/v1/var/p?cas=${created.body.ModifyIndex - 1}`, { Items: { a: '3' } });
    expect(stale.status).toBe(409);
    const ok = await c.put<Meta>(`/v1/var/p?cas=${created.body.ModifyIndex}`, { Items: { a: '4' } });
    expect(ok.status).toBe(200);
    expect(ok.body.Items).toEqual({ a: '4' });

    // cas > 0 on an absent variable: a zero-valued conflict.
    const absent = await c.put('/v1/var/q?cas=5', { Items: { a: '1' } });
    expect(absent.status).toBe(409);
    expect(absent.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(JSON.parse(absent.text)).toEqual({ Namespace: 'default', Path: 'q', CreateIndex: 0, CreateTime: 0, ModifyIndex: 0, ModifyTime: 0 });
    expect((await c.get('/v1/var/q')).status).toBe(404);
  });

  test('a conflict writes nothing: the table index does not move', async () => {
    await c.put('/v1/var/p', { Items: { a: '1' } });
    const before = index(await c.get('/v1/vars'));
    expect((await c.put('/v1/var/p?cas=0', { Items: { a: '2' } })).status).toBe(409);
    expect(index(await c.get('/v1/vars'))).toBe(before);
  });

  test('DELETE answers 204 with no body, also for a missing variable; cas applies to deletes too', async () => {
    const w = await c.put<Meta>('/v1/var/p', { Items: { a: '1' } });
    const conflict = await c.request<Meta>('DELETE', `/v1/var/p?cas=${w.body.ModifyIndex + 1}`);
    expect(conflict.status).toBe(409);
    const del = await c.request('DELETE', `/v1/var/p?cas=${w.body.ModifyIndex}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect(index(del)).toBeGreaterThan(w.body.ModifyIndex);
    expect((await c.get('/v1/var/p')).status).toBe(404);
    const missing = await c.request('DELETE', '/v1/var/p');
    expect(missing.status).toBe(204);
    expect((await c.request('DELETE', '/v1/var/p?cas=3')).status).toBe(409);
  });

  test('400s: missing path, empty body, no Items, non-string item, bad cas', async () => {
    const cases: [string, string, unknown, string][] = [
      ['GET', '/v1/var/', undefined, 'missing variable path'],
      ['PUT', '/v1/var/p', undefined, 'Request body is empty'],
      ['PUT', '/v1/var/p', { Items: {} }, 'variable missing required Items object'],
      ['PUT', '/v1/var/p', { Path: 'p' }, 'variable missing required Items object'],
      ['PUT', '/v1/var/p', { Items: { a: 1 } }, 'json: cannot unmarshal number into Go struct field VariableDecrypted.Items of type string'],
      ['PUT', '/v1/var/p?cas=x', { Items: { a: '1' } }, 'can not parse cas: strconv.ParseUint: parsing "x": invalid syntax'],
      ['DELETE', '/v1/var/p?cas=-1', undefined, 'can not parse cas: strconv.ParseUint: parsing "-1": invalid syntax'],
    ];
    for (const [method, path, body, text] of cases) {
      const r = await c.request(method, path, body);
      expect({ method, path, status: r.status, text: r.text }).toEqual({ method, path, status: 400, text });
    }
  });

  test("Nomad's validation errors are coded 400s, `RPC Error:: 400,<msg>`: size over 64 KiB, invalid paths, the reserved nomad/ tree", async () => {
    const big = await c.put('/v1/var/p', { Items: { a: 'x'.repeat(65536) } });
    expect({ status: big.status, text: big.text }).toEqual({ status: 400, text: 'RPC Error:: 400,variables are limited to 64KiB in total size' });
    // Keys count too; exactly 64 KiB is allowed.
    expect((await c.put('/v1/var/p', { Items: { a: 'x'.repeat(65535) } })).status).toBe(200);

    const badChar = await c.put('/v1/var/a.b', { Items: { a: '1' } });
    expect({ status: badChar.status, text: badChar.text }).toEqual({ status: 400, text: 'RPC Error:: 400,invalid path "a.b"' });
    expect((await c.put(`/v1/var/${'a'.repeat(129)}`, { Items: { a: '1' } })).status).toBe(400);
    expect((await c.put(`/v1/var/${'a'.repeat(128)}`, { Items: { a: '1' } })).status).toBe(200);
    expect((await c.put('/v1/var/a/', { Items: { a: '1' } })).text).toBe('RPC Error:: 400,invalid path "a/"');
    expect((await c.put('/v1/var/a//b', { Items: { a: '1' } })).status).toBe(400);
    expect((await c.put('/v1/var/nomad/other', { Items: { a: '1' } })).status).toBe(400);
    expect((await c.put('/v1/var/nomad/jobs/web', { Items: { a: '1' } })).status).toBe(200);
  });

  test('an escaped slash is part of the path (the agent unescapes the URL path)', async () => {
    expect((await c.put('/v1/var/a%2Fb', { Items: { a: '1' } })).status).toBe(200);
    expect((await c.get<Meta>('/v1/var/a/b')).body.Path).toBe('a/b');
  });

  test('namespaces: the query names it; the body’s Namespace wins; variables do not leak across', async () => {
    expect((await c.put('/v1/var/p?namespace=blue', { Items: { a: 'blue' } })).status).toBe(200);
    expect((await c.put('/v1/var/p', { Namespace: 'green', Items: { a: 'green' } })).status).toBe(200);
    expect((await c.get<Meta>('/v1/var/p?namespace=blue')).body.Items).toEqual({ a: 'blue' });
    expect((await c.get<Meta>('/v1/var/p?namespace=green')).body.Namespace).toBe('green');
    expect((await c.get('/v1/var/p')).status).toBe(404);
    expect((await c.put('/v1/var/p?namespace=*', { Items: { a: '1' } })).text).toBe('RPC Error:: 400,can not target wildcard ("*")namespace');
  });

  test('unsupported methods: 405 Invalid method', async () => {
    expect((await c.request('DELETE', '/v1/vars')).status).toBe(405);
    expect((await c.request('PATCH', '/v1/var/p', { Items: { a: '1' } })).status).toBe(405);
  });

  test('the request log carries the route patterns', async () => {
    await c.put('/v1/var/promoter/x', { Items: { a: '1' } });
    await c.get('/v1/var/promoter/x');
    await c.get('/v1/vars?prefix=promoter/');
    await c.request('DELETE', '/v1/var/promoter/x');
    const log = (await c.get<{ method: string; path: string; route: string; status: number }[]>('/_sim/requests')).body;
    expect(log.map((e) => [e.method, e.route, e.status])).toEqual([
      ['PUT', '/v1/var/:path', 200],
      ['GET', '/v1/var/:path', 200],
      ['GET', '/v1/vars', 200],
      ['DELETE', '/v1/var/:path', 204],
    ]);
    expect(log[0]!.path).toBe('/v1/var/promoter/x');
  });
});

describe('variables: listing', () => {
  let c: SimClient;
  beforeAll(async () => {
    c = await withSim({ apps: false });
    for (const p of ['promoter/c', 'promoter/a', 'other/x', 'promoter/b']) await c.put(`/v1/var/${p}`, { Items: { k: p } });
    await c.put('/v1/var/promoter/z?namespace=blue', { Items: { k: 'z' } });
  });
  afterAll(() => c.sim.close());

  test('metadata only, sorted by path, filtered by prefix and namespace', async () => {
    const r = await c.get<Meta[]>('/v1/vars?prefix=promoter/');
    expect(r.status).toBe(200);
    expect(r.body.map((v) => v.Path)).toEqual(['promoter/a', 'promoter/b', 'promoter/c']);
    expect(r.body.every((v) => !('Items' in v))).toBe(true);
    expect(index(r)).toBe(c.sim.cluster.store.index('variables'));
    expect((await c.get<Meta[]>('/v1/vars')).body).toHaveLength(4);
    expect((await c.get<Meta[]>('/v1/vars?prefix=nothing')).body).toEqual([]);
    expect((await c.get<Meta[]>('/v1/vars?namespace=blue')).body.map((v) => v.Path)).toEqual(['promoter/z']);
    const all = await c.get<Meta[]>('/v1/vars?namespace=*&prefix=promoter/');
    expect(all.body.map((v) => `${v.Namespace}:${v.Path}`)).toEqual(['blue:promoter/z', 'default:promoter/a', 'default:promoter/b', 'default:promoter/c']);
  });

  test('pages with per_page and next_token `<namespace>.<path>`', async () => {
    const p1 = await c.get<Meta[]>('/v1/vars?prefix=promoter/&per_page=2');
    expect(p1.body.map((v) => v.Path)).toEqual(['promoter/a', 'promoter/b']);
    expect(p1.headers.get('x-nomad-nexttoken')).toBe('default.promoter/c');
    const p2 = await c.get<Meta[]>(`/v1/vars?prefix=promoter/&per_page=2&next_token=${encodeURIComponent('default.promoter/c')}`);
    expect(p2.body.map((v) => v.Path)).toEqual(['promoter/c']);
    expect(p2.headers.get('x-nomad-nexttoken')).toBeNull();
  });

  test('filter expressions run on the metadata', async () => {
    const r = await c.get<Meta[]>(`/v1/vars?filter=${encodeURIComponent('Path contains "b"')}`);
    expect(r.body.map((v) => v.Path)).toEqual(['promoter/b']);
  });
});

describe('variables: blocking queries', () => {
  let c: SimClient;
  beforeEach(async () => {
    c = await withSim({ apps: false });
  });
  afterEach(() => c.sim.close());

  test('a list blocks until a variable is written, not on job writes', async () => {
    await c.put('/v1/var/promoter/a', { Items: { a: '1' } });
    const current = index(await c.get('/v1/vars'));
    let answered = false;
    const pending = c.get<Meta[]>(`/v1/vars?index=${current}&wait=5m`).then((r) => {
      answered = true;
      return r;
    });
    await c.register(webJob());
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    await c.put('/v1/var/promoter/b', { Items: { a: '1' } });
    const r = await pending;
    expect(index(r)).toBeGreaterThan(current);
    expect(r.body).toHaveLength(2);
  });

  test('a read blocks on the variable’s ModifyIndex; a delete wakes it with the table index and a 404', async () => {
    const w = await c.put<Meta>('/v1/var/p', { Items: { a: '1' } });
    const changed = c.get<Meta>(`/v1/var/p?index=${w.body.ModifyIndex}&wait=5m`);
    await new Promise((r) => setTimeout(r, 50));
    const w2 = await c.put<Meta>('/v1/var/p', { Items: { a: '2' } });
    const r = await changed;
    expect(index(r)).toBe(w2.body.ModifyIndex);
    expect(r.body.Items).toEqual({ a: '2' });

    const gone = c.get(`/v1/var/p?index=${w2.body.ModifyIndex}&wait=5m`);
    await new Promise((r) => setTimeout(r, 50));
    const del = await c.request('DELETE', '/v1/var/p');
    const g = await gone;
    expect(g.status).toBe(404);
    expect(index(g)).toBe(index(del));
  });

  test('an index reset clamps variables too', async () => {
    await c.put('/v1/var/p', { Items: { a: '1' } });
    await c.put('/v1/var/p', { Items: { a: '2' } });
    c.sim.cluster.store.resetIndexes(1);
    const r = await c.get<Meta>('/v1/var/p');
    expect(r.body).toMatchObject({ CreateIndex: 1, ModifyIndex: 1 });
  });
});

describe('variables: ACLs (token capabilities variables-read/-write/-list/-destroy)', () => {
  let c: SimClient;
  beforeAll(async () => {
    c = await withSim({ apps: false });
    await c.put('/v1/var/p', { Items: { a: '1' } });
    await c.put('/v1/var/p?namespace=blue', { Items: { a: 'blue' } });
    const r = await c.put('/_sim/acl', {
      enabled: true,
      tokens: {
        reader: ['variables-read'],
        lister: ['variables-list'],
        writer: ['variables-write'],
        destroyer: ['variables-destroy'],
        blue: { blue: ['variables-read', 'variables-write', 'variables-list', 'variables-destroy'] },
        jobs: ['read-job', 'submit-job'],
        root: ['management'],
      },
    });
    expect(r.status).toBe(200);
  });
  afterAll(() => c.sim.close());

  const denied = { status: 403, text: 'Permission denied' };
  const outcome = (r: { status: number; text: string }): { status: number; text: string } => ({ status: r.status, text: r.text });

  test('read needs variables-read; job capabilities do not grant variables', async () => {
    expect((await c.withToken('reader').get('/v1/var/p')).status).toBe(200);
    expect(outcome(await c.withToken('jobs').get('/v1/var/p'))).toEqual(denied);
    expect(outcome(await c.get('/v1/var/p'))).toEqual(denied);
    expect(outcome(await c.withToken('bogus').get('/v1/var/p'))).toEqual(denied);
    // Permission is checked before existence.
    expect(outcome(await c.withToken('writer').get('/v1/var/none'))).toEqual(denied);
  });

  test('write needs variables-write, delete variables-destroy', async () => {
    expect(outcome(await c.withToken('reader').put('/v1/var/w', { Items: { a: '1' } }))).toEqual(denied);
    expect((await c.withToken('writer').put('/v1/var/w', { Items: { a: '1' } })).status).toBe(200);
    expect(outcome(await c.withToken('writer').request('DELETE', '/v1/var/w'))).toEqual(denied);
    expect((await c.withToken('destroyer').request('DELETE', '/v1/var/w')).status).toBe(204);
    expect((await c.withToken('root').put('/v1/var/w', { Items: { a: '1' } })).status).toBe(200);
  });

  test('a conflict seen by a token that cannot read shows the metadata without Items', async () => {
    const r = await c.withToken('writer').put('/v1/var/p?cas=0', { Items: { a: '2' } });
    expect(r.status).toBe(409);
    const hidden = JSON.parse(r.text) as Meta;
    expect('Items' in hidden).toBe(false); // empty Items are omitted, not null
    expect(hidden.ModifyIndex).toBeGreaterThan(0);
    const root = await c.withToken('root').put('/v1/var/p?cas=0', { Items: { a: '2' } });
    expect((JSON.parse(root.text) as Meta).Items).toEqual({ a: '1' });
  });

  test('lists leave out what the token may not list (as Nomad does), without a 403', async () => {
    expect((await c.withToken('lister').get<Meta[]>('/v1/vars')).body.map((v) => v.Path)).toContain('p');
    const none = await c.withToken('reader').get<Meta[]>('/v1/vars');
    expect(none.status).toBe(200);
    expect(none.body).toEqual([]);
    expect((await c.withToken('blue').get<Meta[]>('/v1/vars?namespace=*')).body.map((v) => v.Namespace)).toEqual(['blue']);
    expect(outcome(await c.withToken('bogus').get('/v1/vars'))).toEqual(denied);
  });

  test('namespace-scoped grants', async () => {
    expect((await c.withToken('blue').get('/v1/var/p?namespace=blue')).status).toBe(200);
    expect((await c.withToken('blue').get('/v1/var/p')).status).toBe(403);
    // The body's namespace is the one checked.
    expect((await c.withToken('blue').put('/v1/var/x?namespace=blue', { Namespace: 'default', Items: { a: '1' } })).status).toBe(403);
  });
});

describe('variables: HttpNomadClient against the simulator', () => {
  let c: SimClient;
  let client: HttpNomadClient;
  beforeAll(async () => {
    c = await withSim({ apps: false });
    const { config } = readNomadConfig({ NOMAD_ADDR: c.sim.url });
    client = new HttpNomadClient(config!, { minRetryDelayMs: 1, maxRetryDelayMs: 5 });
  });
  afterAll(async () => {
    client.close();
    await c.sim.close();
  });

  test('write (cas), read, list (all pages), conflict, delete', async () => {
    const created = await client.writeVariable('promoter/apps/d1', 'apps', { snapshot: '{"state":"watching"}' }, 0);
    expect(created.Items).toEqual({ snapshot: '{"state":"watching"}' });
    const updated = await client.writeVariable('promoter/apps/d1', 'apps', { snapshot: '{"state":"promoted"}' }, created.ModifyIndex);
    expect(updated.ModifyIndex).toBeGreaterThan(created.ModifyIndex);

    const conflict = (await client.writeVariable('promoter/apps/d1', 'apps', { snapshot: 'x' }, created.ModifyIndex).catch((e: unknown) => e)) as NomadError;
    expect(conflict).toBeInstanceOf(NomadError);
    expect(conflict.status).toBe(409);
    expect((JSON.parse(conflict.text) as Variable).ModifyIndex).toBe(updated.ModifyIndex);

    const read = await client.readVariable('promoter/apps/d1', 'apps');
    expect(read?.Items).toEqual({ snapshot: '{"state":"promoted"}' });
    expect(await client.readVariable('promoter/apps/none', 'apps')).toBeUndefined();

    for (let i = 0; i < 5; i++) await client.writeVariable(`promoter/apps/e${i}`, 'apps', { snapshot: String(i) });
    const list = await client.listVariables('promoter/apps/', 'apps');
    expect(list.map((v) => v.Path)).toEqual(['promoter/apps/d1', 'promoter/apps/e0', 'promoter/apps/e1', 'promoter/apps/e2', 'promoter/apps/e3', 'promoter/apps/e4']);
    expect(await client.listVariables('promoter/', 'default')).toEqual([]);

    await client.deleteVariable('promoter/apps/d1', 'apps');
    await client.deleteVariable('promoter/apps/d1', 'apps');
    expect(await client.readVariable('promoter/apps/d1', 'apps')).toBeUndefined();
  });
});
