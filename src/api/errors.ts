/**
 * The one place errors become HTTP responses: SluiceError -> its registry
 * status and `{"error":{"code","message","details?"}}`; zod validation errors
 * -> 400 SLUICE_ERR_API_BAD_REQUEST with each issue's path; fastify's own
 * errors keep their status; anything else is a 500 without internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { E, SluiceError } from '../core/errors.js';
import { keyPath } from '../config/load.js';

export function errorBody(code: string, message: string, details?: unknown): { error: { code: string; message: string; details?: unknown } } {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
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
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send(errorBody(fe.statusCode === 413 ? 'SLUICE_ERR_API_TOO_LARGE' : E.API_BAD_REQUEST.code, fe.message));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody(E.INTERNAL.code, E.INTERNAL.message));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(E.API_NOT_FOUND.code, `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
