/**
 * One send to the central, against a scripted HTTP server on loopback: what
 * is sent (method, path and query, headers, body), how each answer is
 * classified (2xx safe; 408, 429 and 5xx retryable; other statuses
 * permanent; Retry-After in ms; a bounded snippet), the deadline, a
 * connection refused, and the SSRF guard on the URL and on the resolved
 * address. Also the HTTP transport's headers, and the URL redaction and
 * config checks.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { SSRF_ERR } from '../../triggers/ssrf.js';
import { checkForwardUrl, ForwardClient } from './client.js';
import { forwardName, forwardSchema } from './config.js';
import { HttpTransport, redactUrl } from './transport.js';

const open: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c();
});

interface Got { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }

/** A central answering every request with `answer` (or holding it forever when undefined). */
async function central(answer?: { status: number; headers?: Record<string, string>; body?: string | Buffer }) {
  const got: Got[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      if (answer === undefined) return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  open.push(() => {
    srv.closeAllConnections();
    return new Promise((r) => srv.close(r));
  });
  return { got, port, url: `http://127.0.0.1:${port}/api/ingest?source=edge` };
}

function client(url: string, allow = [new URL(url).host]) {
  const c = new ForwardClient(url, allow);
  open.push(() => c.close());
  return c;
}

describe('ForwardClient.send', () => {
  it('POSTs the body to the URL\'s path and query with the given headers and its length; a 2xx is ok', async () => {
    const c = await central({ status: 202, body: '{"accepted":2}' });
    const r = await client(c.url).send(Buffer.from('a\nb\n'), { 'content-type': 'application/x-ndjson', 'idempotency-key': 'k-1' }, 5000);
    expect(r).toMatchObject({ ok: true, status: 202, retryable: false, error: null, snippet: '{"accepted":2}' });
    expect(r.retryAfterMs).toBeUndefined();
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(c.got).toHaveLength(1);
    expect(c.got[0]).toMatchObject({ method: 'POST', url: '/api/ingest?source=edge', body: Buffer.from('a\nb\n') });
    expect(c.got[0]!.headers).toMatchObject({ 'content-type': 'application/x-ndjson', 'idempotency-key': 'k-1', 'content-length': '4' });
  });

  it('classifies answers: 299 ok, 300 and 400 permanent, 408, 429, 500 and 503 retryable', async () => {
    const cases: [number, boolean, boolean][] = [[200, true, false], [299, true, false], [300, false, false], [400, false, false], [404, false, false], [408, false, true], [429, false, true], [500, false, true], [503, false, true]];
    for (const [status, ok, retryable] of cases) {
      const c = await central({ status, body: 'answer' });
      const r = await client(c.url).send(Buffer.from('x\n'), {}, 5000);
      expect({ status: r.status, ok: r.ok, retryable: r.retryable, error: r.error }).toEqual({ status, ok, retryable, error: ok ? null : `HTTP ${status}` });
    }
  });

  it('Retry-After in seconds becomes milliseconds; a negative or unreadable one is ignored', async () => {
    for (const [h, want] of [['3', 3000], ['0', 0], ['1.5', 1500], ['-1', undefined], ['soon', undefined]] as const) {
      const c = await central({ status: 429, headers: { 'retry-after': h } });
      const r = await client(c.url).send(Buffer.from('x\n'), {}, 5000);
      expect(r.retryAfterMs).toBe(want);
      expect('retryAfterMs' in r).toBe(want !== undefined);
    }
  });

  it('the snippet is the first 512 bytes of the answer', async () => {
    const c = await central({ status: 500, body: 'e'.repeat(100_000) });
    const r = await client(c.url).send(Buffer.from('x\n'), {}, 5000);
    expect(r.snippet).toBe('e'.repeat(512));
    const d = await central({ status: 500, body: 'short' });
    expect((await client(d.url).send(Buffer.from('x\n'), {}, 5000)).snippet).toBe('short');
  });

  it('no answer within the deadline: a retryable timeout', async () => {
    const c = await central(undefined);
    const r = await client(c.url).send(Buffer.from('x\n'), {}, 50);
    expect(r).toMatchObject({ ok: false, status: null, retryable: true, error: 'timeout: no answer within 50 ms', snippet: '' });
  });

  it('a refused connection: retryable, with the error', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const r = await client(`http://127.0.0.1:${port}/api/ingest`).send(Buffer.from('x\n'), {}, 5000);
    expect(r).toMatchObject({ ok: false, status: null, retryable: true, snippet: '' });
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('a host name that resolves to a blocked address is refused at connect time, for good (not retryable)', async () => {
    const c = await central({ status: 200 });
    const cl = new ForwardClient(`http://central.example:${c.port}/api/ingest`, [], (_h, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]));
    open.push(() => cl.close());
    const r = await cl.send(Buffer.from('x\n'), {}, 5000);
    expect(r).toMatchObject({ ok: false, status: null, retryable: false });
    expect(c.got).toHaveLength(0);
    // allowed by name: it goes through
    const ok = new ForwardClient(`http://central.example:${c.port}/api/ingest`, [`central.example:${c.port}`], (_h, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]));
    open.push(() => ok.close());
    expect((await ok.send(Buffer.from('x\n'), {}, 5000)).ok).toBe(true);
  });
});

