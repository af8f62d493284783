/** Loopback HTTP receivers for webhook tests (not shipped code paths; imported by *.test.ts only). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body's bytes as they came off the wire (what a receiver signs and verifies). */
  raw: Buffer;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** Start a receiver on 127.0.0.1 whose answer to the n-th request (0-based) is `reply(n, req)`. */
export async function startReceiver(
  reply: (n: number, r: Received, res: http.ServerResponse) => void = (_n, _r, res) => { res.writeHead(200); res.end('ok'); },
): Promise<Receiver> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r = { headers: req.headers, body: raw.toString('utf8'), raw };
      received.push(r);
      reply(received.length - 1, r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
