/**
 * The per-stream TCP output on a real loopback connection: NDJSON records, a
 * gap line when the client falls past its lag bound, what each client is
 * shown in status, a bind error handed back, and stop ending every
 * connection after what was already published.
 */
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub } from '../../hub/hub.js';
import type { LogRecord } from '../../core/record.js';
import { splitHostPort, TcpStreamServer } from './server.js';
import { waitFor } from '../../../test/helpers/fake-pipeline.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const rec = (message: string): LogRecord => ({ seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 'app', stream: 'app', origin: { kind: 'test' }, message, fields: {} });

async function serve(maxLag?: number) {
  const drops: Record<string, number> = {};
  const hub = new Hub({ seqStart: 0, defaults: { replay: 1000, replayBytes: 1 << 24 }, streams: {}, drop: (st, r, n) => (drops[`${st}/${r}`] = (drops[`${st}/${r}`] ?? 0) + n) });
  hub.ensureStream('app');
  hub.ensureStream('other');
  const server = new TcpStreamServer({ hub, stream: 'app', listen: '127.0.0.1:0', ...(maxLag !== undefined ? { maxLag } : {}) });
  await server.start();
  cleanup.push(() => server.stop());
  return { hub, server, drops };
}

function connect(server: TcpStreamServer) {
  const c = { text: '', ended: false, sock: undefined as unknown as net.Socket };
  const s = net.connect({ port: server.address().port, host: '127.0.0.1' });
  s.setEncoding('utf8');
  s.on('data', (d: string) => (c.text += d));
  s.on('end', () => (c.ended = true));
  s.on('error', () => {});
  cleanup.push(() => void s.destroy());
  c.sock = s;
  return c;
}

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq?: number; message?: string; gap?: { missed: number } });

describe('TcpStreamServer', () => {
  it('streams its own stream\'s records as NDJSON lines and shows each client in clients()', async () => {
    const { hub, server } = await serve();
    expect(server.stream).toBe('app');
    expect(server.listen).toBe('127.0.0.1:0');
    const c = connect(server);
    await waitFor(() => server.clients().length === 1, 'the connection');
    c.sock.write('ignored input\n');
    hub.publish([rec('a'), rec('b')]);
    hub.publish([{ ...rec('elsewhere'), stream: 'other' }]);
    hub.publish([rec('c')]);
    await waitFor(() => lines(c.text).length === 3, 'three lines');
    expect(lines(c.text).map((l) => [l.seq, l.message])).toEqual([[1, 'a'], [2, 'b'], [4, 'c']]);
    const [info] = server.clients();
    expect(info).toEqual({ remote: `127.0.0.1:${c.sock.localPort}`, sent: 3, dropped: 0, lag: 0, buffered: 0 });
  });

  it('a client further behind than maxLag loses its oldest records: one gap line says how many, and the loss is counted', async () => {
    const { hub, server, drops } = await serve(2);
    const c = connect(server);
    await waitFor(() => server.clients().length === 1, 'the connection');
    // five records in one step, before the client's write (a microtask): it is 5 behind with room for 2
    hub.publish(['a', 'b', 'c', 'd', 'e'].map(rec));
    await waitFor(() => lines(c.text).length === 3, 'a gap and two lines');
    expect(c.text.split('\n')[0]).toBe('{"gap":{"missed":3}}');
    expect(lines(c.text).slice(1).map((l) => l.message)).toEqual(['d', 'e']);
    expect(drops['tcp/slow_client']).toBe(3);
    expect(server.clients()[0]).toMatchObject({ sent: 2, dropped: 3 });
  });

  it('a client that disconnects leaves clients() and its subscription ends', async () => {
    const { hub, server } = await serve();
    const c = connect(server);
    await waitFor(() => server.clients().length === 1 && hub.subscribers().length === 1, 'the connection');
    c.sock.destroy();
    await waitFor(() => server.clients().length === 0, 'the client gone');
    expect(hub.subscribers()).toEqual([]);
  });

  it('a client that resets its connection (an error on the server side) is dropped quietly', async () => {
    const { hub, server } = await serve();
    const c = connect(server);
    await waitFor(() => server.clients().length === 1, 'the connection');
    hub.publish([rec('a')]);
    await waitFor(() => c.text.length > 0, 'a line');
    c.sock.resetAndDestroy();
    await waitFor(() => server.clients().length === 0, 'the client gone');
    expect(hub.subscribers()).toEqual([]);
  });

  it('stop ends every connection after what was published in the same step, and closes the listener', async () => {
    const { hub, server } = await serve();
    const a = connect(server);
    const b = connect(server);
    await waitFor(() => server.clients().length === 2, 'two connections');
    hub.publish([rec('last')]);
    await server.stop();
    await waitFor(() => a.ended && b.ended, 'both connections ended');
    expect(lines(a.text).map((l) => l.message)).toEqual(['last']);
    expect(lines(b.text).map((l) => l.message)).toEqual(['last']);
    expect(server.clients()).toEqual([]);
    expect(hub.subscribers()).toEqual([]);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ port: server.address()?.port ?? 1, host: '127.0.0.1' });
      s.on('connect', () => (s.destroy(), resolve('connected')));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).not.toBe('connected');
  });

  it('start rejects with the OS error when the address is taken', async () => {
    const { server } = await serve();
    const again = new TcpStreamServer({ hub: new Hub({ seqStart: 0, defaults: { replay: 10, replayBytes: 1 << 20 }, streams: {}, drop: () => {} }), stream: 'app', listen: `127.0.0.1:${server.address().port}` });
    await expect(again.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('once bound, the bind\'s error listener is off the listener again', async () => {
    const made = vi.spyOn(net, 'createServer');
    try {
      await serve();
      const srv = made.mock.results[0]!.value as net.Server;
      expect(srv.listening).toBe(true);
      expect(srv.listenerCount('error')).toBe(0);
    } finally {
      made.mockRestore();
    }
  });

  it('each connection writes with Nagle off (a record is not held back waiting for the next)', async () => {
    const noDelay = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    try {
      const { server } = await serve();
      connect(server);
      await waitFor(() => server.clients().length === 1, 'the connection');
      expect(noDelay).toHaveBeenCalledWith(true);
      expect(noDelay).not.toHaveBeenCalledWith(false);
    } finally {
      noDelay.mockRestore();
    }
  });
});

describe('splitHostPort', () => {
  it('host and port; brackets off an IPv6 host; no host is 127.0.0.1', () => {
    expect(splitHostPort('0.0.0.0:9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(splitHostPort('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(splitHostPort('[fe80::1]:80')).toEqual({ host: 'fe80::1', port: 80 });
    expect(splitHostPort(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(splitHostPort('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    // only a bracket that opens or closes the host comes off
    expect(splitHostPort('x[y]z:1')).toEqual({ host: 'x[y]z', port: 1 });
  });
});
