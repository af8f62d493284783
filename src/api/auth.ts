/**
 * API authentication: bearer tokens with two roles, checked against the access
 * level the matched route declares (api/access.ts): `public` routes are open,
 * `viewer` routes take the viewer or the admin token, `admin` routes only the
 * admin token (401 = no or unknown token, 403 = a viewer attempting a
 * change; `ingest` routes take the admin token or the posting source's own
 * token, and a viewer gets 403 there). Browsers' EventSource cannot send headers, so GET and HEAD also
 * accept `?access_token=`. Tokens are compared in constant time (on SHA-256
 * digests, so lengths leak nothing either). Wrong tokens are slowed down per
 * address (api/failure-limiter.ts): past the allowance they get 429 with
 * Retry-After, while a correct token is never refused.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { E } from '../core/errors.js';
import { accessOf } from './access.js';
import { FailureLimiter, type FailureLimiterOptions } from './failure-limiter.js';

export interface AuthOptions {
  adminToken: string;
  viewerToken?: string;
  limiter?: FailureLimiterOptions;
  /** SHA-256 of the token of the HTTP source named `source`, if it has one (`ingest` routes). */
  ingestToken?: (source: string) => Buffer | undefined;
}

export type Role = 'admin' | 'viewer';

/** Refusals by reason (shown in /api/status and as sluice_auth_denied_total). */
export interface AuthStats {
  missing: number;
  invalid: number;
  limited: number;
  forbidden: number;
  /** Addresses in the failure table now, and forgotten to keep it bounded. */
  tracked: number;
  evicted: number;
}

/** The role each authenticated request presented (for `GET /api/whoami`); absent on public routes. */
const roles = new WeakMap<FastifyRequest, Role>();

/** The role of the token this request presented, once the auth hook has let it through. */
export function requestRole(req: FastifyRequest): Role | undefined {
  return roles.get(req);
}

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
      if (t) return t; // an empty ?access_token= presents nothing
    }
  }
  return undefined;
}

/** The `?source=` of an ingest request ('' when absent). */
function sourceOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q >= 0 ? (new URLSearchParams(req.url.slice(q + 1)).get('source') ?? '') : '';
}

function deny(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ error: { code, message } });
}

/** Installs the check as an onRequest hook; returns its counters. */
export function registerAuth(app: FastifyInstance, opts: AuthOptions): () => AuthStats {
  if (!opts.adminToken) throw new Error('registerAuth: adminToken is required');
  const admin = digest(opts.adminToken);
  const viewer = opts.viewerToken ? digest(opts.viewerToken) : undefined;
  const limiter = new FailureLimiter(opts.limiter);
  const n = { missing: 0, invalid: 0, limited: 0, forbidden: 0 };

  app.addHook('onRequest', async (req, reply) => {
    const access = accessOf(req);
    if (access === 'public') return;
    const token = tokenOf(req);
    if (token === undefined) {
      n.missing++;
      reply.header('www-authenticate', 'Bearer');
      return deny(reply, 401, E.API_UNAUTHORIZED.code, 'missing bearer token');
    }
    const presented = digest(token);
    // Check both tokens unconditionally so timing does not tell which one matched.
    const isAdmin = matches(presented, admin);
    const isViewer = matches(presented, viewer);
    const isIngest = access === 'ingest' && matches(presented, opts.ingestToken?.(sourceOf(req)));
    if (!isAdmin && !isViewer && !isIngest) {
      const wait = limiter.fail(req.ip);
      if (wait > 0) {
        n.limited++;
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return deny(reply, 429, E.API_TOO_MANY.code, 'too many failed authentication attempts from this address; retry later');
      }
      n.invalid++;
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      return deny(reply, 401, E.API_UNAUTHORIZED.code, 'invalid token');
    }
    if ((access === 'admin' && !isAdmin) || (access === 'ingest' && !isAdmin && !isIngest)) {
      n.forbidden++;
      return deny(reply, 403, E.API_FORBIDDEN.code, access === 'ingest' ? 'the viewer token cannot post records; use the admin token or the source\'s token' : 'the viewer token is read-only; this needs the admin token');
    }
    // a source's ingest token is good for its ingest route only: it carries no reading role
    if (isAdmin || isViewer) roles.set(req, isAdmin ? 'admin' : 'viewer');
  });
  return () => ({ ...n, tracked: limiter.tracked, evicted: limiter.evicted });
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
