/**
 * Starts a real Prometheus for tests: a config in a temp dir, a free port on 127.0.0.1, and a
 * wait for /-/ready. A missing binary is an error, not a skip: CI installs the Debian
 * `prometheus` package, and a suite that silently skips proves nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface PrometheusOptions {
  /** `host:port` targets scraped as job `test`. */
  scrapeTargets?: string[];
  /** A file_sd file (JSON or YAML) watched as job `file-sd`. */
  fileSdPath?: string;
  /** Scrape and evaluation interval; default 1 s. */
  scrapeIntervalSeconds?: number;
  /** remote_read endpoints (each only for queries with `{remote="<index>"}`, to produce warnings on demand). */
  remoteReadUrls?: string[];
  /**
   * Keep the scraped series' own labels where they collide with target labels (`honor_labels`),
   * e.g. an application's `job` label instead of the scrape job's name. Default false.
   */
  honorLabels?: boolean;
  /** Extra command-line flags, e.g. `--query.max-samples=1000`. */
  args?: string[];
  /** Listen on this port (e.g. to bring a stopped Prometheus back where clients expect it). */
  port?: number;
}

export interface RunningPrometheus {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

export function prometheusBinary(): string {
  const fromEnv = process.env.PROMETHEUS_BIN;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(`PROMETHEUS_BIN=${fromEnv} does not exist. These tests need a real Prometheus and do not skip.`);
  }
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter)];
  for (const dir of dirs) {
    const candidate = join(dir, 'prometheus');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(
    'prometheus binary not found (looked in /usr/bin and PATH). Install it (Debian: `apt-get install prometheus`) ' +
      'or set PROMETHEUS_BIN. These tests need a real Prometheus and do not skip.',
  );
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const binary = prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'nomad-promoter-prom-'));
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(configPath, configYaml(options));
  // A free port can be taken between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn(
      binary,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const stderr = captureTail(child);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, stderr);
      return { url, stop: () => stop(child, dir) };
    } catch (err) {
      lastError = err;
      await kill(child);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

function configYaml(o: PrometheusOptions): string {
  const interval = `${o.scrapeIntervalSeconds ?? 1}s`;
  const lines = ['global:', `  scrape_interval: ${interval}`, `  evaluation_interval: ${interval}`, 'scrape_configs:'];
  if (o.scrapeTargets?.length) {
    lines.push('  - job_name: test', ...honor(o), '    static_configs:', `      - targets: ${JSON.stringify(o.scrapeTargets)}`);
  }
  if (o.fileSdPath) {
    lines.push('  - job_name: file-sd', ...honor(o), '    file_sd_configs:', `      - files: [${JSON.stringify(o.fileSdPath)}]`, '        refresh_interval: 1s');
  }
  if (!o.scrapeTargets?.length && !o.fileSdPath) lines[lines.length - 1] = 'scrape_configs: []';
  if (o.remoteReadUrls?.length) {
    lines.push('remote_read:');
    o.remoteReadUrls.forEach((u, i) => {
      lines.push(`  - url: ${JSON.stringify(u)}`, '    read_recent: true', '    required_matchers:', `      remote: "${i}"`);
    });
  }
  return `${lines.join('\n')}\n`;
}

function honor(o: PrometheusOptions): string[] {
  return o.honorLabels ? ['    honor_labels: true'] : [];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function captureTail(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4000);
  });
  return () => tail;
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`prometheus exited before it was ready:\n${stderr()}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus not ready after ${READY_TIMEOUT_MS} ms:\n${stderr()}`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function stop(child: ChildProcess, dir: string): Promise<void> {
  await kill(child);
  await rm(dir, { recursive: true, force: true });
}
