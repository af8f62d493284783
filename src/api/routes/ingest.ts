/**
 * `POST /api/ingest?source=NAME`: hands the raw request to the HTTP source
 * of that name (sources/http/source.ts). The body is not parsed here: the
 * route's own context replaces every body parser with one that passes the
 * stream on, so the source applies its own limits (max_body_bytes, the
 * inflated-size cap) while reading. Access level `ingest`: the admin token
 * or the source's own token (api/auth.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { E, SluiceError } from '../../core/errors.js';
import { INGEST_ERR } from '../../sources/http/body.js';
import { RETRY_AFTER_S } from '../../sources/http/source.js';
import type { IngestRegistry } from '../../sources/http/registry.js';
import { INGEST } from '../access.js';

export function registerIngestRoute(app: FastifyInstance, registry: IngestRegistry): void {
  void app.register(async (sub) => {
    sub.removeAllContentTypeParsers();
    sub.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    sub.post('/api/ingest', INGEST, async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const name = q.source;
      if (typeof name !== 'string' || name === '') throw new SluiceError(E.API_BAD_REQUEST, 'name the source: POST /api/ingest?source=NAME');
      const target = registry.get(name);
      if (!target) throw new SluiceError(INGEST_ERR.UNKNOWN_SOURCE, `no HTTP source "${name.slice(0, 100)}" is running`);
      const len = req.headers['content-length'];
      const key = req.headers['idempotency-key'];
      try {
        const a = await target.ingest({
          body: req.body as Readable | undefined,
          contentLength: len !== undefined ? Number(len) : undefined,
          contentEncoding: req.headers['content-encoding'],
          idempotencyKey: Array.isArray(key) ? key.join(',') : key,
          peer: req.ip,
        });
        return reply.code(a.status).headers(a.headers).send(a.body);
      } catch (err) {
        if (err instanceof SluiceError && err.status === 429) reply.header('retry-after', String(RETRY_AFTER_S));
        // a refused body that was not read: do not keep the connection for the rest of it
        if (err instanceof SluiceError && err.status === 413) reply.header('connection', 'close');
        throw err;
      }
    });
  });
}
