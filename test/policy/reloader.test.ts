import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPolicyError } from '../../src/policy/load.js';
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
