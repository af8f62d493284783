/**
 * The server's shared behaviour, on the real buildServer: security headers on
 * every kind of answer, CORS only when configured, every error in the
 * documented shape with its own stable code, and the JSON body parser.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, VIEWER } from './access.js';
import { registerAuth } from './auth.js';
import { buildServer } from './server.js';
import type { DaemonView } from './view.js';

const TOKEN = 'server-test-admin-token';
const bearer = { authorization: `Bearer ${TOKEN}` };

async function server(corsOrigins: string[] = []): Promise<FastifyInstance> {
  return buildServer({
    view: {} as DaemonView, // the status and stream routes are registered, never called here
    corsOrigins,
    auth: (app) => registerAuth(app, { adminToken: TOKEN }),
    extraRoutes: [
      (app) => {
        app.post('/api/echo', ADMIN, async (req) => ({ body: req.body }));
        app.get('/api/raw', VIEWER, async (_req, reply) => {
          reply.hijack();
          reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
          reply.raw.end(': hi\n\n');
        });
        app.get('/api/items/:id', VIEWER, async (req) => req.params);
      },
    ],
  });
}

/** A raw request over a socket: the path goes out exactly as written. */
async function raw(app: FastifyInstance, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};

describe('buildServer', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('puts the security headers on answers, refusals, 404s, router errors and hijacked streams', async () => {
    app = await server();
    for (const r of [
      await app.inject({ url: '/api/items/1', headers: bearer }), // 200
      await app.inject({ url: '/api/items/1' }), // 401 from the auth hook
      await app.inject({ url: '/api/nothing', headers: bearer }), // 404
      await app.inject({ method: 'POST', url: '/api/echo', headers: { ...bearer, 'content-type': 'application/json' }, payload: '{' }), // 400
      await app.inject({ url: '/api/raw', headers: bearer }), // hijacked
    ]) {
      expect(r.headers).toMatchObject(SECURITY);
    }
    const bad = await raw(app, 'GET', '/api/%zz'); // fastify's router error, before any hook
    expect(bad.status).toBe(400);
    expect(bad.headers).toMatchObject(SECURITY);
  });

  it('answers no CORS without configured origins; with them, only to a listed origin, preflight before the token', async () => {
    app = await server();
    const off = await app.inject({ method: 'OPTIONS', url: '/api/echo', headers: { origin: 'https://ui.example.com', 'access-control-request-method': 'POST' } });
    expect(off.statusCode).toBe(401);
    expect(off.headers['access-control-allow-origin']).toBeUndefined();
    await app.close();

    app = await server(['https://ui.example.com']);
    const pre = await app.inject({ method: 'OPTIONS', url: '/api/echo', headers: { origin: 'https://ui.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://ui.example.com');
    expect(pre.headers['access-control-allow-headers']).toContain('authorization');
    const other = await app.inject({ method: 'OPTIONS', url: '/api/echo', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.statusCode).toBe(401);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const get = await app.inject({ url: '/api/items/2', headers: { ...bearer, origin: 'https://ui.example.com' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://ui.example.com');
    expect(get.headers.vary).toContain('Origin');
    // a preflight opens nothing: the real request still needs its token
    expect((await app.inject({ method: 'POST', url: '/api/echo', headers: { origin: 'https://ui.example.com' }, payload: {} })).statusCode).toBe(401);
  });

  it('gives every error the documented shape and a code of its own kind', async () => {
    app = await server();
    const post = (payload: string, type = 'application/json') =>
      app!.inject({ method: 'POST', url: '/api/echo', headers: { ...bearer, 'content-type': type }, payload });
    const cases: [Promise<{ statusCode: number; json(): unknown }>, number, string][] = [
      [post('{bad'), 400, 'SLUICE_ERR_API_BAD_JSON'],
      [post(''), 400, 'SLUICE_ERR_API_BAD_JSON'],
      [post('{"a":{"__proto__":{"admin":true}}}'), 400, 'SLUICE_ERR_API_FORBIDDEN_KEY'],
      [post('{"\\u005f_proto__":1}'), 400, 'SLUICE_ERR_API_FORBIDDEN_KEY'], // escaped: still the key after parsing
      [post('{"constructor":{"prototype":{"x":1}}}'), 400, 'SLUICE_ERR_API_FORBIDDEN_KEY'],
      [post('<a/>', 'text/xml'), 415, 'SLUICE_ERR_API_UNSUPPORTED_MEDIA_TYPE'],
      [post('"' + 'x'.repeat(16 * 1024 * 1024) + '"'), 413, 'SLUICE_ERR_API_TOO_LARGE'],
      [app.inject({ url: '/api/items/' + 'x'.repeat(200), headers: bearer }), 414, 'SLUICE_ERR_API_URL_TOO_LONG'],
      [app.inject({ url: '/api/nope', headers: bearer }), 404, 'SLUICE_ERR_API_NOT_FOUND'],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect(r.statusCode, code).toBe(status);
      const body = r.json() as { error: { code: string; message: string } };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(5);
    }
    const badUrl = await raw(app, 'GET', '/api/%zz', bearer);
    expect(badUrl.status).toBe(400);
    expect(JSON.parse(badUrl.body)).toEqual({ error: { code: 'SLUICE_ERR_API_BAD_URL', message: 'the URL is not valid (bad percent-encoding)' } });
  });

  it('passes valid JSON through and names the path of a forbidden key', async () => {
    app = await server();
    const ok = await app.inject({ method: 'POST', url: '/api/echo', headers: bearer, payload: { a: [1, { b: 'constructor' }], constructor: 'x' } });
    expect(ok.json()).toEqual({ body: { a: [1, { b: 'constructor' }], constructor: 'x' } });
    const bad = await app.inject({ method: 'POST', url: '/api/echo', headers: { ...bearer, 'content-type': 'application/json' }, payload: '{"list":[{},{"x":{"__proto__":null}}]}' });
    expect(bad.json()).toMatchObject({ error: { code: 'SLUICE_ERR_API_FORBIDDEN_KEY', details: { path: 'list[1].x.__proto__' } } });
  });
});
