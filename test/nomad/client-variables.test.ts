import { afterEach, describe, expect, test } from '@jest/globals';
import { ROUTES } from '../../src/nomad/client.js';
import { NomadError } from '../../src/nomad/errors.js';
import { clientFixture, json, text, type Handler } from './fake-nomad.js';

const TOKEN = '9c2e7f10-aaaa-bbbb-cccc-secret0token';

const fixture = clientFixture();
afterEach(() => fixture.close());
const setup = (handler: Handler) => fixture.setup(handler, { NOMAD_TOKEN: TOKEN });

function variable(path: string, modifyIndex = 10, items: Record<string, string> | null = { a: '1' }): Record<string, unknown> {
  return { Namespace: 'apps', Path: path, Lock: null, CreateIndex: 5, CreateTime: 1, ModifyIndex: modifyIndex, ModifyTime: 2, Items: items };
}

function meta(path: string): Record<string, unknown> {
  const { Items: _items, ...rest } = variable(path);
  return rest;
}

describe('listVariables', () => {
  test('sends prefix and namespace, follows next_token across pages', async () => {
    const pages: Record<string, { paths: string[]; next?: string }> = {
      '': { paths: ['promoter/a', 'promoter/b'], next: 'apps.promoter/c' },
      'apps.promoter/c': { paths: ['promoter/c'] },
    };
    const { fake, client, samples } = await setup((r, res) => {
      const page = pages[r.query.get('next_token') ?? '']!;
      json(res, page.paths.map(meta), { 'X-Nomad-Index': 7, ...(page.next ? { 'X-Nomad-Nexttoken': page.next } : {}) });
    });
    const list = await client.listVariables('promoter/', 'apps');
    expect(list.map((v) => v.Path)).toEqual(['promoter/a', 'promoter/b', 'promoter/c']);
    expect(fake.requests.map((r) => r.pathname)).toEqual(['/v1/vars', '/v1/vars']);
    expect(fake.requests.map((r) => r.query.get('next_token'))).toEqual([null, 'apps.promoter/c']);
    for (const r of fake.requests) {
      expect(r.method).toBe('GET');
      expect(r.query.get('prefix')).toBe('promoter/');
      expect(r.query.get('namespace')).toBe('apps');
      expect(r.query.has('index')).toBe(false);
      expect(r.headers['x-nomad-token']).toBe(TOKEN);
    }
    expect(samples.map((s) => s.route)).toEqual([ROUTES.variables, ROUTES.variables]);
  });

  test('an empty (or null) answer is an empty list', async () => {
    const { client } = await setup((_r, res) => json(res, null));
    await expect(client.listVariables('x', 'default')).resolves.toEqual([]);
  });

  test('a next token that comes back twice stops the loop', async () => {
    const { client } = await setup((_r, res) => json(res, [meta('a')], { 'X-Nomad-Nexttoken': 'same' }));
    await expect(client.listVariables('', 'default')).rejects.toThrow(/pagination loop/);
  });

  test('a transient failure of a list is retried', async () => {
    let n = 0;
    const { fake, client } = await setup((_r, res) => (n++ === 0 ? text(res, 500, 'No cluster leader') : json(res, [meta('a')])));
    await expect(client.listVariables('', 'apps')).resolves.toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('readVariable', () => {
  test('encodes each path segment, keeps the slashes, returns the variable', async () => {
    const { fake, client, samples } = await setup((_r, res) => json(res, variable('promoter/dep x', 12), { 'X-Nomad-Index': 12 }));
    const v = await client.readVariable('promoter/dep x', 'apps');
    expect(v?.ModifyIndex).toBe(12);
    expect(v?.Items).toEqual({ a: '1' });
    expect(fake.requests[0]!.url.split('?')[0]).toBe('/v1/var/promoter/dep%20x');
    expect(fake.requests[0]!.query.get('namespace')).toBe('apps');
    expect(samples[0]!.route).toBe('/v1/var/:path');
  });

  test("Nomad's 404 `variable not found` is undefined", async () => {
    const { client } = await setup((_r, res) => text(res, 404, 'variable not found'));
    await expect(client.readVariable('promoter/a', 'apps')).resolves.toBeUndefined();
  });

  test('any other 404 (no variables API: Nomad < 1.4, a proxy) is an error, not an absent variable', async () => {
    const { client } = await setup((_r, res) => {
      res.writeHead(404);
      res.end();
    });
    const err = (await client.readVariable('promoter/a', 'apps').catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.status).toBe(404);
    expect(err.route).toBe('/v1/var/:path');
    expect(err.message).not.toContain('promoter/a');
  });

  test('403 Permission denied is a final error', async () => {
    const { fake, client } = await setup((_r, res) => text(res, 403, 'Permission denied'));
    const err = (await client.readVariable('promoter/a', 'apps').catch((e: unknown) => e)) as NomadError;
    expect(err.status).toBe(403);
    expect(err.final).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('writeVariable', () => {
  test('PUT with Namespace, Path and Items in the body; cas in the query', async () => {
    const { fake, client } = await setup((r, res) => {
      const body = JSON.parse(r.body) as { Path: string; Items: Record<string, string> };
      json(res, { ...variable(body.Path, 21, body.Items), CreateIndex: 21 }, { 'X-Nomad-Index': 21 });
    });
    const v = await client.writeVariable('promoter/apps/d1', 'apps', { snapshot: '{"x":1}' }, 0);
    expect(v.ModifyIndex).toBe(21);
    const r = fake.requests[0]!;
    expect(r.method).toBe('PUT');
    expect(r.pathname).toBe('/v1/var/promoter/apps/d1');
    expect(r.query.get('cas')).toBe('0');
    expect(r.query.get('namespace')).toBe('apps');
    expect(r.headers['x-nomad-token']).toBe(TOKEN);
    expect(JSON.parse(r.body)).toEqual({ Namespace: 'apps', Path: 'promoter/apps/d1', Items: { snapshot: '{"x":1}' } });
  });

  test('without cas no cas parameter is sent', async () => {
    const { fake, client } = await setup((_r, res) => json(res, variable('p')));
    await client.writeVariable('p', 'apps', { a: '1' });
    expect(fake.requests[0]!.query.has('cas')).toBe(false);
  });

  test('a cas conflict is a final NomadError 409 holding the current variable, not retried', async () => {
    const { fake, client } = await setup((_r, res) => {
      res.writeHead(409, { 'Content-Type': 'application/json', 'X-Nomad-Index': 30 });
      res.end(JSON.stringify(variable('p', 30)));
    });
    const err = (await client.writeVariable('p', 'apps', { a: '2' }, 29).catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.status).toBe(409);
    expect(err.final).toBe(true);
    expect(err.route).toBe('/v1/var/:path');
    expect((JSON.parse(err.text) as { ModifyIndex: number }).ModifyIndex).toBe(30);
    expect(fake.requests).toHaveLength(1);
  });

  test('500 No cluster leader is retried: Nomad did nothing', async () => {
    let n = 0;
    const { fake, client } = await setup((_r, res) => (n++ === 0 ? text(res, 500, 'No cluster leader') : json(res, variable('p'))));
    await expect(client.writeVariable('p', 'apps', { a: '1' }, 0)).resolves.toBeDefined();
    expect(fake.requests).toHaveLength(2);
  });

  test('a connection reset after sending is not repeated: Nomad may have applied it', async () => {
    const { fake, client } = await setup((r) => r.req.socket.destroy());
    const err = (await client.writeVariable('p', 'apps', { a: '1' }, 0).catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.transient).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });

  test("Nomad's size limit (a plain 500) is final", async () => {
    const { fake, client } = await setup((_r, res) => text(res, 500, 'variables are limited to 64KiB in total size'));
    const err = (await client.writeVariable('p', 'apps', { a: 'x' }).catch((e: unknown) => e)) as NomadError;
    expect(err.status).toBe(500);
    expect(err.final).toBe(true);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('deleteVariable', () => {
  test('DELETE with namespace; 204 without a body resolves', async () => {
    const { fake, client, samples } = await setup((_r, res) => {
      res.writeHead(204, { 'X-Nomad-Index': 40 });
      res.end();
    });
    await expect(client.deleteVariable('promoter/apps/d1', 'apps')).resolves.toBeUndefined();
    const r = fake.requests[0]!;
    expect(r.method).toBe('DELETE');
    expect(r.pathname).toBe('/v1/var/promoter/apps/d1');
    expect(r.query.get('namespace')).toBe('apps');
    expect(r.headers['x-nomad-token']).toBe(TOKEN);
    expect(samples[0]).toMatchObject({ route: '/v1/var/:path', method: 'DELETE', code: '204' });
  });

  test('a delete whose connection reset after sending is not repeated', async () => {
    const { fake, client } = await setup((r) => r.req.socket.destroy());
    await expect(client.deleteVariable('p', 'apps')).rejects.toBeInstanceOf(NomadError);
    expect(fake.requests).toHaveLength(1);
  });

  test('a delete answered 500 No cluster leader is retried', async () => {
    let n = 0;
    const { fake, client } = await setup((_r, res) => {
      if (n++ === 0) return text(res, 500, 'No cluster leader');
      res.writeHead(204);
      res.end();
    });
    await expect(client.deleteVariable('p', 'apps')).resolves.toBeUndefined();
    expect(fake.requests).toHaveLength(2);
  });
});
