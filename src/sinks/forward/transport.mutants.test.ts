/**
 * The HTTP transport's close (mutation testing): the kept-alive connection
 * to the central is closed with it, not left for the server to time out.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/fake-pipeline.js';
import { forwardSchema } from './config.js';
import { HttpTransport } from './transport.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('HttpTransport.close', () => {
  it('closes the kept-alive connection to the central', async () => {
    let open = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    server.keepAliveTimeout = 600_000; // the server never closes it on its own during the test
    server.on('connection', (s) => {
      open++;
      s.on('close', () => open--);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const t = new HttpTransport(forwardSchema.parse({ url: `http://127.0.0.1:${port}/api/ingest`, allow_hosts: [`127.0.0.1:${port}`], gzip: false }));
    expect((await t.send({ ndjson: Buffer.from('{"seq":1}\n'), records: 1, key: 'a-1' }, 5000)).ok).toBe(true);
    expect(open).toBe(1); // kept alive after the answer
    t.close();
    await waitFor(() => open === 0, 'the connection closed');
  });
});
