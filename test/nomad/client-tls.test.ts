import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';
import { NomadError } from '../../src/nomad/errors.js';
import { json, makePki, startFakeNomad, tempDir, type FakeNomad, type Pki } from './fake-nomad.js';

let tmp: ReturnType<typeof tempDir>;
let pki: Pki;
let fake: FakeNomad | undefined;
let client: HttpNomadClient | undefined;

beforeAll(() => {
  tmp = tempDir('nomad-tls-');
  pki = makePki(tmp.dir);
});
afterAll(() => tmp.remove());
afterEach(async () => {
  client?.close();
  client = undefined;
  await fake?.close();
  fake = undefined;
});

const FAST = { minRetryDelayMs: 1, maxRetryDelayMs: 5 };

async function server(opts: { named?: boolean; requireClientCert?: boolean } = {}): Promise<FakeNomad> {
  fake = await startFakeNomad(
    (_r, res) => json(res, [], { 'X-Nomad-Index': 3 }),
    {
      tls: {
        cert: readFileSync(opts.named ? pki.namedServerCert : pki.serverCert),
        key: readFileSync(opts.named ? pki.namedServerKey : pki.serverKey),
        ca: readFileSync(pki.caCert),
        requestCert: !!opts.requireClientCert,
        rejectUnauthorized: !!opts.requireClientCert,
      },
    },
  );
  return fake;
}

function connect(env: NodeJS.ProcessEnv): HttpNomadClient {
  const { config, errors } = readNomadConfig({ NOMAD_ADDR: fake!.addr, ...env });
  expect(errors).toEqual([]);
  client = new HttpNomadClient(config!, { ...FAST, retries: 2 });
  return client;
}

describe('TLS', () => {
  test('NOMAD_CACERT: a server signed by that CA is trusted', async () => {
    await server();
    const res = await connect({ NOMAD_CACERT: pki.caCert }).listDeployments();
    expect(res.index).toBe(3);
  });

  test('NOMAD_CAPATH: a directory holding the CA works too', async () => {
    await server();
    const res = await connect({ NOMAD_CAPATH: tmp.dir }).listDeployments();
    expect(res.index).toBe(3);
  });

  test('a server signed by an unknown CA is refused, once, as a final error', async () => {
    const f = await server();
    const err = (await connect({ NOMAD_CACERT: pki.otherCaCert }).listDeployments().catch((e: unknown) => e)) as NomadError;
    expect(err).toBeInstanceOf(NomadError);
    expect(err.status).toBe(0);
    expect(err.transient).toBe(false);
    // Refused during the handshake: Nomad never saw a request, and no retry was made.
    expect(f.requests).toHaveLength(0);
    expect(f.connections).toBe(0);
    expect(f.tcpConnections).toBe(1);
  });

  test('NOMAD_SKIP_VERIFY accepts a certificate nothing vouches for', async () => {
    await server();
    const res = await connect({ NOMAD_SKIP_VERIFY: 'true' }).listDeployments();
    expect(res.index).toBe(3);
  });

  test('NOMAD_TLS_SERVER_NAME: the certificate is checked against that name, not the address', async () => {
    await server({ named: true });
    const without = await connect({ NOMAD_CACERT: pki.caCert }).listDeployments().catch((e: unknown) => e);
    expect(without).toBeInstanceOf(NomadError);
    expect((without as NomadError).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    client!.close();

    const res = await connect({ NOMAD_CACERT: pki.caCert, NOMAD_TLS_SERVER_NAME: 'server.global.nomad' }).listDeployments();
    expect(res.index).toBe(3);
  });

  test('mTLS: with NOMAD_CLIENT_CERT/KEY the server sees our certificate', async () => {
    const f = await server({ requireClientCert: true });
    await connect({
      NOMAD_CACERT: pki.caCert,
      NOMAD_CLIENT_CERT: pki.clientCert,
      NOMAD_CLIENT_KEY: pki.clientKey,
    }).listDeployments();
    expect(f.requests).toHaveLength(1);
    expect((f.requests[0]!.req.socket as TLSSocket).getPeerCertificate().subject.CN).toBe('nomad-promoter');
  });

  test('mTLS: without a client certificate the call fails and Nomad never sees a request', async () => {
    const f = await server({ requireClientCert: true });
    const err = await connect({ NOMAD_CACERT: pki.caCert }).listDeployments().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NomadError);
    expect((err as NomadError).status).toBe(0);
    // A refused handshake is configuration, not weather: not retried.
    expect((err as NomadError).transient).toBe(false);
    expect(f.tcpConnections).toBe(1);
    expect(f.requests).toHaveLength(0);
  });
});

describe('unix socket', () => {
  test('NOMAD_ADDR=unix:///path talks plain HTTP over the socket', async () => {
    const sockDir = tempDir('nomad-sock-');
    try {
      fake = await startFakeNomad((_r, res) => json(res, [{ ID: 'd1' }], { 'X-Nomad-Index': 11 }), {
        socketPath: join(sockDir.dir, 'nomad.sock'),
      });
      const res = await connect({ NOMAD_TOKEN: 'sock-token-1234' }).listDeployments({ index: 0, waitMs: 400 });
      expect(res.index).toBe(11);
      expect(res.body).toEqual([{ ID: 'd1' }]);
      expect(fake.requests[0]!.headers['x-nomad-token']).toBe('sock-token-1234');
      expect(fake.requests[0]!.query.get('index')).toBe('1');
      await fake.close();
      fake = undefined;
    } finally {
      sockDir.remove();
    }
  });
});
