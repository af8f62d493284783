/**
 * One webhook attempt at the edges mutation testing found open (`npm run
 * mutate`): where each status class ends, a redirect not followed, what a
 * Retry-After may be, the request as sent (method, path and query, length),
 * a refused URL answered without a connection, and a response read no
 * further than its limit.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postOnce } from './webhook-client.js';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  })));
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const opts = (url: string) => ({ allowHosts: [new URL(url).host], connectTimeoutMs: 5000, timeoutMs: 5000 });

/** A server answering `status` (and `headers`) to every request. */
const answering = (status: number, headers: Record<string, string> = {}, body = 'b') => serve((_req, res) => {
  res.writeHead(status, headers);
  res.end(body);
});

describe('postOnce at the edges', () => {
  it('2xx is ok up to 299; 300 to 399 are redirects, never followed, naming the Location; 400 is a plain refusal', async () => {
    for (const [status, ok] of [[200, true], [204, true], [299, true]] as const) {
      const url = await answering(status);
      const r = await postOnce(url, '{}', {}, opts(url));
      expect([status, r.ok, r.retryable, r.error]).toEqual([status, ok, false, null]);
    }
    for (const status of [300, 302, 399]) {
      const url = await answering(status, { location: 'http://elsewhere.example/next' });
      const r = await postOnce(url, '{}', {}, opts(url));
      expect(r).toMatchObject({ ok: false, status, retryable: false, error: `HTTP ${status}: redirect not followed (Location: http://elsewhere.example/next)` });
    }
    const noLocation = await answering(301);
    expect((await postOnce(noLocation, '{}', {}, opts(noLocation))).error).toBe('HTTP 301: redirect not followed (Location: )');
    const refused = await answering(400);
    expect(await postOnce(refused, '{}', {}, opts(refused))).toMatchObject({ ok: false, status: 400, retryable: false, error: 'HTTP 400', response_snippet: 'b' });
    const busy = await answering(503);
    expect(await postOnce(busy, '{}', {}, opts(busy))).toMatchObject({ ok: false, status: 503, retryable: true, error: 'HTTP 503' });
  });

  it('Retry-After in seconds is reported when it is a number of 0 or more, and not otherwise', async () => {
    const ra = async (v: string) => {
      const url = await answering(429, { 'retry-after': v });
      return (await postOnce(url, '{}', {}, opts(url))).retry_after_s;
    };
    expect(await ra('0')).toBe(0);
    expect(await ra('7')).toBe(7);
    expect(await ra('-1')).toBeUndefined();
    expect(await ra('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
  });

  it('sends a POST to the path and query with the body\'s length in bytes and the given headers', async () => {
    let seen: { method?: string; url?: string; length?: string; sig?: string; body?: string } = {};
    const url = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, length: req.headers['content-length'], sig: String(req.headers['x-sluice-signature-256']), body };
        res.end();
      });
    });
    const body = '{"msg":"é"}';
    const before = performance.now();
    const r = await postOnce(`${url}/hook/a?x=1&y=2`, body, { 'x-sluice-signature-256': 'sha256=ab' }, opts(url));
    const took = performance.now() - before;
    expect(r.ok).toBe(true);
    expect(seen).toEqual({ method: 'POST', url: '/hook/a?x=1&y=2', length: String(Buffer.byteLength(body)), sig: 'sha256=ab', body });
    expect(r.latency_ms).toBeGreaterThan(0);
    expect(r.latency_ms).toBeLessThanOrEqual(took + 0.01); // in ms, within the call as the caller saw it
    expect(Number.isInteger(Math.round(r.latency_ms * 100 * 1000) / 1000)).toBe(true); // rounded to 1/100 ms
  });

  it('a URL the guard refuses is answered at once, not retryable, without a connection', async () => {
    let connections = 0;
    const url = await serve((_req, res) => res.end());
    servers[0]!.on('connection', () => connections++);
    const r = await postOnce(`${url.replace('http://', 'http://user:pw@')}/x`, '{}', {}, opts(url));
    expect(r).toEqual({ ok: false, status: null, latency_ms: 0, response_snippet: null, error: 'credentials in the webhook URL are not allowed; use the secret', retryable: false });
    // a private address not in allow_hosts: the guard, not the network, refuses it (not retried either)
    const blocked = await postOnce(`${url}/x`, '{}', {}, { ...opts(url), allowHosts: [] });
    expect(blocked).toMatchObject({ ok: false, status: null, retryable: false });
    expect(connections).toBe(0);
  });

  it('reads a long answer only up to its limit and keeps the first KiB as the snippet', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(500);
      // far more than the read limit; the client stops reading and answers without waiting for the end
      const chunk = 'x'.repeat(16 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 1024 && res.write(chunk)) sent++;
        if (sent < 1024) res.once('drain', more);
      };
      more();
    });
    const r = await postOnce(url, '{}', {}, opts(url));
    expect(r).toMatchObject({ ok: false, status: 500, retryable: true, error: 'HTTP 500' });
    expect(r.response_snippet).toBe('x'.repeat(1024));
  });
});
