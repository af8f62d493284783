/**
 * The web UI's files on the real buildServer, from a small fake build: the
 * UI's own CSP (and only on its routes), caching by kind of file, the
 * precompressed twins, ETag revalidation, the page-path fallback for browser
 * navigations only (API paths and non-HTML requests keep the unknown-route
 * answer: 401 without a token), the not-built page, and /api/whoami.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync, brotliCompressSync, gunzipSync, brotliDecompressSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAuth } from './auth.js';
import { routeTable } from './access.js';
import { buildServer } from './server.js';
import { IMMUTABLE, isShellRequest, UI_CSP } from './ui.js';
import type { DaemonView } from './view.js';
import { tempDir } from '../../test/helpers/daemon.js';

const ADMIN_TOKEN = 'ui-test-admin-token';
const VIEWER_TOKEN = 'ui-test-viewer-token';
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>';
const JS = 'console.log("sluice ui");'.repeat(50);

function fakeBuild(): string {
  const dir = tempDir('sluice-ui-');
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), INDEX);
  writeFileSync(path.join(dir, 'assets/index-abc123.js'), JS);
  writeFileSync(path.join(dir, 'assets/index-abc123.js.gz'), gzipSync(JS));
  writeFileSync(path.join(dir, 'assets/index-abc123.js.br'), brotliCompressSync(JS));
  writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function server(dir: string): Promise<FastifyInstance> {
  app = await buildServer({
    view: {} as DaemonView,
    auth: (a) => registerAuth(a, { adminToken: ADMIN_TOKEN, viewerToken: VIEWER_TOKEN }),
    ui: { dir },
  });
  return app;
}

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('web UI routes', () => {
  it('serves index.html at / without a token, with the UI CSP and no-cache', async () => {
    const a = await server(fakeBuild());
    const r = await a.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe(INDEX);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(UI_CSP);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    // revalidation by ETag
    const again = await a.inject({ method: 'GET', url: '/', headers: { 'if-none-match': String(r.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves hashed assets immutable, brotli or gzip as accepted, and 404s unknown ones', async () => {
    const a = await server(fakeBuild());
    const plain = await a.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.body).toBe(JS);
    expect(plain.headers['cache-control']).toBe(IMMUTABLE);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.vary).toBe('Accept-Encoding');
    const br = await a.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(JS);
    const gz = await a.inject({ method: 'GET', url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(JS);
    for (const p of ['/assets/nope.js', '/assets/../index.html', '/assets/%2e%2e/index.html', '/assets/']) {
      const r = await a.inject({ method: 'GET', url: p });
      // a missing asset, or (where the client resolved the dots) an unknown path: never a file
      expect([401, 404], p).toContain(r.statusCode);
      expect(r.body).not.toContain('<!doctype');
    }
    const fav = await a.inject({ method: 'GET', url: '/favicon.svg' });
    expect(fav.statusCode).toBe(200);
    expect(fav.headers['content-type']).toBe('image/svg+xml');
  });

  it('answers a browser navigation to a page path with the shell, and nothing else', async () => {
    const a = await server(fakeBuild());
    for (const p of ['/events', '/rules?source=web', '/tail/app', '/status']) {
      const r = await a.inject({ method: 'GET', url: p, headers: { accept: HTML } });
      expect(r.statusCode, p).toBe(200);
      expect(r.body).toBe(INDEX);
      expect(r.headers['content-security-policy']).toBe(UI_CSP);
    }
    // not a navigation, or an API path: the unknown-route answer (a token first)
    for (const [p, accept] of [['/events', 'application/json'], ['/events', undefined], ['/api/nope', HTML], ['/%61pi/nope', HTML], ['/API/rules', HTML], ['//api/rules', HTML], ['/./api/rules', HTML], ['/metrics/x', HTML]] as const) {
      const r = await a.inject({ method: 'GET', url: p, headers: accept ? { accept } : {} });
      expect(r.statusCode, `${p} ${accept}`).toBe(401);
      expect(r.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    // a known API route with a browser's Accept still reaches the API (and its access check)
    expect((await a.inject({ method: 'GET', url: '/api/whoami', headers: { accept: HTML } })).statusCode).toBe(401);
    // a change is never a navigation
    expect((await a.inject({ method: 'POST', url: '/events', headers: { accept: HTML } })).statusCode).toBe(401);
  });

  it('declares every UI route public and the API keeps its own CSP', async () => {
    const a = await server(fakeBuild());
    const pub = routeTable(a).filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`).sort();
    expect(pub).toEqual(['GET /', 'GET /*', 'GET /assets/*', 'GET /favicon.svg', 'GET /healthz', 'GET /metrics', 'HEAD /', 'HEAD /*', 'HEAD /assets/*', 'HEAD /favicon.svg', 'HEAD /healthz', 'HEAD /metrics']);
    const h = await a.inject({ method: 'GET', url: '/healthz', headers: { accept: HTML } });
    expect(h.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('says how to build the UI when it is not built', async () => {
    const a = await server(tempDir('sluice-ui-empty-'));
    const r = await a.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build:ui');
    expect(r.headers['content-security-policy']).toBe(UI_CSP);
  });

  it('GET /api/whoami names the token\'s role', async () => {
    const a = await server(fakeBuild());
    const who = async (t: string) => (await a.inject({ method: 'GET', url: '/api/whoami', headers: { authorization: `Bearer ${t}` } })).json();
    expect(await who(ADMIN_TOKEN)).toEqual({ role: 'admin' });
    expect(await who(VIEWER_TOKEN)).toEqual({ role: 'viewer' });
    expect((await a.inject({ method: 'GET', url: '/api/whoami', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
  });
});

describe('isShellRequest', () => {
  it('is a GET/HEAD that accepts HTML, outside the API', () => {
    expect(isShellRequest('GET', '/events', HTML)).toBe(true);
    expect(isShellRequest('HEAD', '/', HTML)).toBe(true);
    expect(isShellRequest('GET', '/events', '*/*')).toBe(false);
    expect(isShellRequest('POST', '/events', HTML)).toBe(false);
    expect(isShellRequest('GET', '/api/rules', HTML)).toBe(false);
    expect(isShellRequest('GET', '/Api;x=1/rules', HTML)).toBe(false);
    expect(isShellRequest('GET', '/%2e/healthz', HTML)).toBe(false);
    expect(isShellRequest('GET', '/%zz', HTML)).toBe(false);
  });
});