describe('ForwardClient.send at its edges', () => {
  it('latencyMs: the time the exchange took, in ms rounded to 0.01 (more than nothing, no more than the call took)', async () => {
    const c = await central({ status: 200 });
    const cl = client(c.url);
    const t0 = performance.now();
    const r = await cl.send(Buffer.from('x\n'), {}, 5000);
    const took = performance.now() - t0;
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(r.latencyMs).toBeLessThanOrEqual(took + 0.01);
    expect(Math.round(r.latencyMs * 100)).toBeCloseTo(r.latencyMs * 100, 6);
  });

  it('an error a lookup marks ssrf, or a SluiceError, is for good; another lookup error can be retried', async () => {
    const c = await central({ status: 200 });
    const send = async (err: Error) => {
      const cl = new ForwardClient(`http://central.example:${c.port}/api/ingest`, [], (_h, cb) => cb(err as NodeJS.ErrnoException, []));
      open.push(() => cl.close());
      return cl.send(Buffer.from('x\n'), {}, 5000);
    };
    expect(await send(Object.assign(new Error('refused by policy'), { ssrf: true }))).toMatchObject({ ok: false, retryable: false, error: 'refused by policy' });
    expect(await send(new SluiceError(SSRF_ERR.BLOCKED, 'blocked'))).toMatchObject({ ok: false, retryable: false, error: 'blocked' });
    expect(await send(Object.assign(new Error('try again'), { code: 'EAI_AGAIN', ssrf: 'yes' }))).toMatchObject({ ok: false, retryable: true, error: 'try again' });
    expect(c.got).toHaveLength(0);
  });

  it('an IPv6 literal host is dialled without its brackets', async () => {
    const got: string[] = [];
    const srv = http.createServer((req, res) => (got.push(req.url!), res.end('ok')));
    await new Promise<void>((r) => srv.listen(0, '::1', r));
    open.push(() => new Promise((r) => srv.close(r)));
    const port = (srv.address() as net.AddressInfo).port;
    const r = await client(`http://[::1]:${port}/api/ingest`, [`[::1]:${port}`]).send(Buffer.from('x\n'), {}, 5000);
    expect(r).toMatchObject({ ok: true, status: 200, snippet: 'ok' });
    expect(got).toEqual(['/api/ingest']);
  });

  it('an answer cut off inside its body: retryable, with the status and the error', async () => {
    const srv = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => res.socket?.destroy());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    open.push(() => new Promise((r) => srv.close(r)));
    const port = (srv.address() as net.AddressInfo).port;
    const r = await client(`http://127.0.0.1:${port}/api/ingest`).send(Buffer.from('x\n'), {}, 60_000);
    expect(r).toMatchObject({ ok: false, status: 200, retryable: true, snippet: '' });
    expect(r.error).not.toMatch(/^timeout/);
  });

  it('https goes through node:https on a kept-alive agent of one socket, port 443 unless given; http through node:http, port 80', async () => {
    const viaHttps = vi.spyOn(https, 'request');
    const viaHttp = vi.spyOn(http, 'request');
    try {
      // nothing need answer: only what the request was made with is looked at
      await client('https://127.0.0.1/api/ingest', ['127.0.0.1']).send(Buffer.from('x\n'), {}, 5000);
      expect(viaHttp).not.toHaveBeenCalled();
      const s = viaHttps.mock.calls[0]![0] as https.RequestOptions;
      expect([s.protocol, s.hostname, s.port, s.path]).toEqual(['https:', '127.0.0.1', 443, '/api/ingest']);
      expect(s.agent).toBeInstanceOf(https.Agent);
      expect(s.agent).toMatchObject({ keepAlive: true, maxSockets: 1 });
      await client('http://127.0.0.1/api/ingest', ['127.0.0.1']).send(Buffer.from('x\n'), {}, 5000);
      expect(viaHttps).toHaveBeenCalledTimes(1);
      const p = viaHttp.mock.calls[0]![0] as http.RequestOptions;
      expect([p.protocol, p.port]).toEqual(['http:', 80]);
      expect(p.agent).not.toBeInstanceOf(https.Agent);
      expect(p.agent).toMatchObject({ keepAlive: true, maxSockets: 1 });
    } finally {
      viaHttps.mockRestore();
      viaHttp.mockRestore();
    }
  });

  it('close hangs up the kept-alive connection', async () => {
    let conn: net.Socket | undefined;
    const srv = http.createServer((req, res) => (req.resume(), req.on('end', () => res.end('ok'))));
    srv.on('connection', (sock: net.Socket) => (conn = sock));
    srv.keepAliveTimeout = 0; // the server never hangs up an idle connection itself
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    open.push(() => (srv.closeAllConnections(), new Promise((r) => srv.close(r))));
    const port = (srv.address() as net.AddressInfo).port;
    const cl = client(`http://127.0.0.1:${port}/api/ingest`);
    expect((await cl.send(Buffer.from('x\n'), {}, 5000)).ok).toBe(true);
    expect(conn!.destroyed).toBe(false); // kept alive for the next batch
    cl.close();
    await vi.waitFor(() => expect(conn!.destroyed).toBe(true), { timeout: 10_000, interval: 5 });
  });
});

