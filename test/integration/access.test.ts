/**
 * Access control over a real socket, generated from the daemon's own route
 * table: for every route, many spellings of its path (percent-encoded
 * letters, %2f, double slashes, dot segments, case, trailing slash, ;params)
 * answer 401 without a token, and 403 with the viewer token where the route
 * needs the admin token. A route added later is covered without editing this
 * file. Requests go through node:http with the path as written (no client
 * normalizes it), to a Daemon running in this process.
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/main.js';
import type { RouteEntry } from '../../src/api/access.js';
import { freePort, tempDir } from '../helpers/daemon.js';
import { silentLog } from '../../src/core/log.js';

const ADMIN_TOKEN = 'access-test-admin-token-0123456789';
const VIEWER_TOKEN = 'access-test-viewer-token-0123456789';

let daemon: Daemon;
let port: number;
let routes: readonly RouteEntry[];
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  const dir = tempDir('sluice-access-');
  port = await freePort();
  const file = path.join(dir, 'sluice.toml');
  writeFileSync(
    file,
    `data_dir = "${dir}/data"\n[server]\nlisten = "127.0.0.1:${port}"\nadmin_token = "${ADMIN_TOKEN}"\nviewer_token = "${VIEWER_TOKEN}"\n` +
      `[[sources]]\nname = "app"\ntype = "file"\npaths = ["${dir}/logs/*.log"]\n`,
  );
  const r = loadConfig({ file, env: {} });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  daemon = new Daemon(r.config, { configFile: file, loadAgain: () => loadConfig({ file, env: {} }), log: silentLog });
  await daemon.start();
  routes = daemon.routeTable();
});

afterAll(async () => {
  agent.destroy();
  await daemon?.stop();
});

/** A concrete path for a route: `:id` -> 1, any other parameter -> the stream/source name "app". */
const concrete = (url: string) => url.replace(/:id\b/g, '1').replace(/:[A-Za-z_]+/g, 'app');
const hasBody = (m: string) => m === 'POST' || m === 'PATCH' || m === 'PUT';

/** The status of `method rawPath` (headers only: an SSE answer is cut off after them); 0 when none came. */
function send(method: string, rawPath: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (hasBody(method)) headers['content-type'] = 'application/json';
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers, agent }, (res) => {
      resolve(res.statusCode!);
      res.destroy();
    });
    req.on('error', reject);
    // a handler reached by mistake may hold the answer (a webhook test, a reload): report it, do not hang
    req.setTimeout(3000, () => {
      req.destroy();
      resolve(0);
    });
    req.end(hasBody(method) ? '{}' : undefined);
  });
}

const pct = (c: string, upper = true) => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return '%' + (upper ? h.toUpperCase() : h);
};

/** Fixed spellings of one path, each a way servers and proxies have been fooled before. */
export function spellings(p: string): string[] {
  const segs = p.split('/').filter(Boolean);
  const at = (i: number, f: (s: string) => string) => '/' + segs.map((s, j) => (j === i ? f(s) : s)).join('/');
  const out = new Set<string>([p]);
  segs.forEach((_, i) => {
    out.add(at(i, (s) => pct(s[0]!) + s.slice(1))); // /%61pi/rules
    out.add(at(i, (s) => [...s].map((c) => pct(c, false)).join(''))); // every byte encoded, lower-case hex
    out.add(at(i, (s) => s.toUpperCase())); // case
    out.add(at(i, (s) => s[0]!.toUpperCase() + s.slice(1)));
    out.add(at(i, (s) => `${s};x=1`)); // ;params
    out.add(at(i, (s) => `./${s}`)); // dot segments
    out.add(at(i, (s) => `%2e/${s}`));
    out.add(at(i, (s) => `zz/../${s}`));
    out.add(at(i, (s) => `zz/%2e%2e/${s}`));
    out.add(at(i, (s) => `/${s}`)); // double slash
  });
  for (let i = 1; i < segs.length; i++) {
    out.add('/' + segs.slice(0, i).join('/') + '%2f' + segs.slice(i).join('/')); // %2f for a slash
    out.add('/' + segs.slice(0, i).join('/') + '%2F' + segs.slice(i).join('/'));
  }
  out.add(p + '/'); // trailing slash
  out.add(p + '//');
  out.add(p + '/.');
  out.add(p + ';');
  out.add(p + '?');
  out.add(p + '?access_token=');
  out.add('//' + p.slice(1));
  out.add('/.' + p);
  return [...out];
}

