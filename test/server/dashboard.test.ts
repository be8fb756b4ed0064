/**
 * The status server's dashboard files and explain text, in process: the CSP on every page file,
 * only the built files answer (404 for anything else, no way out of the folder), and
 * GET /v1/deployments/:id/explain as text.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { persistDeployment, startDeployment, step } from '../../src/machine/machine.js';
import { CONTENT_SECURITY_POLICY } from '../../src/server/dashboard.js';
import { StatusServer } from '../../src/server/http.js';
import { Recorder } from '../../src/server/metrics.js';
import { MemorySnapshotStore } from '../../src/store/memory.js';
import { ObservedStore } from '../../src/store/observed.js';
import { alloc, deployment, group, policy } from '../support/builders.js';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const ID = '5d51929b-19d9-4951-9234-3d840b8f835e';

let root: string;
const servers: StatusServer[] = [];

/** GET without any normalising of the path: what a hostile client sends arrives as written. */
function get(url: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(webDir: string): Promise<string> {
  const store = new ObservedStore(new MemorySnapshotStore(), () => undefined);
  const obs = deployment([group('web', { policy: policy(), canaries: [alloc('c1', true)] })], { id: ID });
  const s = step(startDeployment({ deploymentId: ID, namespace: 'default', job: 'web-api', jobVersion: 1, now: T0 }), { type: 'observe', now: T0, observation: obs, measurements: [] }).snapshot;
  await store.put(ID, persistDeployment(s));
  const server = new StatusServer({ recorder: new Recorder('test', { defaultMetrics: false }), store, notReadyReason: () => undefined, webDir: pathToFileURL(`${webDir}/`) });
  servers.push(server);
  const address = await server.listen('127.0.0.1', 0);
  return `http://127.0.0.1:${address.port}`;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'promoter-web-'));
  await mkdir(join(root, 'web'));
  await writeFile(join(root, 'web', 'index.html'), '<!doctype html><title>page</title>');
  await writeFile(join(root, 'web', 'app.js'), 'console.log(1)');
  await writeFile(join(root, 'web', 'app.css'), 'body{}');
  // Next to the served folder: what a traversal would be after.
  await writeFile(join(root, 'secret.txt'), 'not to be served');
  await mkdir(join(root, 'empty'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(root, { recursive: true, force: true });
});

describe('dashboard files', () => {
  test('the page and its two assets, each with its type, the CSP and nosniff', async () => {
    const url = await start(join(root, 'web'));
    for (const [path, type, body] of [
      ['/', 'text/html; charset=utf-8', '<!doctype html><title>page</title>'],
      ['/assets/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
      ['/assets/app.css', 'text/css; charset=utf-8', 'body{}'],
    ] as const) {
      const r = await get(url, path);
      expect(r).toMatchObject({ status: 200, body, headers: { 'content-type': type, 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' } });
    }
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self';/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  });

  test('an unknown asset is 404, and no path leaves the folder', async () => {
    const url = await start(join(root, 'web'));
    for (const path of ['/assets/other.js', '/index.html', '/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/../../secret.txt']) {
      const r = await get(url, path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.body).not.toContain('not to be served');
    }
  });

  test('before npm run build: 503 saying so, and the API still answers', async () => {
    const url = await start(join(root, 'empty'));
    expect(await get(url, '/')).toMatchObject({ status: 503, body: JSON.stringify({ error: 'the dashboard is not built: run npm run build' }) });
    expect((await get(url, '/v1/deployments')).status).toBe(200);
  });
});

describe('GET /v1/deployments/:id/explain', () => {
  test('the explain text of a tracked deployment, by full ID or prefix; 404 for one not tracked', async () => {
    const url = await start(join(root, 'web'));
    const full = await get(url, `/v1/deployments/${ID}/explain`);
    expect(full.status).toBe(200);
    expect(full.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(full.body).toBe(
      [`Deployment ${ID} (namespace default, job web-api version 1): running in Nomad, state baking`, '  group web: policy web-canary (enforce)', '  next: wait (web): baking until 2026-11-27T10:01:00.000Z', ''].join('\n'),
    );
    expect((await get(url, `/v1/deployments/${ID.slice(0, 8)}/explain`)).body).toBe(full.body);
    expect(await get(url, '/v1/deployments/00000000-0000/explain')).toMatchObject({ status: 404, body: JSON.stringify({ error: 'deployment not tracked' }) });
  });
});
