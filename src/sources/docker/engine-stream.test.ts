/**
 * The socket reader against a scripted server on a Unix socket: the framings
 * and failures a real dockerd does not produce on demand (a real engine is
 * read by test/integration/docker-*.test.ts and bench/docker.ts).
 */
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { onCleanup, runCleanup, tempDir } from '../../../test/helpers/cleanup.js';
import { EngineStream, parseHead } from './engine-stream.js';

afterEach(runCleanup);

/** A server that answers each connection with `script(socket, request)`; resolves to its socket path. */
async function server(script: (s: net.Socket, request: string) => void): Promise<string> {
  const sock = path.join(tempDir(), 'engine.sock');
  const conns = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    conns.add(s);
    s.on('error', () => undefined);
    let req = '';
    s.on('data', (c: Buffer) => {
      const had = req.includes('\r\n\r\n');
      req += c.toString('latin1');
      if (!had && req.includes('\r\n\r\n')) script(s, req);
    });
  });
  await new Promise<void>((resolve) => srv.listen(sock, resolve));
  onCleanup(() => {
    for (const c of conns) c.destroy();
    return new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  return sock;
}

/** Start a stream, collecting its body as it comes: what came so far, in how many reads, and `ended` (how it ended). */
function collect(s: EngineStream): { body: string; reads: number; complete?: boolean; ended: Promise<void> } {
  const got: { body: string; reads: number; complete?: boolean; ended: Promise<void> } = { body: '', reads: 0, ended: undefined as unknown as Promise<void> };
  got.ended = new Promise((resolve) => {
    s.start({
      data: (buf, start, end) => {
        got.reads++;
        got.body += buf.toString('latin1', start, end);
      },
      end: (complete) => {
        got.complete = complete;
        resolve();
      },
    });
  });
  return got;
}

/** Read a stream to its end: the body and how it ended. */
async function readAll(s: EngineStream): Promise<{ body: string; complete: boolean; reads: number }> {
  const got = collect(s);
  await got.ended;
  return { body: got.body, complete: got.complete!, reads: got.reads };
}

const chunk = (t: string) => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nTransfer-Encoding: chunked\r\n\r\n';

describe('EngineStream', () => {
  it('sends a GET for the path and reads a chunked body to its last chunk, the head and body in one write', async () => {
    let request = '';
    const sock = await server((s, req) => {
      request = req;
      s.end(HEAD + chunk('one\n') + chunk('two\n') + '0\r\n\r\n');
    });
    const s = await EngineStream.open(sock, '/v1.45/containers/abc/logs?follow=1');
    const r = await readAll(s);
    expect(request.split('\r\n')[0]).toBe('GET /v1.45/containers/abc/logs?follow=1 HTTP/1.1');
    expect(r).toMatchObject({ body: 'one\ntwo\n', complete: true });
  });

  it('holds what comes before start(), and hands a read\'s chunks over as one range', async () => {
    let sent!: () => void;
    const wrote = new Promise<void>((r) => (sent = r));
    const sock = await server((s) => {
      s.write(HEAD);
      setTimeout(() => {
        // many chunks in one write: the reader sees them as one read (one range)
        s.write(Array.from({ length: 50 }, (_, i) => chunk(`line ${i}\n`)).join(''), () => sent());
      }, 20);
    });
    const s = await EngineStream.open(sock, '/logs');
    await wrote;
    await new Promise((r) => setTimeout(r, 50));
    const got = collect(s);
    await new Promise((r) => setTimeout(r, 50));
    expect(got.body).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
    expect(got.reads).toBeLessThanOrEqual(2);
    s.destroy();
  });

  it('a connection cut inside the body ends it not complete; one with bad chunking too', async () => {
    const cut = await server((s) => s.end(HEAD + chunk('one\n') + '10\r\npart'));
    expect(await readAll(await EngineStream.open(cut, '/logs'))).toMatchObject({ body: 'one\npart', complete: false });
    const bad = await server((s) => s.write(HEAD + chunk('one\n') + 'zz\r\n' + chunk('two\n')));
    expect(await readAll(await EngineStream.open(bad, '/logs'))).toMatchObject({ body: 'one\n', complete: false });
  });

  it('a Content-Length body ends at its length; a body without either at EOF, complete', async () => {
    const len = await server((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcdEXTRA'));
    expect(await readAll(await EngineStream.open(len, '/x'))).toMatchObject({ body: 'abcd', complete: true });
    const close = await server((s) => s.end('HTTP/1.0 200 OK\r\n\r\nall of it'));
    expect(await readAll(await EngineStream.open(close, '/x'))).toMatchObject({ body: 'all of it', complete: true });
  });

  it('rejects an error answer with the engine\'s message, and a refused or silent connection', async () => {
    const nf = await server((s) => s.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"message":"No such container: abc"}\n   '));
    await expect(EngineStream.open(nf, '/v1.45/containers/abc/logs')).rejects.toThrow(/404 No such container: abc/);
    await expect(EngineStream.open(path.join(tempDir(), 'none.sock'), '/x')).rejects.toThrow(/ENOENT/);
    const silent = await server(() => undefined);
    await expect(EngineStream.open(silent, '/x', 100)).rejects.toThrow(/no response head after 100 ms/);
    const junk = await server((s) => s.end('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect(EngineStream.open(junk, '/x')).rejects.toThrow(/not an HTTP\/1.x response/);
  });

  it('pause stops reading and resume goes on; destroy ends the stream not complete', async () => {
    let peer!: net.Socket;
    const sock = await server((s) => {
      peer = s;
      s.write(HEAD + chunk('a\n'));
    });
    const s = await EngineStream.open(sock, '/logs');
    let body = '';
    let ended: boolean | undefined;
    s.start({ data: (buf, a, b) => (body += buf.toString('latin1', a, b)), end: (c) => (ended = c) });
    for (let i = 0; i < 100 && body === ''; i++) await new Promise((r) => setTimeout(r, 10));
    expect(body).toBe('a\n');
    s.pause();
    await new Promise<void>((r) => peer.write(chunk('b\n'), () => r()));
    await new Promise((r) => setTimeout(r, 50));
    expect(body).toBe('a\n');
    s.resume();
    for (let i = 0; i < 100 && body === 'a\n'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(body).toBe('a\nb\n');
    expect(ended).toBeUndefined();
    s.destroy();
    for (let i = 0; i < 100 && ended === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ended).toBe(false);
  });
});

describe('parseHead', () => {
  it('reads the status and the body framing', () => {
    expect(parseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked')).toEqual({ status: 200, mode: 'chunked', length: 0 });
    expect(parseHead('HTTP/1.1 404 Not Found\r\ncontent-length: 12')).toEqual({ status: 404, mode: 'length', length: 12 });
    expect(parseHead('HTTP/1.0 200')).toEqual({ status: 200, mode: 'close', length: 0 });
    expect(parseHead('HTTP/1.1 200 OK\r\nContent-Length: -1')).toMatch(/bad Content-Length/);
  });
});
