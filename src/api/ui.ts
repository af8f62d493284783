/**
 * The web UI's files (docs/ui.md), served by the daemon itself: `/` answers
 * index.html, `/assets/*` the hashed files Vite built into dist/ui, and a
 * browser navigation to any other page path (`/events`, `/rules?...`) the
 * same index.html (the UI routes in the browser). The build is read into
 * memory once at start, with the .br and .gz twins the build wrote, so a
 * request is a map lookup: no request path ever reaches the file system.
 *
 * Caching: hashed files are immutable for a year; index.html is `no-cache`
 * (revalidated by ETag), so a new build is picked up on the next load.
 *
 * These routes are public: they serve the static shell, and every piece of
 * data the UI shows comes from the API with a token. They replace the API's
 * `default-src 'none'` Content-Security-Policy with the UI's own, which
 * allows scripts, styles and connections to this origin only (no inline
 * script or style: the build needs none).
 *
 * The page-path fallback matches only GET/HEAD with `Accept: text/html` whose
 * first path segment is not an API one (a route constraint, so every other
 * unknown path still takes the unknown-route answer: a token, then 404).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PUBLIC } from './access.js';
import { errorBody } from './errors.js';
import { E } from '../core/errors.js';

/** The UI's policy: this origin only, nothing inline, no framing, no forms posted anywhere. */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Where `npm run build:ui` (and `prepare`) write the UI: <repo>/dist/ui, from src/api or dist/api alike. */
export function defaultUiDir(): string {
  return path.resolve(import.meta.dirname, '../../dist/ui');
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

interface UiFile {
  type: string;
  body: Buffer;
  br?: Buffer;
  gz?: Buffer;
  etag: string;
  cache: string;
}

/** Read a built UI into memory: URL path -> file (with its compressed twins). Empty when not built. */
export function loadUi(dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  if (!existsSync(path.join(dir, 'index.html'))) return files;
  // A build running at the same moment (npm run build:ui empties the folder first) must not stop
  // the daemon: a file that vanished is left out, and a missing index.html means "not built".
  const read = (file: string) => {
    try {
      return readFileSync(file);
    } catch {
      return undefined;
    }
  };
  const walk = (sub: string) => {
    let names: string[];
    try {
      names = readdirSync(path.join(dir, sub));
    } catch {
      return;
    }
    for (const name of names) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = path.join(dir, rel);
      if (name.endsWith('.br') || name.endsWith('.gz') || name.startsWith('.')) continue;
      const type = TYPES[path.extname(name)];
      if (!type) {
        if (!path.extname(name) && statSync(full, { throwIfNoEntry: false })?.isDirectory()) walk(rel);
        continue;
      }
      const body = read(full);
      if (!body) continue;
      const twin = (ext: string) => read(full + ext);
      files.set('/' + rel, {
        type,
        body,
        br: twin('.br'),
        gz: twin('.gz'),
        etag: '"' + createHash('sha256').update(body).digest('base64url').slice(0, 22) + '"',
        // Vite names what it emits under assets/ by content hash: such a name never changes meaning
        cache: rel.startsWith('assets/') ? IMMUTABLE : 'no-cache',
      });
    }
  };
  walk('');
  if (!files.has('/index.html')) files.clear();
  return files;
}

const NOT_BUILT =
  '<!doctype html><meta charset="utf-8"><title>Sluice</title><h1>Sluice</h1>' +
  '<p>The web UI is not built. Run <code>npm run build:ui</code> (npm ci runs it), then reload. The API is at <code>/api</code>.</p>\n';

/** First path segments that belong to the API (never answered with the UI shell). */
const API_SEGMENTS = new Set(['api', 'healthz', 'metrics']);

/** A browser navigation to a UI page: GET/HEAD, HTML accepted, first segment not an API one. */
export function isShellRequest(method: string, url: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (accept === undefined || !accept.includes('text/html')) return false;
  const q = url.indexOf('?');
  let p = q >= 0 ? url.slice(0, q) : url;
  try {
    p = decodeURIComponent(p);
  } catch {
    return false;
  }
  const first = p.split(/[/\\]/).find((s) => s !== '' && s !== '.' && s !== '..');
  return first === undefined || !API_SEGMENTS.has(first.toLowerCase().split(';')[0]!);
}

function send(req: FastifyRequest, reply: FastifyReply, f: UiFile): FastifyReply {
  reply
    .header('content-security-policy', UI_CSP)
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', f.cache)
    .header('etag', f.etag)
    .header('vary', 'Accept-Encoding')
    .header('content-type', f.type);
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === f.etag)) return reply.code(304).send();
  const ae = String(req.headers['accept-encoding'] ?? '');
  if (f.br && /\bbr\b/.test(ae)) return reply.header('content-encoding', 'br').send(f.br);
  if (f.gz && /\bgzip\b/.test(ae)) return reply.header('content-encoding', 'gzip').send(f.gz);
  return reply.send(f.body);
}

export interface UiRouteOptions {
  /** The built UI (default: dist/ui of this checkout). */
  dir?: string;
}

/** Register `/`, `/assets/*` and the page-path fallback (call before other wildcard routes). */
export function registerUiRoutes(app: FastifyInstance, o: UiRouteOptions = {}): void {
  const files = loadUi(o.dir ?? defaultUiDir());
  const index = files.get('/index.html');

  const shell = async (req: FastifyRequest, reply: FastifyReply) => {
    if (index) return send(req, reply, index);
    return reply.code(503).header('content-security-policy', UI_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT);
  };

  app.addConstraintStrategy({
    name: 'uiShell',
    storage() {
      const m = new Map<string, unknown>();
      return { get: (k: string) => (m.get(k) ?? null) as never, set: (k: string, v: unknown) => void m.set(k, v) };
    },
    deriveConstraint: (req: { method?: string; url?: string; headers: Record<string, string | string[] | undefined> }) => {
      const accept = req.headers.accept;
      return isShellRequest(req.method ?? '', req.url ?? '/', Array.isArray(accept) ? accept.join(',') : accept) ? 'yes' : 'no';
    },
    mustMatchWhenDerived: false,
  });

  app.get('/', PUBLIC, shell);

  app.get<{ Params: { '*': string } }>('/assets/*', PUBLIC, async (req, reply) => {
    const f = files.get('/assets/' + req.params['*']);
    if (!f) return reply.code(404).header('cache-control', 'no-store').send(errorBody(E.API_NOT_FOUND.code, 'no such UI asset'));
    return send(req, reply, f);
  });

  // Other top-level files of the build (favicon and the like), by exact name.
  for (const [p, f] of files) {
    if (p === '/index.html' || p.startsWith('/assets/')) continue;
    app.get(p, PUBLIC, async (req, reply) => send(req, reply, f));
  }

  app.get('/*', { ...PUBLIC, constraints: { uiShell: 'yes' } }, shell);
}
