/**
 * Who may call a route is declared where the route is registered, and decided
 * on the route the router matched, never on the raw URL: `/%61pi/rules`,
 * `/api/./rules` and `/api/rules` reach one handler, so they get one answer.
 * Every route carries `{ config: { access } }` (spread one of PUBLIC, VIEWER,
 * ADMIN, INGEST into its options); registering a route without it throws, so the
 * server refuses to start (default deny). A request that matches no route is
 * treated as a read (GET, HEAD) or a change (anything else) of an unknown
 * resource: it needs a token like any API call, and a 404 is only told to
 * callers who may read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** `ingest`: the admin token, or the token of the HTTP source named by `?source=` (api/routes/ingest.ts). */
export const ACCESS_LEVELS = ['public', 'viewer', 'admin', 'ingest'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route (api/access.ts). Required on every route. */
    access?: Access;
  }
}

/** Route options to spread: `app.get(path, VIEWER, handler)`. */
export const PUBLIC = { config: { access: 'public' } } as const;
export const VIEWER = { config: { access: 'viewer' } } as const;
export const ADMIN = { config: { access: 'admin' } } as const;
export const INGEST = { config: { access: 'ingest' } } as const;

export interface RouteEntry {
  method: string;
  url: string;
  access: Access;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/**
 * Install the declaration check (call before any route is registered). Keeps
 * the table of routes and their access levels: the generated access tests
 * walk it, so a new route is covered without editing them.
 */
export function requireAccessDeclarations(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (access === undefined || !ACCESS_LEVELS.includes(access)) {
      throw new Error(`route ${methods.join(',')} ${route.url} declares no access level (config.access: public, viewer or admin); refusing to start`);
    }
    for (const m of methods) table.push({ method: m, url: route.url, access });
  });
}

/** The registered routes of `app` with their declared access (empty when the check is not installed). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}

/** The access level for this request: the matched route's, or a read/change of an unknown resource. */
export function accessOf(req: FastifyRequest): Access {
  const declared = req.is404 ? undefined : req.routeOptions.config?.access;
  if (declared !== undefined) return declared;
  return req.method === 'GET' || req.method === 'HEAD' ? 'viewer' : 'admin';
}
