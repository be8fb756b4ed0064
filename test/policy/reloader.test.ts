import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPolicyError, loadPolicies } from '../../src/policy/load.js';
import { PolicyReloader } from '../../src/policy/reloader.js';
import type { ReloadResult } from '../../src/policy/reloader.js';

let dir: string;
let reloader: PolicyReloader | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reloader-'));
});
afterEach(async () => {
  reloader?.close();
  reloader = undefined;
  await rm(dir, { recursive: true, force: true });
});

const names = (r: PolicyReloader) => r.policies.map((p) => p.name);

/** Resolves at the first reload after which the policy names are `want` (file events may come in several steps). */
function reloadedTo(r: PolicyReloader, want: string[]): Promise<void> {
  return new Promise((resolve) => {
    const off = r.onChange(() => {
      if (JSON.stringify([...names(r)].sort()) !== JSON.stringify(want)) return;
      off();
      resolve();
    });
  });
}

describe('PolicyReloader', () => {
  test('valid -> invalid keeps the last valid set -> valid again replaces it', async () => {
    const file = join(dir, 'p.yaml');
    await writeFile(file, 'name: first\n');
    reloader = new PolicyReloader([dir]);
    const seen: ReloadResult[] = [];
    reloader.onChange((r) => seen.push(r));

    expect(reloader.loaded).toBe(false);
    expect(await reloader.reload()).toMatchObject({ ok: true, changed: true, errors: [] });
    expect(names(reloader)).toEqual(['first']);

    await writeFile(file, 'name: second\nmode: yolo\n');
    const bad = await reloader.reload();
    expect(bad.ok).toBe(false);
    expect(bad.errors.map(formatPolicyError)).toEqual([`${file}:2:7: mode: invalid value "yolo" (expected one of: enforce, dry-run)`]);
    expect(names(reloader)).toEqual(['first']);
    expect(bad.policies.map((p) => p.name)).toEqual(['first']);

    await writeFile(file, 'name: second\n');
    expect(await reloader.reload()).toMatchObject({ ok: true, changed: true });
    expect(names(reloader)).toEqual(['second']);
    expect(reloader.current).toBe(reloader.policies);

    expect(await reloader.reload()).toMatchObject({ ok: true, changed: false });
    expect(seen.map((r) => [r.ok, r.changed])).toEqual([
      [true, true],
      [false, false],
      [true, true],
      [true, false],
    ]);
  });

  test('an invalid set at start leaves nothing loaded', async () => {
    await writeFile(join(dir, 'p.yaml'), 'name: BAD\n');
    reloader = new PolicyReloader(dir);
    expect((await reloader.reload()).ok).toBe(false);
    expect(reloader.loaded).toBe(false);
    expect(reloader.policies).toEqual([]);
  });

  test('a file change in the watched directory triggers a reload', async () => {
    await writeFile(join(dir, 'p.yaml'), 'name: first\n');
    reloader = new PolicyReloader([dir], { debounceMs: 20 });
    await reloader.reload();
    await reloader.watch();
    const done = reloadedTo(reloader, ['added', 'first']);
    await writeFile(join(dir, 'q.yaml'), 'name: added\n');
    await done;
    expect(names(reloader).sort()).toEqual(['added', 'first']);
  });

  test('the watched directory removed and created again: files in the new one are still seen', async () => {
    const policies = join(dir, 'policies');
    await mkdir(policies);
    await writeFile(join(policies, 'p.yaml'), 'name: first\n');
    reloader = new PolicyReloader([policies], { debounceMs: 20 });
    await reloader.reload();
    await reloader.watch();
    await rm(policies, { recursive: true });
    await mkdir(policies);
    const recreated = reloadedTo(reloader, ['second']);
    await writeFile(join(policies, 'p.yaml'), 'name: second\n');
    await recreated;
    // The new directory itself is watched, not only its parent: a later edit is seen too.
    const edited = reloadedTo(reloader, ['third']);
    await writeFile(join(policies, 'p.yaml'), 'name: third\n');
    await edited;
    expect(names(reloader)).toEqual(['third']);
  });

  test('a directory missing when watching starts is watched once it appears', async () => {
    const policies = join(dir, 'later');
    reloader = new PolicyReloader([policies], { debounceMs: 20 });
    expect((await reloader.reload()).ok).toBe(false);
    await reloader.watch();
    await mkdir(policies);
    const done = reloadedTo(reloader, ['late']);
    await writeFile(join(policies, 'p.yaml'), 'name: late\n');
    await done;
  });

  test('a burst of change requests is debounced into one reload', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      let loads = 0;
      reloader = new PolicyReloader(['x'], {
        debounceMs: 200,
        load: async () => {
          loads++;
          return { policies: [], errors: [] };
        },
      });
      for (let i = 0; i < 5; i++) {
        reloader.requestReload();
        jest.advanceTimersByTime(50);
      }
      expect(loads).toBe(0);
      jest.advanceTimersByTime(149);
      expect(loads).toBe(0);
      jest.advanceTimersByTime(1);
      await new Promise((r) => setImmediate(r));
      expect(loads).toBe(1);
      reloader.close();
      reloader.requestReload();
      jest.advanceTimersByTime(1000);
      await new Promise((r) => setImmediate(r));
      expect(loads).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a watched single file is reloaded when an editor replaces it', async () => {
    const file = join(dir, 'one.yaml');
    await writeFile(file, 'name: first\n');
    reloader = new PolicyReloader([file], { debounceMs: 20 });
    await reloader.reload();
    await reloader.watch();
    const done = reloadedTo(reloader, ['replaced']);
    await writeFile(`${file}.tmp`, 'name: replaced\n');
    await rename(`${file}.tmp`, file);
    await done;
    expect(names(reloader)).toEqual(['replaced']);
  });

  describe('a Kubernetes ConfigMap volume', () => {
    /**
     * Lays `dir` out like the kubelet does: `..<timestamp>/<key>` holds the data, `..data` links
     * to it, and each key is a link through `..data`.
     */
    async function configMap(files: Record<string, string>): Promise<void> {
      const version = '..2026_01_01_00_00_00.000000001';
      await mkdir(join(dir, version));
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, version, name), text);
      await symlink(version, join(dir, '..data'));
      for (const name of Object.keys(files)) await symlink(join('..data', name), join(dir, name));
    }

    /** An update as the kubelet's atomic writer does it: new directory, `..data` swapped by rename. */
    async function update(files: Record<string, string>): Promise<void> {
      const version = '..2026_01_02_00_00_00.000000002';
      await mkdir(join(dir, version));
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, version, name), text);
      await symlink(version, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, '..2026_01_01_00_00_00.000000001'), { recursive: true });
    }

    test('each policy is loaded once, not again through ..data', async () => {
      await configMap({ 'a.yaml': 'name: first\n', 'b.yml': 'name: other\n' });
      const r = await loadPolicies([dir]);
      expect(r.errors.map(formatPolicyError)).toEqual([]);
      expect(r.policies.map((p) => p.name)).toEqual(['first', 'other']);
      expect(r.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
    });

    test('the ..data swap of an update triggers a reload of the directory', async () => {
      await configMap({ 'x.yaml': 'name: first\n' });
      reloader = new PolicyReloader([dir], { debounceMs: 20 });
      expect((await reloader.reload()).ok).toBe(true);
      expect(names(reloader)).toEqual(['first']);
      await reloader.watch();
      const done = reloadedTo(reloader, ['second']);
      await update({ 'x.yaml': 'name: second\n' });
      await done;
      expect(names(reloader)).toEqual(['second']);
    });

    test('the ..data swap of an update triggers a reload of a watched file', async () => {
      await configMap({ 'x.yaml': 'name: first\n' });
      reloader = new PolicyReloader([join(dir, 'x.yaml')], { debounceMs: 20 });
      expect((await reloader.reload()).ok).toBe(true);
      await reloader.watch();
      const done = reloadedTo(reloader, ['second']);
      await update({ 'x.yaml': 'name: second\n' });
      await done;
      expect(names(reloader)).toEqual(['second']);
    });
  });

  test('events for files that are no policies do not reload', async () => {
    await writeFile(join(dir, 'p.yaml'), 'name: first\n');
    reloader = new PolicyReloader([dir], { debounceMs: 20 });
    await reloader.reload();
    let reloads = 0;
    reloader.onChange(() => reloads++);
    await reloader.watch();
    await writeFile(join(dir, 'notes.txt'), 'hello');
    await writeFile(join(dir, '.p.yaml.swp'), 'x');
    await new Promise((r) => setTimeout(r, 200));
    expect(reloads).toBe(0);
  });

  test('reloads run one at a time, in call order', async () => {
    const order: string[] = [];
    let call = 0;
    reloader = new PolicyReloader(['x'], {
      load: async () => {
        const n = ++call;
        order.push(`start ${n}`);
        await new Promise((r) => setImmediate(r));
        order.push(`end ${n}`);
        return { policies: [], errors: [] };
      },
    });
    await Promise.all([reloader.reload(), reloader.reload()]);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  test('a throwing loader or listener does not break reloading', async () => {
    let fail = true;
    reloader = new PolicyReloader(['x'], {
      load: async () => {
        if (fail) throw new Error('disk on fire');
        return { policies: [], errors: [] };
      },
    });
    reloader.onChange(() => {
      throw new Error('listener bug');
    });
    const r = await reloader.reload();
    expect(r.ok).toBe(false);
    expect(r.errors[0]?.message).toBe('cannot load policies: disk on fire');
    fail = false;
    expect((await reloader.reload()).ok).toBe(true);
  });
});
