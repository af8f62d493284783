import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { readInto, readIntoAvailable } from './read-into.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A server whose connections read through readInto into one shared buffer; what each connection got, in order. */
async function serve(shared: Buffer, onConn: (s: net.Socket, got: Buffer[], views: Buffer[]) => void = () => undefined) {
  const conns: { got: Buffer[]; views: Buffer[]; dataEvents: number; ended: Promise<void>; socket: net.Socket; used: boolean }[] = [];
  const server = net.createServer((socket) => {
    const c = { got: [] as Buffer[], views: [] as Buffer[], dataEvents: 0, ended: new Promise<void>((r) => socket.once('end', () => r())), socket, used: false };
    c.used = readInto(socket, shared, (bytes) => {
      c.views.push(bytes);
      c.got.push(Buffer.from(bytes)); // valid only during the call: copied
    });
    socket.on('data', () => c.dataEvents++);
    conns.push(c);
    onConn(socket, c.got, c.views);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, conns };
}

function send(port: number, payload: Buffer, pieces: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' }, () => {
      const step = Math.ceil(payload.length / pieces);
      for (let i = 0; i < payload.length; i += step) c.write(payload.subarray(i, i + step));
      c.end();
    });
    c.on('error', reject);
    c.on('close', () => resolve());
  });
}

describe('readInto: an accepted socket reads into one reused buffer', () => {
  it('is available on the Node versions CI runs (else the syslog TCP listener falls back to a buffer per read)', () => {
    expect(readIntoAvailable()).toBe(true);
  });

  it('delivers every byte in order through the callback, never as a data event, in views of the one buffer', async () => {
    const shared = Buffer.alloc(4096);
    const { port, conns } = await serve(shared);
    const payload = randomBytes(1_000_000);
    await send(port, payload, 300);
    await conns[0]!.ended;
    const c = conns[0]!;
    expect(c.used).toBe(true);
    expect(c.dataEvents).toBe(0);
    expect(Buffer.concat(c.got).equals(payload)).toBe(true);
    // the mechanism: every read landed in the caller's buffer (bounded by its size), none in a fresh one
    expect(c.views.length).toBeGreaterThan(1_000_000 / 4096 - 1);
    for (const v of c.views) {
      expect(v.buffer).toBe(shared.buffer);
      expect(v.length).toBeLessThanOrEqual(shared.length);
    }
  });

  it('two connections sharing the buffer each get their own bytes, whole', async () => {
    const shared = Buffer.alloc(8192);
    const { port, conns } = await serve(shared);
    const a = randomBytes(300_000);
    const b = randomBytes(300_000);
    await Promise.all([send(port, a, 50), send(port, b, 70)]);
    await Promise.all(conns.map((c) => c.ended));
    const got = conns.map((c) => Buffer.concat(c.got));
    expect(got.some((g) => g.equals(a))).toBe(true);
    expect(got.some((g) => g.equals(b))).toBe(true);
  });

  it('pause() stops the callbacks until resume(); the sender waits, nothing is lost', async () => {
    const shared = Buffer.alloc(16 * 1024);
    let paused: net.Socket | undefined;
    const { port, conns } = await serve(shared, (s) => {
      s.pause();
      paused = s;
    });
    const payload = randomBytes(2_000_000);
    const sent = send(port, payload, 100);
    for (let i = 0; i < 200 && paused === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    const c = conns[0]!;
    expect(c.got.length).toBe(0); // paused from the start: not one read
    paused!.resume();
    await sent;
    await c.ended;
    expect(Buffer.concat(c.got).equals(payload)).toBe(true);
  });

  it('a socket without a stream handle it can read into is refused (the caller keeps its data listener)', () => {
    const s = new net.Socket();
    expect(readInto(s, Buffer.alloc(16), () => undefined)).toBe(false);
    s.destroy();
  });
});
