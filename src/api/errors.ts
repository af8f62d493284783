/**
 * The one place errors become HTTP responses, all in the documented shape
 * `{"error":{"code","message","details?"}}` with a stable code: SluiceError ->
 * its registry status and code; zod validation errors -> 400
 * SLUICE_ERR_API_BAD_REQUEST with each issue's path; fastify's own errors
 * (router and body parsing, raised before any handler) -> the code of their
 * kind (FASTIFY_CODES, else by status); anything else is a 500 without
 * internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ZodError } from 'zod';
import { defineError, E, SluiceError, type ErrorDef } from '../core/errors.js';
import { keyPath } from '../config/load.js';
import { setSecurityHeaders } from './headers.js';

export const API_ERR = {
  BAD_URL: defineError('SLUICE_ERR_API_BAD_URL', 400, 'the URL is not valid (bad percent-encoding)'),
  URL_TOO_LONG: defineError('SLUICE_ERR_API_URL_TOO_LONG', 414, 'a path segment is too long'),
  TOO_LARGE: defineError('SLUICE_ERR_API_TOO_LARGE', 413, 'the body is too large'),
  MEDIA_TYPE: defineError('SLUICE_ERR_API_UNSUPPORTED_MEDIA_TYPE', 415, 'unsupported Content-Type; send application/json'),
  CLIENT_ERROR: defineError('SLUICE_ERR_API_CLIENT_ERROR', 400, 'the request cannot be served'),
} as const;

/** fastify's codes -> ours. Codes not listed fall back to their status (BY_STATUS), then CLIENT_ERROR. */
const FASTIFY_CODES: Readonly<Record<string, ErrorDef>> = {
  FST_ERR_BAD_URL: API_ERR.BAD_URL,
  FST_ERR_MAX_PARAM_LENGTH: API_ERR.URL_TOO_LONG,
  FST_ERR_CTP_BODY_TOO_LARGE: API_ERR.TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: API_ERR.MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: E.API_BAD_REQUEST,
};
const BY_STATUS: Readonly<Record<number, ErrorDef>> = {
  400: E.API_BAD_REQUEST,
  404: E.API_NOT_FOUND,
  413: API_ERR.TOO_LARGE,
  414: API_ERR.URL_TOO_LONG,
  415: API_ERR.MEDIA_TYPE,
  429: E.API_TOO_MANY,
};

export function errorBody(code: string, message: string, details?: unknown): { error: { code: string; message: string; details?: unknown } } {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

function fastifyError(fe: FastifyError, reply: FastifyReply): FastifyReply {
  const def = FASTIFY_CODES[fe.code] ?? BY_STATUS[fe.statusCode!] ?? API_ERR.CLIENT_ERROR;
  const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : def.status;
  // fastify's router messages quote the whole path back; ours say what is wrong with it
  const message = def === API_ERR.BAD_URL || def === API_ERR.URL_TOO_LONG ? def.message : fe.message;
  return reply.code(status).send(errorBody(def.code, message));
}

/** For fastify's `frameworkErrors` option: router errors raised before any hook or handler runs. */
export function frameworkError(err: FastifyError, _req: unknown, reply: FastifyReply): void {
  setSecurityHeaders(reply);
  void fastifyError(err, reply);
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof SluiceError) {
      return reply.code(err.status).send(errorBody(err.code, err.message, err.details));
    }
    if (err instanceof ZodError) {
      const details = err.issues.map((i) => ({ path: keyPath(i.path as PropertyKey[]), message: i.message }));
      return reply.code(400).send(errorBody(E.API_BAD_REQUEST.code, details.map((d) => `${d.path}: ${d.message}`).join('; '), details));
    }
    const fe = err as FastifyError;
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return fastifyError(fe, reply);
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody(E.INTERNAL.code, E.INTERNAL.message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(E.API_NOT_FOUND.code, `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
