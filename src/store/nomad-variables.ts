/**
 * Machine snapshots kept in Nomad Variables, so that a restarted (or rescheduled) promoter
 * picks up every deployment where it left off: measurements, owed rollbacks, decisions.
 *
 * One variable per deployment at `<prefix>/<deploymentId>`. Reads are served from memory,
 * loaded at start; every change is written through to Nomad with check-and-set, and an
 * unchanged snapshot is not written again. A check-and-set conflict re-reads, never overwrites. A write that fails leaves memory untouched, so the
 * reconcile that made it fails and is retried: its effects are idempotent, nothing is lost.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { StoredSnapshot } from '../machine/machine.js';
import type { NomadApi, Variable } from '../nomad/api.js';
import { isNomadError } from '../nomad/errors.js';
import { SnapshotConflictError, type SnapshotStore } from './store.js';
import { readSnapshot } from './read.js';

/** Nomad refuses variables above 64 KiB; large snapshots are gzipped below that. */
const PLAIN_LIMIT = 48 * 1024;

interface Entry {
  raw: string;
  modifyIndex: number;
}

export interface NomadVariablesStoreOptions {
  namespace: string;
  /** Path prefix, without trailing slash (default `nomad-promoter/deployments`). */
  prefix?: string;
  /** Told about variables that cannot be read back (bad JSON): they are skipped, not fatal. */
  onUnreadable?: (path: string, reason: string) => void;
}

export class NomadVariablesStore implements SnapshotStore {
  private readonly entries = new Map<string, Entry>();
  private readonly namespace: string;
  private readonly prefix: string;

  constructor(
    private readonly api: NomadApi,
    private readonly options: NomadVariablesStoreOptions,
  ) {
    this.namespace = options.namespace;
    this.prefix = options.prefix ?? 'nomad-promoter/deployments';
  }

  /**
   * Brings memory to what Nomad holds: at start, when this replica becomes the HA leader (the
   * last leader's decisions win over an old copy), and periodically on a standby. Only variables
   * whose ModifyIndex changed are read again; those gone are forgotten.
   */
  async load(signal?: AbortSignal): Promise<number> {
    const listed = await this.api.listVariables(`${this.prefix}/`, this.namespace, signal);
    const entries = new Map<string, Entry>();
    for (const meta of listed) {
      const id = meta.Path.slice(this.prefix.length + 1);
      const known = this.entries.get(id);
      if (known?.modifyIndex === meta.ModifyIndex) {
        entries.set(id, known);
        continue;
      }
      const variable = await this.api.readVariable(meta.Path, this.namespace, signal);
      const entry = variable && this.entryOf(variable);
      if (entry) entries.set(id, entry);
    }
    this.entries.clear();
    for (const [id, entry] of entries) this.entries.set(id, entry);
    return this.entries.size;
  }

  async get(deploymentId: string): Promise<StoredSnapshot | undefined> {
    const entry = this.entries.get(deploymentId);
    return entry && readSnapshot(entry.raw);
  }

  async put(deploymentId: string, snapshot: StoredSnapshot): Promise<void> {
    const raw = JSON.stringify(snapshot);
    const known = this.entries.get(deploymentId);
    if (known?.raw === raw) return;
    const path = this.path(deploymentId);
    let written;
    try {
      written = await this.api.writeVariable(path, this.namespace, encode(raw), known?.modifyIndex ?? 0);
    } catch (err) {
      if (!(isNomadError(err) && err.status === 409)) throw err;
      // Someone wrote it since we read it (another replica, a restore): take theirs and let the
      // reconciler decide again from it. Overwriting would undo a decision we never saw.
      await this.reread(deploymentId);
      throw new SnapshotConflictError(deploymentId);
    }
    this.entries.set(deploymentId, { raw, modifyIndex: written.ModifyIndex });
  }

  async delete(deploymentId: string): Promise<void> {
    if (!this.entries.has(deploymentId)) return;
    await this.api.deleteVariable(this.path(deploymentId), this.namespace);
    this.entries.delete(deploymentId);
  }

  async list(): Promise<StoredSnapshot[]> {
    return [...this.entries.values()].flatMap((e) => readSnapshot(e.raw) ?? []);
  }

  /** Memory takes what Nomad holds now for one deployment (nothing, when it is gone). */
  private async reread(deploymentId: string): Promise<void> {
    const variable = await this.api.readVariable(this.path(deploymentId), this.namespace);
    const entry = variable && this.entryOf(variable);
    if (entry) this.entries.set(deploymentId, entry);
    else this.entries.delete(deploymentId);
  }

  private entryOf(variable: Variable): Entry | undefined {
    try {
      const raw = decode(variable.Items);
      JSON.parse(raw);
      return { raw, modifyIndex: variable.ModifyIndex };
    } catch (err) {
      this.options.onUnreadable?.(variable.Path, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  private path(deploymentId: string): string {
    return `${this.prefix}/${deploymentId}`;
  }
}

function encode(raw: string): Record<string, string> {
  if (raw.length <= PLAIN_LIMIT) return { snapshot: raw };
  return { snapshotGzip: gzipSync(raw).toString('base64') };
}

function decode(items: Record<string, string>): string {
  if (items.snapshot !== undefined) return items.snapshot;
  if (items.snapshotGzip !== undefined) return gunzipSync(Buffer.from(items.snapshotGzip, 'base64')).toString('utf8');
  throw new Error('no snapshot item');
}
