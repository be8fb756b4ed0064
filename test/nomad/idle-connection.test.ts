import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpNomadClient } from '../../src/nomad/client.js';
import { readNomadConfig } from '../../src/nomad/config.js';

let server: Server;
let open = 0;
let opened = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'X-Nomad-Index': '5' });
    res.end('[]');
  });
  server.on('connection', (socket) => {
    open++;
    opened++;
    socket.on('close', () => open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a client with idleTimeoutMs reuses one connection, then closes it once idle', async () => {
  const { port } = server.address() as AddressInfo;
  const client = new HttpNomadClient(readNomadConfig({ NOMAD_ADDR: `http://127.0.0.1:${port}` }).config!, { idleTimeoutMs: 200 });
  for (let i = 0; i < 5; i++) await client.listDeployments();
  expect(opened).toBe(1);
  expect(open).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(open).toBe(0);
  client.close();
});
