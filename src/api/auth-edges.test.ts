/**
 * The edges of the token check that the main auth tests leave open (found by
 * mutation testing, `npm run mutate`): how strictly `Authorization: Bearer`
 * is parsed, `?access_token=` for GET and HEAD only, the answers' headers
 * and messages, the counters by reason, the ingest token of one source, and
 * the token file's modes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, INGEST, requireAccessDeclarations, VIEWER } from './access.js';
import { loadAdminToken, loadOrCreateAdminToken, registerAuth, requestRole, saveAdminToken, type AuthStats } from './auth.js';

let stats: () => AuthStats;
let a: FastifyInstance | undefined;
afterEach(async () => {
  await a?.close();
  a = undefined;
});

async function app(opts: Partial<Parameters<typeof registerAuth>[1]> = {}): Promise<FastifyInstance> {
  const f = Fastify();
  requireAccessDeclarations(f);
  stats = registerAuth(f, { adminToken: 'adm', viewerToken: 'view', ...opts });
  f.get('/api/rules', VIEWER, async (req) => ({ role: requestRole(req) ?? null }));
  f.post('/api/rules', ADMIN, async () => ({ ok: true }));
  f.post('/api/ingest', INGEST, async (req) => ({ role: requestRole(req) ?? null }));
  await f.ready();
  return f;
}

describe('the bearer header', () => {
  it('takes "Bearer <token>" in any case with any spacing around it, and nothing else on the line', async () => {
    a = await app();
    const status = async (h: string) => (await a!.inject({ url: '/api/rules', headers: { authorization: h } })).statusCode;
    expect(await status('Bearer adm')).toBe(200);
    expect(await status('bearer   adm  ')).toBe(200);
    expect(await status('BEARER\tview')).toBe(200);
    expect(await status('Bearer adm extra')).toBe(401); // a second word is not part of the token
    expect(await status('Bearer adm2')).toBe(401);
    expect(await status('Bearer')).toBe(401); // a header with no token presents an empty one: invalid, not missing
    expect(await status('Bearerxadm')).toBe(401);
    expect(await status('xBearer adm')).toBe(401);
    expect(stats()).toMatchObject({ missing: 0, invalid: 5 });
  });

  it('a header wins over ?access_token= (a wrong header is not rescued by a good query)', async () => {
    a = await app();
    const r = await a.inject({ url: '/api/rules?access_token=adm', headers: { authorization: 'Bearer nope' } });
    expect(r.statusCode).toBe(401);
  });
});

describe('?access_token=', () => {
  it('works for GET and HEAD, not for a POST, and an empty one presents nothing (missing, with its header)', async () => {
    a = await app();
    expect((await a.inject({ url: '/api/rules?x=1&access_token=view' })).json()).toEqual({ role: 'viewer' });
    expect((await a.inject({ method: 'HEAD', url: '/api/rules?access_token=view' })).statusCode).toBe(200);
    const post = await a.inject({ method: 'POST', url: '/api/rules?access_token=adm', payload: {} });
    expect(post.statusCode).toBe(401);
    expect(post.json().error.message).toBe('missing bearer token');
    const empty = await a.inject({ url: '/api/rules?access_token=' });
    expect(empty.statusCode).toBe(401);
    expect(empty.headers['www-authenticate']).toBe('Bearer');
    expect((await a.inject({ url: '/api/rules?access_token' })).json().error.message).toBe('missing bearer token');
    expect(stats()).toMatchObject({ missing: 3, invalid: 0 });
  });
});

describe('the answers', () => {
  it('401 missing and 401 invalid name themselves in WWW-Authenticate and the message, as JSON; counted apart', async () => {
    a = await app();
    const missing = await a.inject({ url: '/api/rules' });
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.headers['content-type']).toBe('application/json; charset=utf-8');
    const invalid = await a.inject({ url: '/api/rules', headers: { authorization: 'Bearer nope' } });
    expect(invalid.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(invalid.json()).toEqual({ error: { code: 'SLUICE_ERR_API_UNAUTHORIZED', message: 'invalid token' } });
    expect(stats()).toMatchObject({ missing: 1, invalid: 1, forbidden: 0, limited: 0 });
  });

  it('403 says what the viewer token cannot do, for an admin route and for ingest; counted', async () => {
    a = await app();
    const admin = await a.inject({ method: 'POST', url: '/api/rules', headers: { authorization: 'Bearer view' }, payload: {} });
    expect(admin.json()).toEqual({ error: { code: 'SLUICE_ERR_API_FORBIDDEN', message: 'the viewer token is read-only; this needs the admin token' } });
    const ingest = await a.inject({ method: 'POST', url: '/api/ingest?source=edge', headers: { authorization: 'Bearer view' }, payload: {} });
    expect(ingest.statusCode).toBe(403);
    expect(ingest.json().error.message).toBe("the viewer token cannot post records; use the admin token or the source's token");
    expect(stats().forbidden).toBe(2);
  });

  it('429 on a throttled address carries Retry-After in whole seconds and its message', async () => {
    let now = 1_000_000;
    a = await app({ limiter: { max: 1, windowMs: 60_000, now: () => now } });
    await a.inject({ url: '/api/rules', headers: { authorization: 'Bearer nope' } });
    now += 500; // 59.5 s of the window left: rounded up
    const r = await a.inject({ url: '/api/rules', headers: { authorization: 'Bearer nope' } });
    expect(r.statusCode).toBe(429);
    expect(r.headers['retry-after']).toBe('60');
    expect(r.json()).toEqual({ error: { code: 'SLUICE_ERR_API_TOO_MANY', message: 'too many failed authentication attempts from this address; retry later' } });
    expect(stats().limited).toBe(1);
  });
});

describe('a source\'s ingest token', () => {
  it('opens the ingest route of its own source only, and gives no reading role', async () => {
    const asked: string[] = [];
    a = await app({ ingestToken: (source) => (asked.push(source), source === 'edge' ? digestOf('edge-token') : undefined) });
    const ok = await a.inject({ method: 'POST', url: '/api/ingest?source=edge', headers: { authorization: 'Bearer edge-token' }, payload: {} });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ role: null });
    expect((await a.inject({ method: 'POST', url: '/api/ingest?source=other', headers: { authorization: 'Bearer edge-token' }, payload: {} })).statusCode).toBe(401);
    expect((await a.inject({ method: 'POST', url: '/api/ingest', headers: { authorization: 'Bearer edge-token' }, payload: {} })).statusCode).toBe(401);
    expect(asked).toEqual(['edge', 'other', '']);
    // not a reading token anywhere else
    expect((await a.inject({ url: '/api/rules', headers: { authorization: 'Bearer edge-token' } })).statusCode).toBe(401);
    // the admin token posts to any source and is admin there
    expect((await a.inject({ method: 'POST', url: '/api/ingest?source=other', headers: { authorization: 'Bearer adm' }, payload: {} })).json()).toEqual({ role: 'admin' });
  });

  it('without an ingest token lookup, only the admin token posts records', async () => {
    a = await app();
    expect((await a.inject({ method: 'POST', url: '/api/ingest?source=edge', headers: { authorization: 'Bearer adm' }, payload: {} })).statusCode).toBe(200);
    expect((await a.inject({ method: 'POST', url: '/api/ingest?source=edge', headers: { authorization: 'Bearer edge-token' }, payload: {} })).statusCode).toBe(401);
  });

  it('registerAuth refuses to run without an admin token', () => {
    expect(() => registerAuth(Fastify(), { adminToken: '' })).toThrow('registerAuth: adminToken is required');
  });
});

describe('the admin token file', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-'));

  it('a file that is already private is left as it is; a wider one is made 0600', () => {
    const d = tmp();
    const f = path.join(d, 'admin_token');
    fs.writeFileSync(f, 'tok\n', { mode: 0o400 });
    fs.chmodSync(f, 0o400);
    expect(loadAdminToken(d)).toEqual({ token: 'tok', generated: false, path: f });
    expect(fs.statSync(f).mode & 0o777).toBe(0o400);
    fs.chmodSync(f, 0o640);
    loadAdminToken(d);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
  });

  it('an empty file does not count: a new token is made (not saved until saveAdminToken)', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'admin_token'), '\n');
    const t = loadAdminToken(d);
    expect(t.generated).toBe(true);
    expect(t.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.readFileSync(t.path, 'utf8')).toBe('\n');
  });

  it('saveAdminToken creates missing directories 0700; loadOrCreateAdminToken saves only a new token', () => {
    const d = path.join(tmp(), 'a', 'b');
    const t = loadOrCreateAdminToken(d);
    expect(fs.statSync(d).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(t.path, 'utf8')).toBe(t.token + '\n');
    fs.writeFileSync(t.path, 'kept\n', { mode: 0o600 });
    expect(loadOrCreateAdminToken(d)).toMatchObject({ token: 'kept', generated: false });
    expect(fs.readFileSync(t.path, 'utf8')).toBe('kept\n');
    saveAdminToken({ token: 'other', generated: true, path: t.path });
    expect(fs.readFileSync(t.path, 'utf8')).toBe('other\n');
  });
});

function digestOf(t: string): Buffer {
  // the same digest registerAuth compares (sha256 of the token)
  return crypto.createHash('sha256').update(t).digest();
}
