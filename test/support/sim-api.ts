/** A simulator in this process with the promoter's own HTTP client on it, both closed after each test. */
import { afterEach } from '@jest/globals';

import { HttpNomadClient, type HttpNomadClientOptions } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { SimClient, withSim } from '../simulator/helpers.js';

export function simWithClient(options: HttpNomadClientOptions = { keepAlive: true }): () => Promise<{ sim: SimClient; api: HttpNomadClient }> {
  const open: { sim: SimClient; api: HttpNomadClient }[] = [];
  afterEach(async () => {
    for (const { sim, api } of open.splice(0)) {
      api.close();
      await sim.sim.close();
    }
  });
  return async () => {
    const sim = await withSim();
    const api = new HttpNomadClient(readNomadConfig({ NOMAD_ADDR: sim.sim.url }).config!, options);
    open.push({ sim, api });
    return { sim, api };
  };
}
