/** docs/status-api.md "Machine states" names exactly the machines' states. */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DEPLOYMENT_STATES, MACHINE_STATES } from '../../src/machine/machine.js';
import { GROUP_STATES, HOLDS } from '../../src/machine/group-machine.js';

const doc = readFileSync(new URL('../../docs/status-api.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Machine states'), doc.indexOf('\n## ', doc.indexOf('## Machine states') + 1));
/** The first column of each table in the section, in order. */
const tables = section.split(/\n\n/).filter((block) => block.startsWith('| state')).map((t) => [...t.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!));

describe('documented state names', () => {
  test('the group table lists every group state and no other', () => {
    expect([...tables[0]!].sort()).toEqual([...GROUP_STATES].sort());
  });

  test('the deployment table lists the deployment states beyond active', () => {
    expect([...tables[1]!].sort()).toEqual(DEPLOYMENT_STATES.filter((s) => s !== 'active').sort());
  });

  test('together they are the names status and metrics use', () => {
    expect([...new Set([...tables[0]!, ...tables[1]!])].sort()).toEqual([...MACHINE_STATES].sort());
  });

  test('every hold is named', () => {
    for (const hold of HOLDS) expect(section).toContain(`\`${hold}\``);
  });
});

test('docs/metrics.md lists the same states for nomad_promoter_deployments', () => {
  const metrics = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const line = metrics.split('\n').find((l) => l.startsWith('| `nomad_promoter_deployments` |'))!;
  const listed = [...line.slice(line.indexOf('per state')).matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!).filter((s) => s !== 'state');
  expect(listed.sort()).toEqual([...MACHINE_STATES].sort());
});
