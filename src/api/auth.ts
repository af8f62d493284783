/**
 * API authentication: bearer tokens with two roles. Everything under /api/
 * needs a token; GET/HEAD accept the viewer or the admin token, every other
 * method needs the admin token (401 = no or unknown token, 403 = a viewer
 * attempting a change). Browsers' EventSource cannot send headers, so GET and
 * HEAD also accept `?access_token=`. Tokens are compared in constant time (on
 * SHA-256 digests, so lengths leak nothing either). An address that presents
 * too many wrong tokens in a minute gets 429 with Retry-After, without its
 * tokens being checked, until the minute is over. /healthz and /metrics stay
 * open.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { E } from '../core/errors.js';

export interface AuthOptions {
  adminToken: string;
  viewerToken?: string;
  /** Wrong tokens per address per window before 429 (default 10). */
  maxFailures?: number;
  /** Window in ms (default 60 s). */
  failureWindowMs?: number;
  now?: () => number;
}

export type Role = 'admin' | 'viewer';

const digest = (s: string) => crypto.createHash('sha256').update(s).digest();

/** Constant-time check of `presented` against a known token digest. */
function matches(presented: Buffer, known: Buffer | undefined): boolean {
  return known !== undefined && crypto.timingSafeEqual(presented, known);
}

function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1] : '';
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const q = req.url.indexOf('?');
    if (q >= 0) {
      const t = new URLSearchParams(req.url.slice(q + 1)).get('access_token');
      if (t !== null) return t;
    }
  }
  return undefined;
}

function deny(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ error: { code, message } });
}

/** Per-address failure counts in fixed windows; bounded so a flood of addresses cannot grow it without limit. */
class FailureLimiter {
  #m = new Map<string, { count: number; start: number }>();
  constructor(readonly max: number, readonly windowMs: number, readonly now: () => number) {}

  /** ms until the address may try again, or 0. */
  blockedFor(addr: string): number {
    const e = this.#m.get(addr);
    if (!e) return 0;
    const age = this.now() - e.start;
    if (age >= this.windowMs) {
      this.#m.delete(addr);
      return 0;
    }
    return e.count >= this.max ? this.windowMs - age : 0;
  }

  fail(addr: string): void {
    const now = this.now();
    let e = this.#m.get(addr);
    if (!e || now - e.start >= this.windowMs) {
      if (this.#m.size >= 10_000) this.#sweep(now);
      e = { count: 0, start: now };
      this.#m.set(addr, e);
    }
    e.count++;
  }

  #sweep(now: number): void {
    for (const [k, e] of this.#m) if (now - e.start >= this.windowMs) this.#m.delete(k);
    // Still full: forget the oldest entries rather than grow.
    for (const k of this.#m.keys()) {
      if (this.#m.size < 10_000) break;
      this.#m.delete(k);
    }
  }
}

export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  if (!opts.adminToken) throw new Error('registerAuth: adminToken is required');
  const admin = digest(opts.adminToken);
  const viewer = opts.viewerToken ? digest(opts.viewerToken) : undefined;
  const limiter = new FailureLimiter(opts.maxFailures ?? 10, opts.failureWindowMs ?? 60_000, opts.now ?? Date.now);

  app.addHook('onRequest', async (req, reply) => {
    const url = req.url;
    if (!(url === '/api' || url.startsWith('/api/') || url.startsWith('/api?'))) return;
    const token = tokenOf(req);
    if (token === undefined) {
      reply.header('www-authenticate', 'Bearer');
      return deny(reply, 401, E.API_UNAUTHORIZED.code, 'missing bearer token');
    }
    const addr = req.ip;
    const wait = limiter.blockedFor(addr);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return deny(reply, 429, E.API_TOO_MANY.code, 'too many failed authentication attempts; retry later');
    }
    const presented = digest(token);
    // Check both tokens unconditionally so timing does not tell which one matched.
    const isAdmin = matches(presented, admin);
    const isViewer = matches(presented, viewer);
    if (!isAdmin && !isViewer) {
      limiter.fail(addr);
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      return deny(reply, 401, E.API_UNAUTHORIZED.code, 'invalid token');
    }
    const role: Role = isAdmin ? 'admin' : 'viewer';
    if (role !== 'admin' && req.method !== 'GET' && req.method !== 'HEAD') {
      return deny(reply, 403, E.API_FORBIDDEN.code, 'the viewer token is read-only; this needs the admin token');
    }
  });
}

/** The admin token used when none is configured, and the file it is kept in. */
export interface AdminToken {
  token: string;
  /** Made just now, not yet saved: the caller saves it (saveAdminToken) and prints it once. */
  generated: boolean;
  path: string;
}

/**
 * The admin token when none is configured: read from `${dataDir}/admin_token`
 * (tightened to 0600 if looser), or a new one made in memory. Nothing is
 * written here: the daemon saves a new token only once its start succeeded,
 * so a start that fails (port in use, bad TLS files) leaves no token file
 * and prints no token. Throws the read error other than ENOENT.
 */
export function loadAdminToken(dataDir: string): AdminToken {
  const file = path.join(dataDir, 'admin_token');
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    if (token) {
      const st = fs.statSync(file);
      if ((st.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
      return { token, generated: false, path: file };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { token: crypto.randomBytes(32).toString('base64url'), generated: true, path: file };
}

/** Store a token from loadAdminToken at its path, mode 0600 (atomically: a crash leaves the old file or none). */
export function saveAdminToken(t: AdminToken): void {
  fs.mkdirSync(path.dirname(t.path), { recursive: true, mode: 0o700 });
  const tmp = `${t.path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, t.token + '\n', { mode: 0o600 });
  fs.renameSync(tmp, t.path);
}

/** loadAdminToken and, when it made a new token, saveAdminToken at once (for tools; the daemon saves only after its start). */
export function loadOrCreateAdminToken(dataDir: string): AdminToken {
  const t = loadAdminToken(dataDir);
  if (t.generated) saveAdminToken(t);
  return t;
}
