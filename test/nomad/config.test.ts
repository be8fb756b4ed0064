import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNomadConfig, redactedConfig } from '../../src/nomad/config.js';
import { makePki, tempDir, type Pki } from './fake-nomad.js';

const TOKEN = '3f0b1c1e-secret-token-value-7a6d5b4c';
const PASSWORD = 'hunter2-very-secret';

let tmp: ReturnType<typeof tempDir>;
let pki: Pki;

beforeAll(() => {
  tmp = tempDir('nomad-config-');
  pki = makePki(tmp.dir);
});
afterAll(() => tmp.remove());

describe('readNomadConfig', () => {
  test('no variables: the local agent over http, namespace left to the caller', () => {
    const { config, errors } = readNomadConfig({});
    expect(errors).toEqual([]);
    expect(config).toMatchObject({
      address: 'http://127.0.0.1:4646',
      protocol: 'http',
      host: '127.0.0.1',
      port: 4646,
      basePath: '',
      tls: { skipVerify: false },
    });
    expect(config?.token).toBeUndefined();
    expect(config?.namespace).toBeUndefined();
    expect(config?.region).toBeUndefined();
  });

  test('empty variables count as unset, like Nomad', () => {
    const { config, errors } = readNomadConfig({ NOMAD_ADDR: '', NOMAD_TOKEN: '', NOMAD_NAMESPACE: '' });
    expect(errors).toEqual([]);
    expect(config?.address).toBe('http://127.0.0.1:4646');
    expect(config?.token).toBeUndefined();
    expect(config?.namespace).toBeUndefined();
  });

  test('reads every standard variable', () => {
    const { config, errors } = readNomadConfig({
      NOMAD_ADDR: 'https://nomad.example.com:4646',
      NOMAD_TOKEN: TOKEN,
      NOMAD_REGION: 'eu',
      NOMAD_NAMESPACE: 'apps',
      NOMAD_CACERT: pki.caCert,
      NOMAD_CLIENT_CERT: pki.clientCert,
      NOMAD_CLIENT_KEY: pki.clientKey,
      NOMAD_TLS_SERVER_NAME: 'server.global.nomad',
      NOMAD_SKIP_VERIFY: 'false',
      NOMAD_HTTP_AUTH: `ops:${PASSWORD}`,
    });
    expect(errors).toEqual([]);
    expect(config).toMatchObject({
      protocol: 'https',
      host: 'nomad.example.com',
      port: 4646,
      token: TOKEN,
      region: 'eu',
      namespace: 'apps',
      httpAuth: { username: 'ops', password: PASSWORD },
      tls: { caFile: pki.caCert, serverName: 'server.global.nomad', skipVerify: false },
    });
    expect(config?.tls.ca?.[0]).toContain('BEGIN CERTIFICATE');
    expect(config?.tls.cert).toContain('BEGIN CERTIFICATE');
    expect(config?.tls.key).toContain('PRIVATE KEY');
  });

  test('https without a port uses 443; a path prefix is kept for reverse proxies', () => {
    const { config } = readNomadConfig({ NOMAD_ADDR: 'https://proxy.example.com/nomad/' });
    expect(config).toMatchObject({ protocol: 'https', port: 443, basePath: '/nomad' });
  });

  test('unix:// addresses name a socket path', () => {
    const { config, errors } = readNomadConfig({ NOMAD_ADDR: 'unix:///var/run/nomad.sock' });
    expect(errors).toEqual([]);
    expect(config).toMatchObject({ socketPath: '/var/run/nomad.sock', protocol: 'http' });
  });

  test('HTTP auth without a colon is a user with an empty password', () => {
    const { config } = readNomadConfig({ NOMAD_HTTP_AUTH: 'ops' });
    expect(config?.httpAuth).toEqual({ username: 'ops', password: '' });
  });

  test('NOMAD_SKIP_VERIFY accepts Go booleans', () => {
    for (const v of ['1', 't', 'TRUE', 'true', 'True']) {
      expect(readNomadConfig({ NOMAD_SKIP_VERIFY: v }).config?.tls.skipVerify).toBe(true);
    }
    for (const v of ['0', 'f', 'false']) {
      expect(readNomadConfig({ NOMAD_SKIP_VERIFY: v }).config?.tls.skipVerify).toBe(false);
    }
  });

  test('NOMAD_CAPATH loads every certificate in the directory', () => {
    const dir = join(tmp.dir, 'cas');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.pem'), readPem(pki.caCert));
    writeFileSync(join(dir, 'b.crt'), readPem(pki.otherCaCert));
    writeFileSync(join(dir, 'README'), 'not a certificate');
    const { config, errors } = readNomadConfig({ NOMAD_ADDR: 'https://127.0.0.1:4646', NOMAD_CAPATH: dir });
    expect(errors).toEqual([]);
    expect(config?.tls.caPath).toBe(dir);
    expect(config?.tls.ca).toHaveLength(2);
  });

  test('NOMAD_CACERT wins over NOMAD_CAPATH, with a warning', () => {
    const { config, warnings } = readNomadConfig({
      NOMAD_ADDR: 'https://127.0.0.1:4646',
      NOMAD_CACERT: pki.caCert,
      NOMAD_CAPATH: tmp.dir,
    });
    expect(config?.tls.ca).toHaveLength(1);
    expect(warnings.join('\n')).toMatch(/NOMAD_CAPATH ignored/);
  });

  test('TLS variables with an http address are warned about', () => {
    const { warnings } = readNomadConfig({ NOMAD_CACERT: pki.caCert });
    expect(warnings.join('\n')).toMatch(/NOMAD_CACERT.*not https/);
  });

  test('every error is reported at once, each naming its variable, never a secret', () => {
    const badToken = `${TOKEN}\n`;
    const { config, errors } = readNomadConfig({
      NOMAD_ADDR: 'ftp://nomad:4646',
      NOMAD_TOKEN: badToken,
      NOMAD_SKIP_VERIFY: 'maybe',
      NOMAD_CACERT: join(tmp.dir, 'missing-ca.pem'),
      NOMAD_CLIENT_CERT: pki.clientCert,
      NOMAD_HTTP_AUTH: `:${PASSWORD}`,
    });
    expect(config).toBeUndefined();
    const all = errors.join('\n');
    for (const name of ['NOMAD_ADDR', 'NOMAD_TOKEN', 'NOMAD_SKIP_VERIFY', 'NOMAD_CACERT', 'NOMAD_CLIENT_CERT', 'NOMAD_HTTP_AUTH']) {
      expect(all).toContain(name);
    }
    expect(errors.length).toBeGreaterThanOrEqual(6);
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(PASSWORD);
  });

  test('an address without a scheme is rejected', () => {
    const { errors } = readNomadConfig({ NOMAD_ADDR: '127.0.0.1:4646' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^NOMAD_ADDR/);
  });

  test('credentials in NOMAD_ADDR are refused without being echoed', () => {
    const { errors } = readNomadConfig({ NOMAD_ADDR: `https://ops:${PASSWORD}@nomad:4646` });
    expect(errors.join('\n')).toMatch(/NOMAD_ADDR.*NOMAD_HTTP_AUTH/);
    expect(errors.join('\n')).not.toContain(PASSWORD);
  });

  test('NOMAD_CAPATH that is not a directory, and a key file without a key', () => {
    const { errors } = readNomadConfig({
      NOMAD_ADDR: 'https://127.0.0.1:4646',
      NOMAD_CAPATH: pki.caCert,
      NOMAD_CLIENT_CERT: pki.clientCert,
      NOMAD_CLIENT_KEY: pki.clientCert,
    });
    expect(errors.join('\n')).toMatch(/NOMAD_CAPATH: .* not a directory/);
    expect(errors.join('\n')).toMatch(/NOMAD_CLIENT_KEY: no PEM private key/);
  });
});

describe('redactedConfig', () => {
  test('never holds the token, the HTTP auth password or key material', () => {
    const { config } = readNomadConfig({
      NOMAD_ADDR: 'https://127.0.0.1:4646',
      NOMAD_TOKEN: TOKEN,
      NOMAD_HTTP_AUTH: `ops:${PASSWORD}`,
      NOMAD_CACERT: pki.caCert,
      NOMAD_CLIENT_CERT: pki.clientCert,
      NOMAD_CLIENT_KEY: pki.clientKey,
    });
    const shown = JSON.stringify(redactedConfig(config!));
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).toContain('https://127.0.0.1:4646');
    expect(shown).toContain('ops:[redacted]');
    expect(shown).toContain(pki.clientKey);
  });
});

function readPem(path: string): string {
  return readNomadConfig({ NOMAD_ADDR: 'https://x', NOMAD_CACERT: path }).config!.tls.ca![0]!;
}
