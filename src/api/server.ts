/**
 * The HTTP server (fastify): health, metrics, status, streams, live SSE,
 * backfill and config reload. Issue-specific route groups (rules, triggers,
 * events, ingest) register through `extraRoutes`. Errors are mapped in one
 * place (api/errors.ts).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { installErrorHandler } from './errors.js';
import type { DaemonView } from './view.js';
import { registerStatusRoutes } from './routes/status.js';
import { registerStreamRoutes } from './routes/streams.js';

export interface ServerOptions {
  view: DaemonView;
  tls?: { cert: string; key: string };
  /** Installs auth hooks (api/auth.ts) before routes; absent = open (tests of the core only). */
  auth?: (app: FastifyInstance) => void;
  extraRoutes?: ((app: FastifyInstance) => void | Promise<void>)[];
  logger?: boolean;
}

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: 16 * 1024 * 1024,
    ...(o.tls ? { https: { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) } } : {}),
    // SSE responses live long; the default request timeout does not apply to hijacked replies
    forceCloseConnections: true,
  });
  installErrorHandler(app);
  o.auth?.(app);
  registerStatusRoutes(app, o.view);
  registerStreamRoutes(app, o.view);
  for (const r of o.extraRoutes ?? []) await r(app);
  return app;
}
