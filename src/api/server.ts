/**
 * The HTTP server (fastify): health, metrics, status, streams, live SSE,
 * backfill, rule backtests over the replay rings, config reload, and the web
 * UI's files (api/ui.ts). Issue-specific route groups (rules, triggers,
 * events, ingest) register through `extraRoutes`. Errors are mapped in one
 * place (api/errors.ts); every route declares its access level
 * (api/access.ts) and a route without one stops the server from starting.
 *
 * Hooks run in this order on every request: security headers and CORS
 * preflight (api/headers.ts), then authentication on the matched route's
 * access level (api/auth.ts), then body parsing (api/json-body.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { requireAccessDeclarations } from './access.js';
import { frameworkError, installErrorHandler } from './errors.js';
import { registerHeaders } from './headers.js';
import { registerJsonBody } from './json-body.js';
import type { DaemonView } from './view.js';
import { registerStatusRoutes } from './routes/status.js';
import { registerStreamRoutes } from './routes/streams.js';
import { registerBacktestRoute } from './routes/backtest.js';
import { registerUiRoutes, type UiRouteOptions } from './ui.js';

export interface ServerOptions {
  view: DaemonView;
  tls?: { cert: string; key: string };
  /** Installs auth hooks (api/auth.ts) before routes; absent = open (tests of the core only). */
  auth?: (app: FastifyInstance) => void;
  extraRoutes?: ((app: FastifyInstance) => void | Promise<void>)[];
  /** Whose address `req.ip` is: false (the peer's, default), true (X-Forwarded-For's client) or the proxies trusted. */
  trustProxy?: boolean | string[];
  /** Browser origins allowed to call the API (CORS); empty = off. */
  corsOrigins?: readonly string[];
  logger?: boolean;
  /** Serve the web UI's built files at `/` (api/ui.ts); absent = API only. */
  ui?: UiRouteOptions;
}

/** What every Sluice HTTP app has before its auth hook and routes: the access-level check, errors, JSON bodies, headers. */
export function prepareApp(app: FastifyInstance, o: Pick<ServerOptions, 'corsOrigins'> = {}): void {
  requireAccessDeclarations(app);
  installErrorHandler(app);
  registerJsonBody(app);
  registerHeaders(app, { corsOrigins: o.corsOrigins });
}

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: 16 * 1024 * 1024,
    ...(o.tls ? { https: { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) } } : {}),
    // SSE responses live long; the default request timeout does not apply to hijacked replies
    forceCloseConnections: true,
    trustProxy: o.trustProxy ?? false,
    frameworkErrors: frameworkError,
  });
  prepareApp(app, o);
  o.auth?.(app);
  registerStatusRoutes(app, o.view);
  registerStreamRoutes(app, o.view);
  registerBacktestRoute(app, o.view);
  if (o.ui) registerUiRoutes(app, o.ui);
  for (const r of o.extraRoutes ?? []) await r(app);
  return app;
}
