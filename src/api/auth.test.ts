import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, PUBLIC, requireAccessDeclarations, VIEWER } from './access.js';
import { loadOrCreateAdminToken, registerAuth, type AuthStats } from './auth.js';
import { loadAdminToken, saveAdminToken } from './auth.js';

let stats: () => AuthStats;

async function app(opts: Parameters<typeof registerAuth>[1]): Promise<FastifyInstance> {
  const a = Fastify();
  requireAccessDeclarations(a);
  stats = registerAuth(a, opts);
  a.get('/healthz', PUBLIC, async () => ({ status: 'ok' }));
  a.get('/metrics', PUBLIC, async () => 'm 1\n');
  a.get('/api/rules', VIEWER, async () => ({ rules: [] }));
  a.post('/api/rules', ADMIN, async () => ({ ok: true }));
  a.post('/api/rules/test', VIEWER, async () => ({ matched: false }));
  a.delete('/api/rules/:id', ADMIN, async () => ({ ok: true }));
  await a.ready();
  return a;
}

describe('registerAuth', () => {
  let a: FastifyInstance | undefined;
  afterEach(async () => { await a?.close(); a = undefined; });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('leaves public routes open, and ignores a wrong token there', async () => {
    a = await app({ adminToken: 'adm' });
    expect((await a.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await a.inject({ url: '/metrics', headers: bearer('wrong') })).statusCode).toBe(200);
  });

  it('401 without or with a wrong token, as JSON', async () => {
    a = await app({ adminToken: 'adm', viewerToken: 'view' });
    const none = await a.inject({ url: '/api/rules' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: { code: 'SLUICE_ERR_API_UNAUTHORIZED', message: 'missing bearer token' } });
    const wrong = await a.inject({ url: '/api/rules', headers: bearer('nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('SLUICE_ERR_API_UNAUTHORIZED');
    expect((await a.inject({ url: '/api/rules', headers: { authorization: 'Basic YWRtOg==' } })).statusCode).toBe(401);
  });

  it('viewer reads, admin reads and writes, viewer writing is 403', async () => {
    a = await app({ adminToken: 'adm', viewerToken: 'view' });
    expect((await a.inject({ url: '/api/rules', headers: bearer('view') })).statusCode).toBe(200);
    expect((await a.inject({ url: '/api/rules', headers: bearer('adm') })).statusCode).toBe(200);
    const forbidden = await a.inject({ method: 'POST', url: '/api/rules', headers: bearer('view'), payload: {} });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('SLUICE_ERR_API_FORBIDDEN');
    expect((await a.inject({ method: 'DELETE', url: '/api/rules/1', headers: bearer('view') })).statusCode).toBe(403);
    expect((await a.inject({ method: 'POST', url: '/api/rules', headers: bearer('adm'), payload: {} })).statusCode).toBe(200);
  });

  it('decides by the route\'s declared level, not by the method: a POST declared viewer takes the viewer token', async () => {
    a = await app({ adminToken: 'adm', viewerToken: 'view' });
    expect((await a.inject({ method: 'POST', url: '/api/rules/test', headers: bearer('view'), payload: {} })).statusCode).toBe(200);
    expect((await a.inject({ method: 'POST', url: '/api/rules/test', payload: {} })).statusCode).toBe(401);
  });

  it('an unmatched path needs a token before it is told 404; a change of one needs the admin token', async () => {
    a = await app({ adminToken: 'adm', viewerToken: 'view' });
    expect((await a.inject({ url: '/api/nothing' })).statusCode).toBe(401);
    expect((await a.inject({ url: '/elsewhere' })).statusCode).toBe(401);
    expect((await a.inject({ url: '/api/nothing', headers: bearer('view') })).statusCode).toBe(404);
    expect((await a.inject({ method: 'PUT', url: '/api/rules', headers: bearer('view') })).statusCode).toBe(403);
    expect((await a.inject({ method: 'PUT', url: '/api/rules', headers: bearer('adm') })).statusCode).toBe(404);
  });

  it('a route registered without an access level stops the server from starting', async () => {
    const b = Fastify();
    requireAccessDeclarations(b);
    expect(() => b.get('/api/undeclared', async () => ({}))).toThrow(/declares no access level/);
    await b.close();
  });

  it('accepts ?access_token= for GET only', async () => {
    a = await app({ adminToken: 'adm', viewerToken: 'view' });
    expect((await a.inject({ url: '/api/rules?access_token=view' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'POST', url: '/api/rules?access_token=adm', payload: {} })).statusCode).toBe(401);
  });

  it('without a viewer token only the admin token works', async () => {
    a = await app({ adminToken: 'adm' });
    expect((await a.inject({ url: '/api/rules', headers: bearer('') })).statusCode).toBe(401);
    expect((await a.inject({ url: '/api/rules', headers: bearer('view') })).statusCode).toBe(401);
  });

  it('slows an address after repeated failures, never refusing the correct token', async () => {
    let now = 0;
    a = await app({ adminToken: 'adm', limiter: { max: 3, windowMs: 60_000, now: () => now } });
    for (let i = 0; i < 3; i++) expect((await a.inject({ url: '/api/rules', headers: bearer('guess' + i) })).statusCode).toBe(401);
    const limited = await a.inject({ url: '/api/rules', headers: bearer('guess-more') });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(limited.json().error.code).toBe('SLUICE_ERR_API_TOO_MANY');
    // the correct token from the same address works at once
    expect((await a.inject({ url: '/api/rules', headers: bearer('adm') })).statusCode).toBe(200);
    // another address is unaffected
    expect((await a.inject({ url: '/api/rules', headers: bearer('other'), remoteAddress: '10.9.9.9' })).statusCode).toBe(401);
    now = 60_001;
    expect((await a.inject({ url: '/api/rules', headers: bearer('guess-again') })).statusCode).toBe(401);
    expect(stats()).toMatchObject({ invalid: 5, limited: 1, missing: 0, forbidden: 0, tracked: 2 });
  });

  it('after 100 wrong tokens from one address, the admin token works at once', async () => {
    a = await app({ adminToken: 'adm', viewerToken: 'view' });
    const codes = new Set<number>();
    for (let i = 0; i < 100; i++) codes.add((await a.inject({ url: '/api/rules', headers: bearer('wrong' + i) })).statusCode);
    expect(codes).toEqual(new Set([401, 429])); // slowed down...
    expect((await a.inject({ method: 'POST', url: '/api/rules', headers: bearer('adm'), payload: {} })).statusCode).toBe(200); // ...never locked out
    expect((await a.inject({ url: '/api/rules', headers: bearer('view') })).statusCode).toBe(200);
  });
});

describe('loadOrCreateAdminToken', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

  it('generates once with mode 0600, then reads the same token back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-'));
    dirs.push(dir);
    const data = path.join(dir, 'data');
    const first = loadOrCreateAdminToken(data);
    expect(first.generated).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(40);
    expect(fs.statSync(path.join(data, 'admin_token')).mode & 0o777).toBe(0o600);
    const second = loadOrCreateAdminToken(data);
    expect(second).toEqual({ ...first, generated: false });
  });

  it('tightens a token file readable by others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'admin_token'), 'preset\n', { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'admin_token'), 0o644);
    expect(loadOrCreateAdminToken(dir)).toMatchObject({ token: 'preset', generated: false });
    expect(fs.statSync(path.join(dir, 'admin_token')).mode & 0o777).toBe(0o600);
  });
});

describe('loadAdminToken / saveAdminToken (the daemon saves only after a successful start)', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true }); });

  it('makes a new token in memory and writes nothing until saveAdminToken, which writes it 0600', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-'));
    dirs.push(dir);
    const data = path.join(dir, 'data');
    const t = loadAdminToken(data);
    expect(t).toMatchObject({ generated: true, path: path.join(data, 'admin_token') });
    expect(t.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.existsSync(data)).toBe(false); // not even data_dir
    saveAdminToken(t);
    expect(fs.readFileSync(t.path, 'utf8')).toBe(t.token + '\n');
    expect(fs.statSync(t.path).mode & 0o777).toBe(0o600);
    expect(fs.statSync(data).mode & 0o777).toBe(0o700);
    expect(loadAdminToken(data)).toEqual({ ...t, generated: false });
  });

  it('throws a read error other than a missing file (the daemon names it SLUICE_ERR_AUTH_TOKEN_READ)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'admin_token'));
    expect(() => loadAdminToken(dir)).toThrow(/EISDIR/);
  });
});
