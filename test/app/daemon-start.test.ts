/**
 * A start that fails on an unusable setting releases everything start-up had acquired and says
 * why with exit code 1, instead of a stack trace.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { resolveRunConfig } from '../../src/app/config.js';
import { startDaemon, StartupError } from '../../src/app/daemon.js';
import { createLogger } from '../../src/app/logger.js';
import { startHarness, type Harness } from '../e2e/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ 'web.yaml': 'name: web-bake\nmatch:\n  jobs: ["web-*"]\ncanary:\n  bake: 10s\n' });
});
afterAll(() => h.close());

/** File watchers and file operations in flight: what watching the policy directory holds open. */
const handles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('FS') || r === 'StatWatcher').sort();

test('an unusable Prometheus address fails the start with exit 1 and leaves nothing open', async () => {
  const { config } = resolveRunConfig({ policies: h.policiesDir, listen: '127.0.0.1:0' }, { NOMAD_ADDR: h.sim.url });
  const before = handles();
  // Bypasses config validation, which rejects the address first, to reach start-up's own guard.
  const start = startDaemon({ ...config!, prometheusAddr: 'http://exa mple:9090' }, { logger: createLogger('silent') });
  const err: unknown = await start.catch((e: unknown) => e);
  expect(handles()).toEqual(before);
  expect(err).toBeInstanceOf(StartupError);
  expect(err).toMatchObject({ message: '--prometheus-addr: not a URL (expected http://host[:port][/path])', exitCode: 1 });
});
