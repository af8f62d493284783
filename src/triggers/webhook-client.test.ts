import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postOnce, retryableStatus } from './webhook-client.js';

describe('postOnce phases and outcomes', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
  });
  async function serve(handler: http.RequestListener): Promise<string> {
    const s = http.createServer(handler);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  }
  const opts = (url: string, timeoutMs = 200) => ({ allowHosts: [new URL(url).host], connectTimeoutMs: 2000, timeoutMs });

  it('times out waiting for response headers (retryable)', async () => {
    const url = await serve(() => { /* never answers */ });
    const r = await postOnce(url, '{}', {}, opts(url));
    expect(r).toMatchObject({ ok: false, status: null, retryable: true });
    expect(r.error).toMatch(/timeout: response headers/);
  });

  it('times out in the connect phase when name resolution never answers (retryable)', async () => {
    // a DNS server that never answers cannot be had on loopback; a lookup that never calls back is the same to the client
    const neverAnswers = (() => undefined) as unknown as NonNullable<Parameters<typeof postOnce>[3]['lookup']>;
    const r = await postOnce('http://hangs.example.test:8080/hook', '{}', {}, { allowHosts: ['hangs.example.test:8080'], connectTimeoutMs: 150, timeoutMs: 5000, lookup: neverAnswers });
    expect(r).toMatchObject({ ok: false, status: null, retryable: true });
    expect(r.error).toMatch(/timeout: connect took longer than 150 ms/);
  });

  it('times out reading a body that never ends (retryable)', async () => {
    const url = await serve((_req, res) => { res.writeHead(200); res.write('partial'); });
    const r = await postOnce(url, '{}', {}, opts(url));
    expect(r).toMatchObject({ ok: false, retryable: true });
    expect(r.error).toMatch(/timeout: response body/);
  });

  it('keeps a bounded, UTF-8 clean snippet of a large response', async () => {
    const url = await serve((_req, res) => { res.writeHead(200); res.end('é'.repeat(100_000)); });
    const r = await postOnce(url, '{}', {}, opts(url, 5000));
    expect(r.ok).toBe(true);
    expect(Buffer.byteLength(r.response_snippet!)).toBeLessThanOrEqual(1024);
    expect(r.response_snippet).toMatch(/^é+$/);
  });

  it('network errors are retryable; Retry-After is reported', async () => {
    const url = await serve((_req, res) => { res.writeHead(429, { 'retry-after': '7' }); res.end(); });
    const r = await postOnce(url, '{}', {}, opts(url));
    expect(r).toMatchObject({ ok: false, status: 429, retryable: true, retry_after_s: 7 });
    const s = servers.pop()!;
    await new Promise<void>((res) => s.close(() => res()));
    const down = await postOnce(url, '{}', {}, opts(url));
    expect(down).toMatchObject({ ok: false, status: null, retryable: true });
    expect(down.error).toMatch(/ECONNREFUSED/);
  });

  it('classifies statuses', () => {
    expect([408, 429, 500, 502, 503].every(retryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 410, 422].some(retryableStatus)).toBe(false);
  });
});

describe('postOnce over https', () => {
  it('delivers over TLS with the guarded lookup and the connect phase ending at secureConnect', async () => {
    const { execFileSync } = await import('node:child_process');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const https = await import('node:https');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
      const server = https.createServer({ cert, key: fs.readFileSync(path.join(dir, 'key.pem')) }, (req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => { body += c; });
        req.on('end', () => { res.writeHead(200); res.end('tls:' + body); });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const port = (server.address() as AddressInfo).port;
        const url = `https://127.0.0.1:${port}/hook`;
        const ok = await postOnce(url, '{"a":1}', { 'content-type': 'application/json' }, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 2000, timeoutMs: 2000, tls: { ca: cert } });
        expect(ok).toMatchObject({ ok: true, status: 200, response_snippet: 'tls:{"a":1}' });
        // without the CA the certificate is refused (verification stays on)
        const bad = await postOnce(url, '{}', {}, { allowHosts: [`127.0.0.1:${port}`], connectTimeoutMs: 2000, timeoutMs: 2000 });
        expect(bad.ok).toBe(false);
        expect(bad.error).toMatch(/self.signed|certificate/i);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