describe('checkForwardUrl', () => {
  it('http(s) only, no credentials, a literal blocked address only when allowed', () => {
    expect(checkForwardUrl('https://central.example/api/ingest', []).host).toBe('central.example');
    expect(() => checkForwardUrl('ftp://central.example/x', [])).toThrow('forward url: only http and https, not ftp:');
    expect(() => checkForwardUrl('http://u:p@central.example/x', [])).toThrow('forward url: no credentials in the URL; use `token`');
    expect(() => checkForwardUrl('http://u@central.example/x', [])).toThrow(/no credentials/);
    expect(() => checkForwardUrl('http://:p@central.example/x', [])).toThrow(/no credentials/);
    expect(() => checkForwardUrl('http://127.0.0.1:8080/x', [])).toThrow('forward url: 127.0.0.1 is a loopback address (add "127.0.0.1:8080" to this forward\'s allow_hosts to permit it)');
    expect(() => checkForwardUrl('http://[::1]:8080/x', [])).toThrow(/forward url: ::1 is a loopback address/);
    expect(checkForwardUrl('http://127.0.0.1:8080/x', ['127.0.0.1:8080']).port).toBe('8080');
    expect(checkForwardUrl('http://93.184.216.34/x', []).hostname).toBe('93.184.216.34');
  });
});

describe('HttpTransport', () => {
  const cfg = (port: number, extra: Record<string, unknown>) => forwardSchema.parse({ url: `http://127.0.0.1:${port}/api/ingest?source=edge`, allow_hosts: [`127.0.0.1:${port}`], ...extra });

  it('without gzip and token: the NDJSON as it is, no content-encoding, no authorization', async () => {
    const c = await central({ status: 200 });
    const t = new HttpTransport(cfg(c.port, { gzip: false }));
    open.push(() => t.close());
    expect(t.peer).toBe('the central');
    expect((await t.send({ ndjson: Buffer.from('{"seq":1}\n'), records: 1, key: 'agent-1' }, 5000)).ok).toBe(true);
    expect(c.got[0]!.body.toString()).toBe('{"seq":1}\n');
    expect(c.got[0]!.headers['content-encoding']).toBeUndefined();
    expect(c.got[0]!.headers.authorization).toBeUndefined();
    expect(c.got[0]!.headers).toMatchObject({ 'content-type': 'application/x-ndjson', 'idempotency-key': 'agent-1' });
  });

  it('with gzip and a token: the body deflated (prepared ahead or not), Content-Encoding and Bearer', async () => {
    const c = await central({ status: 200 });
    const t = new HttpTransport(cfg(c.port, { gzip: true, token: 'tok-0123456789abcdef' }));
    open.push(() => t.close());
    t.prepare!({ ndjson: Buffer.from('{"seq":2}\n'), records: 1, key: 'agent-2' });
    t.prepare!({ ndjson: Buffer.from('{"seq":2}\n'), records: 1, key: 'agent-2' }); // twice: one body
    expect((await t.send({ ndjson: Buffer.from('{"seq":1}\n'), records: 1, key: 'agent-1' }, 5000)).ok).toBe(true);
    expect((await t.send({ ndjson: Buffer.from('{"seq":2}\n'), records: 1, key: 'agent-2' }, 5000)).ok).toBe(true);
    expect(c.got.map((g) => gunzipSync(g.body).toString())).toEqual(['{"seq":1}\n', '{"seq":2}\n']);
    expect(c.got.every((g) => g.headers['content-encoding'] === 'gzip' && g.headers.authorization === 'Bearer tok-0123456789abcdef')).toBe(true);
  });

  it('a body prepared for one batch is not sent for another (only the next batch is kept ahead)', async () => {
    const c = await central({ status: 200 });
    const t = new HttpTransport(cfg(c.port, { gzip: true }));
    open.push(() => t.close());
    t.prepare!({ ndjson: Buffer.from('{"seq":9}\n'), records: 1, key: 'agent-9' });
    t.prepare!({ ndjson: Buffer.from('{"seq":3}\n'), records: 1, key: 'agent-3' });
    await t.send({ ndjson: Buffer.from('{"seq":3}\n'), records: 1, key: 'agent-3' }, 5000);
    await t.send({ ndjson: Buffer.from('{"seq":9,"x":1}\n'), records: 1, key: 'agent-9' }, 5000);
    expect(c.got.map((g) => gunzipSync(g.body).toString())).toEqual(['{"seq":3}\n', '{"seq":9,"x":1}\n']);
  });

  it('a prepared body is the one sent for its key (the next batch deflated ahead), at level 1', async () => {
    const c = await central({ status: 200 });
    const t = new HttpTransport(cfg(c.port, { gzip: true }));
    open.push(() => t.close());
    t.prepare!({ ndjson: Buffer.from('{"seq":5,"ahead":true}\n'), records: 1, key: 'agent-5' });
    await t.send({ ndjson: Buffer.from('{"seq":5}\n'), records: 1, key: 'agent-5' }, 5000);
    await t.send({ ndjson: Buffer.from('{"seq":6}\n'), records: 1, key: 'agent-6' }, 5000);
    expect(c.got.map((g) => gunzipSync(g.body).toString())).toEqual(['{"seq":5,"ahead":true}\n', '{"seq":6}\n']);
    // gzip header byte 8 (XFL) is 4 for the fastest level
    expect(c.got.map((g) => g.body[8])).toEqual([4, 4]);
  });

  it('its target is the URL without secrets', () => {
    const t = new HttpTransport(forwardSchema.parse({ url: 'http://central.example:8080/api/ingest?source=edge&token=s3cret' }));
    open.push(() => t.close());
    expect(t.target).toBe('http://central.example:8080/api/ingest?source=edge&token=***');
  });
});

