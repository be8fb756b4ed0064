/**
 * Oversized answers from Nomad: the client caps every answer after decompression and turns a
 * larger one into a transient error, so the caller backs off instead of the process crashing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { NomadError } from '../../src/nomad/errors.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import type { Fault } from '../../src/simulator/control/faults.js';

const LIMIT = 1024 * 1024;
let sim: RunningSimulator;
let client: HttpNomadClient;

beforeAll(async () => {
  sim = await startSimulator({ apps: false });
  client = new HttpNomadClient(readNomadConfig({ NOMAD_ADDR: sim.url }).config!, { retries: 0, maxResponseBytes: LIMIT });
});
afterAll(async () => {
  client.close();
  await sim.close();
});

function fault(kind: Fault['kind'], bytes: number): void {
  sim.services.faults.add({ kind, count: 1, ms: 0, to: 0, bytes, path: '/v1/deployments' });
}

async function rejection(p: Promise<unknown>): Promise<NomadError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(NomadError);
  return err as NomadError;
}

describe('answer size limit', () => {
  test('a plain answer larger than the limit is a transient error naming the limit, and the next answer is read', async () => {
    fault('huge', 8 * LIMIT);
    const err = await rejection(client.listDeployments());
    expect(err.code).toBe('ERESPONSETOOLARGE');
    expect(err.transient).toBe(true);
    expect(err.message).toContain(`answer larger than ${LIMIT} bytes`);
    await expect(client.listDeployments()).resolves.toMatchObject({ body: [] });
  });

  test('a small gzip body that inflates past the limit is refused without inflating it all', async () => {
    fault('gzip-bomb', 64 * LIMIT);
    const err = await rejection(client.listDeployments());
    expect(err.code).toBe('ERESPONSETOOLARGE');
    expect(err.transient).toBe(true);
    await expect(client.listDeployments()).resolves.toMatchObject({ body: [] });
  });

  test('an answer within the limit is unaffected, gzip or not', async () => {
    fault('huge', LIMIT - 10);
    // Whitespace only: the body parses as no value, which the client reads as null.
    await expect(client.listDeployments()).resolves.toMatchObject({ body: null });
    fault('gzip-bomb', LIMIT - 10);
    await expect(client.listDeployments()).resolves.toMatchObject({ body: null });
  });
});
