/**
 * The container image definition: multi-stage, production dependencies only, non-root,
 * read-only-root ready, graceful stop, a health check that works without curl; and
 * .ci/image-steps.sh (the Docker-less rehearsal) still mirrors every step.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { describe, test, expect, afterAll } from '@jest/globals';
import { instructions, mirroredLines } from './lib/dockerfile.js';

const dockerfile = path.resolve('Dockerfile');
const steps = instructions(dockerfile);
const texts = steps.map((s) => s.text);
const stages = steps.filter((s) => s.keyword === 'FROM');
const finalStage = steps.slice(steps.lastIndexOf(stages[stages.length - 1]!));
const ENV_DEFAULTS: Record<string, string> = Object.fromEntries(
  finalStage.filter((s) => s.keyword === 'ENV').flatMap((s) => s.args.split(' ').map((kv) => kv.split('=') as [string, string])),
);

describe('Dockerfile', () => {
  test('runs a Node.js LTS line still in support, one the README lists as supported, on the same major in build and runtime', () => {
    // Node.js 20 left maintenance on 2026-04-30; 22 is supported until 2027-04-30, 24 until 2028-04-30.
    const build = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(texts.join('\n'))?.[1];
    const runtime = /^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs(\d+)-debian12:nonroot$/m.exec(texts.join('\n'))?.[1];
    expect(['22', '24']).toContain(build);
    expect(runtime).toBe(build);
    const readme = fs.readFileSync(path.resolve('README.md'), 'utf8');
    expect(readme).toMatch(new RegExp(`## Node\\.js versions[\\s\\S]*the container image runs Node\\.js ${build}`));
  });

  test('builds on node:24-bookworm-slim and ships on distroless nodejs24 :nonroot', () => {
    expect(texts).toContain('ARG NODE_IMAGE=node:24-bookworm-slim');
    expect(texts).toContain('ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot');
    expect(stages.map((s) => s.args)).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS prod-deps', '${RUNTIME_IMAGE}']);
  });

  test('installs production dependencies without scripts in their own stage, and copies only those', () => {
    const prodStage = steps.slice(steps.indexOf(stages[1]!), steps.indexOf(stages[2]!));
    expect(prodStage.map((s) => s.text)).toContainEqual(expect.stringContaining('npm ci --omit=dev --ignore-scripts'));
    const copies = finalStage.filter((s) => s.keyword === 'COPY').map((s) => s.args);
    expect(copies).toContain('--from=prod-deps /app/node_modules ./node_modules');
    expect(copies.filter((c) => c.includes('node_modules'))).toHaveLength(1);
    for (const part of ['package.json', 'bin', 'dist', 'examples/policies']) {
      expect(copies).toContainEqual(expect.stringMatching(new RegExp(`^--from=build /app/${part} `)));
    }
  });

  test('runs as uid 65532 with SIGTERM, port 9646 on all interfaces, OCI labels', () => {
    const user = finalStage.find((s) => s.keyword === 'USER')?.args;
    expect(user).toBe('65532:65532');
    expect(texts).toContain('STOPSIGNAL SIGTERM');
    expect(texts).toContain('EXPOSE 9646');
    expect(ENV_DEFAULTS.PROMOTER_LISTEN).toBe('0.0.0.0:9646');
    const labels = finalStage.filter((s) => s.keyword === 'LABEL').map((s) => s.args).join(' ');
    for (const l of ['title', 'description', 'licenses', 'version', 'revision', 'source']) {
      expect(labels).toContain(`org.opencontainers.image.${l}=`);
    }
  });

  test('.dockerignore keeps local builds and modules out of the context, sources in', () => {
    const ignored = fs.readFileSync(path.resolve('.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git']) expect(ignored).toContain(p);
    for (const p of ['src', 'bin', 'examples', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored).not.toContain(p);
    }
  });
});

describe('.ci/image-steps.sh mirrors the Dockerfile', () => {
  const script = path.resolve('.ci/image-steps.sh');
  const mirrored = mirroredLines(script);

  test('quotes only lines that exist in the Dockerfile', () => {
    expect(mirrored.filter((m) => !texts.includes(m))).toEqual([]);
  });

  test('mirrors every RUN, COPY, WORKDIR, USER and ENTRYPOINT', () => {
    const needed = steps.filter((s) => ['RUN', 'COPY', 'WORKDIR', 'USER', 'ENTRYPOINT'].includes(s.keyword)).map((s) => s.text);
    expect(needed.filter((t) => !mirrored.includes(t))).toEqual([]);
  });

  test('runs with the image environment', () => {
    const text = fs.readFileSync(script, 'utf8');
    for (const [key, value] of Object.entries(ENV_DEFAULTS)) {
      // Paths are rebased onto the rehearsal's root filesystem ($R); other values are the image's own.
      expect(text).toContain(value.startsWith('/') ? `${key}="$R${value}"` : `${key}=${value}`);
    }
    expect(text).toContain('setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups');
  });
});

describe('HEALTHCHECK', () => {
  const check = finalStage.find((s) => s.keyword === 'HEALTHCHECK');
  const exec = JSON.parse(/CMD (\[.*\])$/.exec(check?.args ?? '')?.[1] ?? '[]') as string[];
  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function serve(status: number): Promise<number> {
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? status : 404).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Runs the HEALTHCHECK's node -e script with this machine's node; resolves to its exit code. */
  function probe(listen: string): Promise<number> {
    return new Promise((resolve) => {
      execFile(process.execPath, exec.slice(1), { env: { PROMOTER_LISTEN: listen } }, (err) => {
        resolve(err ? Number((err as { code?: number }).code ?? 1) : 0);
      });
    });
  }

  test('is node -e from distroless, probing /healthz', () => {
    expect(check?.args).toMatch(/^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+ CMD \[/);
    expect(exec.slice(0, 2)).toEqual(['/nodejs/bin/node', '-e']);
    expect(exec[2]).toContain("path:'/healthz'");
  });

  test('passes on 200, also when the daemon listens on 0.0.0.0', async () => {
    const port = await serve(200);
    expect(await probe(`127.0.0.1:${port}`)).toBe(0);
    expect(await probe(`0.0.0.0:${port}`)).toBe(0);
  });

  test('fails on 503 and when nothing listens', async () => {
    expect(await probe(`127.0.0.1:${await serve(503)}`)).toBe(1);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await probe(`127.0.0.1:${port}`)).toBe(1);
  });
});