describe('redactUrl', () => {
  it('masks every query value but source, and a password; an invalid URL is "(invalid)"', () => {
    expect(redactUrl('http://h/api/ingest?source=edge')).toBe('http://h/api/ingest?source=edge');
    expect(redactUrl('http://h/api/ingest?token=abc&source=edge&k=v')).toBe('http://h/api/ingest?token=***&source=edge&k=***');
    expect(redactUrl('https://user:pw@h/x')).toBe('https://user:***@h/x');
    expect(redactUrl('https://user@h/x')).toBe('https://user@h/x');
    expect(redactUrl('not a url')).toBe('(invalid)');
  });
});

describe('forward config', () => {
  it('names, urls and allow_hosts entries are checked; the name defaults by index', () => {
    const base = { url: 'http://central.example/api/ingest' };
    expect(forwardName(forwardSchema.parse(base), 2)).toBe('forward-2');
    expect(forwardName(forwardSchema.parse({ ...base, name: 'edge.1_a-b' }), 2)).toBe('edge.1_a-b');
    expect(forwardSchema.safeParse({ ...base, name: 'a/b' }).success).toBe(false);
    expect(forwardSchema.safeParse({ ...base, name: '' }).success).toBe(false);
    expect(forwardSchema.safeParse({ url: 'ftp://central.example/x' }).success).toBe(false);
    expect(forwardSchema.safeParse({ url: 'ftp://central.example/x?next=http://central.example/' }).success).toBe(false);
    expect(forwardSchema.safeParse({ url: 'not a url' }).success).toBe(false);
    for (const h of ['central', 'central:8080', '10.0.0.1:80', '[::1]:8080', '[fe80::1]']) expect(forwardSchema.safeParse({ ...base, allow_hosts: [h] }).success, h).toBe(true);
    for (const h of ['', 'a b', 'http://central', 'central/x', '[::1']) expect(forwardSchema.safeParse({ ...base, allow_hosts: [h] }).success, h).toBe(false);
  });

  it('defaults', () => {
    expect(forwardSchema.parse({ url: 'http://central.example/api/ingest' })).toMatchObject({ streams: [], spool_max: 1024 ** 3, on_full: 'pause', batch_records: 10_000, batch_bytes: 1024 * 1024, batch_age: 1000, gzip: true, fsync: 'interval', fsync_interval: 1000, timeout: 30_000, backoff_base: 500, backoff_max: 60_000, allow_hosts: [] });
  });
});