describe('access on the matched route, for every spelling of every route', () => {
  it('has a route table covering the API, and every route declares a level', () => {
    expect(routes.length).toBeGreaterThan(20);
    const urls = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const must of ['POST /api/rules', 'DELETE /api/triggers/:id', 'POST /api/config/reload', 'GET /api/tail/sse', 'GET /healthz']) expect(urls).toContain(must);
    // GET and HEAD each: health, metrics, and the web UI's static shell (api/ui.ts: the page-path
    // fallback `/*` matches browser navigations only, so an API path never reaches it)
    expect(routes.filter((r) => r.access === 'public').map((r) => r.url).sort()).toEqual(['/', '/', '/*', '/*', '/assets/*', '/assets/*', '/healthz', '/healthz', '/metrics', '/metrics']);
    // every change needs the admin token; posting records also takes an HTTP source's own token (access `ingest`)
    for (const r of routes) if (r.method !== 'GET' && r.method !== 'HEAD') expect(r.access, `${r.method} ${r.url}`).toBe(r.url === '/api/ingest' ? 'ingest' : 'admin');
  });

  it('no spelling answers anything but 401 without a token, or anything but 403 with the viewer token on an admin route', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const r of routes) {
      if (r.access === 'public') continue;
      for (const s of spellings(concrete(r.url))) {
        const none = await send(r.method, s);
        if (none !== 401) failures.push(`${r.method} ${s} without a token: ${none}`);
        if (r.access === 'admin' || r.access === 'ingest') {
          const viewer = await send(r.method, s, VIEWER_TOKEN);
          if (viewer !== 403) failures.push(`${r.method} ${s} with the viewer token: ${viewer}`);
        }
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(500);
  });

  it('the canonical spellings do reach their handlers with a sufficient token (the 401s above are not a dead server)', async () => {
    expect(await send('GET', '/api/rules', VIEWER_TOKEN)).toBe(200);
    expect(await send('GET', '/%61pi/rules', VIEWER_TOKEN)).toBe(200); // same route, same answer
    expect(await send('GET', '/api/streams', ADMIN_TOKEN)).toBe(200);
    expect(await send('GET', '/healthz')).toBe(200);
  });

  it('property: random spellings that decode to an API path are refused the same way', async () => {
    const guarded = routes.filter((r) => r.access !== 'public');
    const segmentSpelling = (seg: string) =>
      fc
        .tuple(
          fc.array(fc.integer({ min: 0, max: 6 }), { minLength: seg.length, maxLength: seg.length }),
          fc.constantFrom('', './', '%2e/', 'x/../', '/', 'a/%2E%2E/'),
          fc.constantFrom('', ';', ';p=1'),
        )
        .map(([how, prefix, suffix]) => {
          const chars = [...seg].map((c, i) => {
            const k = how[i]!;
            if (k === 1) return pct(c);
            if (k === 2) return pct(c, false);
            if (k === 3 && /[a-z]/.test(c)) return c.toUpperCase();
            return c;
          });
          return prefix + chars.join('') + suffix;
        });
    const spelled = fc.integer({ min: 0, max: guarded.length - 1 }).chain((i) => {
      const r = guarded[i]!;
      const segs = concrete(r.url).split('/').filter(Boolean);
      return fc.tuple(fc.constant(r), fc.tuple(...segs.map(segmentSpelling)), fc.constantFrom('', '/', '/.', '?', '?q=1')).map(([route, parts, tail]) => ({ route, path: '/' + parts.join('/') + tail }));
    });
    await fc.assert(
      fc.asyncProperty(spelled, async ({ route, path: p }) => {
        expect(await send(route.method, p), `${route.method} ${p}`).toBe(401);
        if (route.access === 'admin' || route.access === 'ingest') expect(await send(route.method, p, VIEWER_TOKEN), `${route.method} ${p} (viewer)`).toBe(403);
      }),
      { numRuns: 300 },
    );
  });
});
