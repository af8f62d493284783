/**
 * One webhook attempt's phases and connection (mutation testing found them open): the connect
 * phase ends at TCP connect for http and only after the TLS handshake for https, each phase
 * restarts the clock, a timed-out or cut-short attempt closes its connection, the default port
 * per scheme, an IPv6 literal, a response read to exactly its limit, a response cut off
 * mid-body, and the snippet's trailing replacement characters (only those) dropped. Phase
 * timers run on a fake clock; the sockets are real.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BaseLookup } from './ssrf.js';
import { postOnce, type AttemptResult } from './webhook-client.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of closers.splice(0)) await c();
});

async function listen<S extends net.Server>(s: S, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => s.listen(0, host, r));
  closers.push(() => new Promise<void>((r) => {
    (s as unknown as http.Server).closeAllConnections?.();
    s.close(() => r());
  }));
  return (s.address() as AddressInfo).port;
}

/** The attempt's outcome so far (undefined while it runs). */
function track(p: Promise<AttemptResult>): { result?: AttemptResult } {
  const t: { result?: AttemptResult } = {};
  void p.then((r) => { t.result = r; });
  return t;
}
const turn = () => new Promise<void>((r) => setImmediate(r));
const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

describe('postOnce phases over http', () => {
  it('the connect phase ends at connect: waiting for headers has the longer timeout, from then', async () => {
    let gotRequest!: () => void;
    const requested = new Promise<void>((r) => (gotRequest = r));
    let closed!: () => void;
    const clientGone = new Promise<void>((r) => (closed = r));
    const port = await listen(http.createServer((req) => {
      req.socket.on('close', () => closed());
      gotRequest();
    }));
    fakeTimers();
    const t = track(postOnce(`http://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 1000, timeoutMs: 5000 }));
    await requested;
    await vi.advanceTimersByTimeAsync(4999);
    await turn();
    expect(t.result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await turn();
    expect(t.result).toMatchObject({ ok: false, status: null, response_snippet: null, retryable: true, error: 'timeout: response headers took longer than 5000 ms' });
    // and the connection is closed, not left to the receiver
    await clientGone;
  });

  it('the port defaults to 80 for http and 443 for https', async () => {
    const lookup: BaseLookup = (_h, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
    const o = { allowHosts: ['hooks.example.test'], connectTimeoutMs: 5000, timeoutMs: 5000, lookup };
    // nothing listens on either here: the refusal names the port tried
    expect((await postOnce('http://hooks.example.test/x', '{}', {}, o)).error).toBe('connect ECONNREFUSED 127.0.0.1:80');
    expect((await postOnce('https://hooks.example.test/x', '{}', {}, o)).error).toBe('connect ECONNREFUSED 127.0.0.1:443');
  });

  it('an IPv6 literal is dialled without its brackets', async () => {
    const port = await listen(http.createServer((_req, res) => res.end('v6')), '::1');
    const r = await postOnce(`http://[::1]:${port}/`, '{}', {}, { allowHosts: [`[::1]:${port}`], connectTimeoutMs: 5000, timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true, status: 200, response_snippet: 'v6' });
  });
});

describe('postOnce reading the response', () => {
  it('stops at the read limit and hangs up: the receiver cannot push more at it', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const total = 8192; // 128 MiB: far past the 64 KiB limit and more than loopback socket buffers hold
    let sent = 0;
    let hungUp!: (sentAtClose: number) => void;
    const sentAtClose = new Promise<number>((r) => (hungUp = r));
    const port = await listen(http.createServer((_req, res) => {
      res.socket!.on('close', () => hungUp(sent));
      res.writeHead(500);
      const more = () => {
        while (sent < total && res.write(chunk)) sent++;
        if (sent < total && !res.destroyed) res.once('drain', more);
      };
      more();
    }));
    const r = await postOnce(`http://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 5000, timeoutMs: 20_000 });
    expect(r).toMatchObject({ ok: false, status: 500, error: 'HTTP 500', retryable: true, response_snippet: 'x'.repeat(1024) });
    expect(await sentAtClose).toBeLessThan(total);
  });

  it('a body of exactly the read limit is enough: answered without waiting for its end', async () => {
    const port = await listen(http.createServer((_req, res) => {
      res.writeHead(503);
      res.write(Buffer.alloc(64 * 1024, 'y'));
    }));
    fakeTimers();
    const r = await postOnce(`http://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 5000, timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: false, status: 503, error: 'HTTP 503', retryable: true });
  });

  it('a response cut off mid-body is a retryable failure with its status', async () => {
    const port = await listen(http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789', () => res.socket!.destroy());
    }));
    const r = await postOnce(`http://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 5000, timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: false, status: 200, response_snippet: null, error: 'aborted', retryable: true });
  });

  it('the snippet drops a character cut at its end, and keeps replacement characters inside it', async () => {
    const answer = async (body: Buffer) => {
      const port = await listen(http.createServer((_req, res) => res.end(body)));
      return (await postOnce(`http://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 5000, timeoutMs: 5000 })).response_snippet;
    };
    // ☁ is 3 bytes: 1024 = 341·3 + 1, so the snippet's last character is cut
    expect(await answer(Buffer.from('☁'.repeat(400)))).toBe('☁'.repeat(341));
    expect(await answer(Buffer.from([0x61, 0xff, 0x62]))).toBe('a\uFFFDb');
    // two cut sequences' worth of replacement at the end go as one run
    expect(await answer(Buffer.concat([Buffer.alloc(1022, 'z'), Buffer.from([0xff, 0xfe])]))).toBe('z'.repeat(1022));
  });
});

describe('postOnce phases over https', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-tls-phases-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    key = fs.readFileSync(path.join(dir, 'key.pem'));
  });
  afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  it('a TLS handshake that never completes is bounded by the connect timeout', async () => {
    let connected!: () => void;
    const tcp = new Promise<void>((r) => (connected = r));
    // accepts and reads, never speaks TLS
    const port = await listen(net.createServer((sock) => {
      sock.resume();
      connected();
    }));
    fakeTimers();
    const t = track(postOnce(`https://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 1000, timeoutMs: 5000, tls: { ca: cert } }));
    await tcp;
    await vi.advanceTimersByTimeAsync(1000);
    await turn();
    expect(t.result).toMatchObject({ ok: false, status: null, retryable: true, error: 'timeout: connect took longer than 1000 ms' });
  });

  it('once the handshake is done, the response has the longer timeout', async () => {
    let gotRequest!: () => void;
    const requested = new Promise<void>((r) => (gotRequest = r));
    let answer!: () => void;
    const port = await listen(https.createServer({ cert, key }, (_req, res) => {
      answer = () => res.end('late but fine');
      gotRequest();
    }));
    fakeTimers();
    const t = track(postOnce(`https://127.0.0.1:${port}/`, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 1000, timeoutMs: 5000, tls: { ca: cert } }));
    await requested;
    await vi.advanceTimersByTimeAsync(4000);
    await turn();
    expect(t.result).toBeUndefined();
    answer();
    while (!t.result) await turn();
    expect(t.result).toMatchObject({ ok: true, status: 200, response_snippet: 'late but fine' });
    // a finished attempt leaves no phase timer behind (it would hold the process up to timeout)
    expect(vi.getTimerCount()).toBe(0);
  });
});
