import { describe, expect, test } from '@jest/globals';

import { resolveRunConfig } from '../../src/app/config.js';

describe('--watch-source', () => {
  test('defaults to auto; the flag wins over PROMOTER_WATCH_SOURCE', () => {
    expect(resolveRunConfig({}, {}).config?.watchSource).toBe('auto');
    expect(resolveRunConfig({}, { PROMOTER_WATCH_SOURCE: 'blocking' }).config?.watchSource).toBe('blocking');
    expect(resolveRunConfig({ 'watch-source': 'stream' }, { PROMOTER_WATCH_SOURCE: 'blocking' }).config?.watchSource).toBe('stream');
  });

  test('an unknown value is an error naming the flag, the variable and the choices', () => {
    const r = resolveRunConfig({ 'watch-source': 'events' }, {});
    expect(r.config).toBeUndefined();
    expect(r.errors).toEqual(['--watch-source / PROMOTER_WATCH_SOURCE: "events" is not one of auto, stream, blocking']);
  });
});
