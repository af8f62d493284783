/**
 * Headers every answer carries, and CORS. They are set on the raw response in
 * the first onRequest hook, so they reach every reply: handlers', errors',
 * 401s from the auth hook, and hijacked SSE streams (Node merges headers set
 * with setHeader into a later writeHead).
 *
 * CORS is off unless `server.cors_origins` lists origins: then a request whose
 * Origin is listed gets Access-Control-Allow-Origin (never `*`: the API takes
 * bearer tokens, and a listed origin is a decision), and its preflight is
 * answered here, before authentication (a preflight carries no token).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The API serves JSON and event streams, never documents: nothing may be framed, sniffed or referred. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
});

const CORS_METHODS = 'GET, HEAD, POST, PATCH, DELETE';
const CORS_HEADERS = 'authorization, content-type, content-encoding, last-event-id, idempotency-key';

export function setSecurityHeaders(reply: FastifyReply): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.raw.setHeader(k, v);
}

export interface HeaderOptions {
  /** Origins allowed to call the API from a browser (exact `scheme://host[:port]`); empty = CORS off. */
  corsOrigins?: readonly string[];
}

/** Register before the auth hook: preflights must be answered before a token is asked for. */
export function registerHeaders(app: FastifyInstance, o: HeaderOptions = {}): void {
  const origins = new Set(o.corsOrigins ?? []);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    setSecurityHeaders(reply);
    if (origins.size === 0) return;
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !origins.has(origin)) return;
    reply.raw.setHeader('access-control-allow-origin', origin);
    reply.raw.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      return reply
        .code(204)
        .header('access-control-allow-methods', CORS_METHODS)
        .header('access-control-allow-headers', CORS_HEADERS)
        .header('access-control-max-age', '600')
        .send();
    }
  });
}
