/**
 * Holds the policy set in force and replaces it only with a valid one: on file changes in the
 * watched paths (debounced, since editors write in bursts), on SIGHUP (the daemon calls
 * reload()), or on demand. An invalid edit is rejected and the last valid set stays.
 */
import { watch as fsWatch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Policy } from '../domain/policy.js';
import type { PolicyError, PolicyLoadResult } from './errors.js';
import { loadPolicies } from './load.js';

export interface ReloadResult {
  ok: boolean;
  errors: PolicyError[];
  /** True when a valid load replaced a different set. */
  changed: boolean;
  /** The set in force after this reload (the previous one when the load was invalid). */
  policies: readonly Policy[];
}

export interface PolicyReloaderOptions {
  /** Quiet time after the last file event before reloading (default 200 ms). */
  debounceMs?: number;
  /** Loader, replaceable in tests. */
  load?: (paths: string[]) => Promise<PolicyLoadResult>;
}

type Listener<T> = (value: T) => void;

const POLICY_FILE = /\.ya?ml$/i;

/**
 * Whether a file event in a watched directory may change the policies: a policy file (or the one
 * watched file), an event without a name (the platform did not say), or a name starting with
 * `..`. A Kubernetes ConfigMap or Secret volume updates by writing a new `..<timestamp>`
 * directory and swapping the `..data` symlink to it (through `..data_tmp`); the `x.yaml ->
 * ..data/x.yaml` links themselves never change, so these are the only events of an update.
 */
function concerns(name: string | undefined, only: string | undefined): boolean {
  if (!name || name.startsWith('..')) return true;
  return only ? name === only : POLICY_FILE.test(name);
}

export class PolicyReloader {
  private currentSet: readonly Policy[] = [];
  private fingerprint: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watchers = new Set<FSWatcher>();
  /** The watch on each watched directory, by path, replaced when the directory is recreated. */
  private readonly directoryWatchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners = new Set<Listener<ReloadResult>>();
  private readonly debounceMs: number;
  private readonly load: (paths: string[]) => Promise<PolicyLoadResult>;

  private readonly paths: string[];

  /** `paths`: policy files and directories, as for loadPolicies. */
  constructor(paths: string | string[], options: PolicyReloaderOptions = {}) {
    this.paths = typeof paths === 'string' ? [paths] : [...paths];
    this.debounceMs = options.debounceMs ?? 200;
    this.load = options.load ?? loadPolicies;
  }

  /** The policy set in force: the last valid load (empty before the first one). */
  get policies(): readonly Policy[] {
    return this.currentSet;
  }

  /** Alias of `policies`. */
  get current(): readonly Policy[] {
    return this.currentSet;
  }

  /** True once a valid set has been loaded. */
  get loaded(): boolean {
    return this.fingerprint !== undefined;
  }

  /** Loads the paths again; reloads run one at a time, in call order. */
  reload(): Promise<ReloadResult> {
    const next = this.queue.then(() => this.reloadNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const loaded = await this.load(this.paths);
      if (loaded.errors.length > 0) {
        result = { ok: false, errors: loaded.errors, changed: false, policies: this.currentSet };
      } else {
        const fingerprint = JSON.stringify(loaded.policies);
        const changed = fingerprint !== this.fingerprint;
        this.fingerprint = fingerprint;
        if (changed) this.currentSet = loaded.policies;
        result = { ok: true, errors: [], changed, policies: this.currentSet };
      }
    } catch (e) {
      const message = `cannot load policies: ${(e as Error).message ?? String(e)}`;
      result = {
        ok: false,
        errors: [{ file: this.paths.join(','), line: 0, column: 0, message }],
        changed: false,
        policies: this.currentSet,
      };
    }
    for (const l of this.listeners) {
      try {
        l(result);
      } catch {
        // A listener's failure must not stop reloads or other listeners.
      }
    }
    return result;
  }

  /**
   * Called after every reload attempt (file change, SIGHUP, explicit call), valid or not:
   * `changed` tells whether a new set took effect, `errors` why an edit was rejected.
   * Returns an unsubscribe function.
   */
  onChange(listener: Listener<ReloadResult>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts watching the paths: directories for any *.yaml / *.yml change, files through their
   * directory (editors often replace a file rather than write it in place); in both, also for
   * the `..data` symlink swap of a Kubernetes ConfigMap volume (see `concerns`). The parent of
   * each watched directory is watched too: a watch follows the directory it was opened on, so
   * when that directory is removed and created again (or appears later) it is opened anew.
   */
  async watch(): Promise<void> {
    for (const p of this.paths) {
      const isDir = await stat(p).then(
        (info) => info.isDirectory(),
        () => !POLICY_FILE.test(p), // missing: a directory unless named like a policy file
      );
      if (this.closed) return;
      const dir = isDir ? p : dirname(p);
      const only = isDir ? undefined : basename(p);
      this.watchDirectory(dir, only);
      this.open(dirname(dir), (name) => {
        if (name !== undefined && name !== basename(dir)) return;
        this.watchDirectory(dir, only);
        this.requestReload();
      });
    }
  }

  /** (Re)opens the watch on `dir`; when it does not exist, the parent's watch opens it later. */
  private watchDirectory(dir: string, only: string | undefined): void {
    this.directoryWatchers.get(dir)?.close();
    this.directoryWatchers.delete(dir);
    const watcher = this.open(dir, (name) => {
      if (concerns(name, only)) this.requestReload();
    });
    if (watcher) this.directoryWatchers.set(dir, watcher);
  }

  private open(dir: string, onEvent: (name: string | undefined) => void): FSWatcher | undefined {
    if (this.closed) return undefined;
    let watcher: FSWatcher;
    try {
      watcher = fsWatch(dir, { persistent: false }, (_event, name) => onEvent(name?.toString()));
    } catch {
      return undefined; // missing; SIGHUP still reloads
    }
    watcher.on('error', () => watcher.close());
    this.watchers.add(watcher);
    watcher.on('close', () => this.watchers.delete(watcher));
    return watcher;
  }

  /**
   * Asks for a reload after `debounceMs` of quiet: what the watcher calls on each file event.
   * Several requests within that time lead to one reload.
   */
  requestReload(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) void this.reload();
    }, this.debounceMs);
  }

  /** Stops watching; the current set stays readable. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of [...this.watchers]) w.close();
    this.directoryWatchers.clear();
  }
}
