/**
 * What the auth hook reads from the query string, and only from there
 * (found by mutation testing, `npm run mutate`): `access_token` and an
 * ingest request's `source` never come from the path; a source's token is
 * looked up on ingest routes only; a query without `source` asks for the
 * source ''. And loadOrCreateAdminToken leaves an existing token file as it
 * found it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { INGEST, requireAccessDeclarations, VIEWER } from './access.js';
import { loadOrCreateAdminToken, registerAuth } from './auth.js';

const sha = (t: string) => crypto.createHash('sha256').update(t).digest();

let a: FastifyInstance | undefined;
afterEach(async () => {
  await a?.close();
  a = undefined;
});

async function app(asked: string[] = []): Promise<FastifyInstance> {
  const f = Fastify();
  requireAccessDeclarations(f);
  registerAuth(f, { adminToken: 'adm', viewerToken: 'view', ingestToken: (s) => (asked.push(s), s === 'edge' ? sha('edge-token') : undefined) });
  f.get('/api/rules', VIEWER, async () => ({ ok: true }));
  f.get('/api/files/:name', VIEWER, async () => ({ ok: true }));
  f.post('/api/ingest', INGEST, async () => ({ ok: true }));
  f.post('/api/ingest/:name', INGEST, async () => ({ ok: true }));
  await f.ready();
  return f;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('the query string, and nothing else', () => {
  it('access_token in the path (no "?") presents no token', async () => {
    a = await app();
    const r = await a.inject({ url: '/api/files/x&access_token=view' });
    expect(r.statusCode).toBe(401);
    expect(r.json().error.message).toBe('missing bearer token');
    expect((await a.inject({ url: '/api/nothing&access_token=view' })).statusCode).toBe(401);
    expect((await a.inject({ url: '/api/files/x?access_token=view' })).statusCode).toBe(200);
  });

  it('an ingest request\'s source in the path (no "?") is no source', async () => {
    const asked: string[] = [];
    a = await app(asked);
    expect((await a.inject({ method: 'POST', url: '/api/ingest/x&source=edge', headers: bearer('edge-token'), payload: {} })).statusCode).toBe(401);
    expect((await a.inject({ method: 'POST', url: '/api/ingest/x?source=edge', headers: bearer('edge-token'), payload: {} })).statusCode).toBe(200);
    expect(asked).toEqual(['', 'edge']);
  });

  it('a query without source asks for the source \'\'', async () => {
    const asked: string[] = [];
    a = await app(asked);
    expect((await a.inject({ method: 'POST', url: '/api/ingest?x=1', headers: bearer('edge-token'), payload: {} })).statusCode).toBe(401);
    expect(asked).toEqual(['']);
  });

  it('a source\'s token is not looked up, and opens nothing, on a reading route even with ?source=', async () => {
    const asked: string[] = [];
    a = await app(asked);
    const r = await a.inject({ url: '/api/rules?source=edge', headers: bearer('edge-token') });
    expect(r.statusCode).toBe(401);
    expect(r.json().error.message).toBe('invalid token');
    expect(asked).toEqual([]);
  });
});

describe('loadOrCreateAdminToken', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('leaves an existing token file as it is: content, mode and the file itself', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-auth-'));
    dirs.push(dir);
    const f = path.join(dir, 'admin_token');
    fs.writeFileSync(f, '  kept \n\n', { mode: 0o400 });
    fs.chmodSync(f, 0o400);
    const before = fs.statSync(f);
    expect(loadOrCreateAdminToken(dir)).toEqual({ token: 'kept', generated: false, path: f });
    const after = fs.statSync(f);
    expect(fs.readFileSync(f, 'utf8')).toBe('  kept \n\n');
    expect(after.mode & 0o777).toBe(0o400);
    expect(after.ino).toBe(before.ino);
  });
});
