import { expect, test } from '@jest/globals';
import { leaderLine } from '../../src/app/status-command.js';

test('status names the leader under HA, and says when the daemon asked is a standby; nothing without HA', () => {
  expect(leaderLine(new Headers({ 'x-promoter-role': 'leader', 'x-promoter-leader': 'web-1-4711' }))).toBe('leader: web-1-4711 (this daemon)');
  expect(leaderLine(new Headers({ 'x-promoter-role': 'standby', 'x-promoter-leader': 'web-1-4711' }))).toBe(
    'leader: web-1-4711 (this daemon is a standby: its view trails the leader by up to 10s)',
  );
  expect(leaderLine(new Headers({ 'x-promoter-role': 'standby' }))).toMatch(/^leader: unknown \(this daemon is a standby/);
  expect(leaderLine(new Headers())).toBeUndefined();
});
