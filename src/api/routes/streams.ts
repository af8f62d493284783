/** Live SSE per stream and for all streams, and /api/records backfill. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { DaemonView } from '../view.js';
import { VIEWER } from '../access.js';
import { serveSse } from '../../sinks/sse/sse.js';
import { buildFilter } from '../../sinks/filter.js';
import { entryJson } from '../../wire/block.js';
import { E, SluiceError } from '../../core/errors.js';

const filterQuery = z.object({
  level: z.string().optional(),
  min_level: z.string().optional(),
  source: z.string().optional(),
  q: z.string().optional(),
  re: z.string().optional(),
  since: z.coerce.number().int().nonnegative().optional(),
  access_token: z.string().optional(),
});

/** The resume point: Last-Event-ID wins over ?since= (a reconnecting EventSource sends the header). */
function resumePoint(req: FastifyRequest, since: number | undefined): number | undefined {
  const h = req.headers['last-event-id'];
  const v = Array.isArray(h) ? h[0] : h;
  if (v !== undefined && /^\d+$/.test(v.trim())) return Number(v.trim());
  return since;
}

export function registerStreamRoutes(app: FastifyInstance, view: DaemonView): void {
  const live = () => view.liveHub?.() ?? view.hub();
  const sse = (req: FastifyRequest, stream: string | null, reply: import('fastify').FastifyReply) => {
    const q = filterQuery.parse(req.query);
    const filter = buildFilter(q);
    const cfg = view.config();
    reply.hijack();
    serveSse(reply.raw, {
      hub: live(),
      stream,
      since: resumePoint(req, q.since),
      filter,
      maxLag: cfg.limits.client_lag,
      heartbeatMs: cfg.server.heartbeat,
    });
  };

  app.get<{ Params: { name: string } }>('/api/streams/:name/sse', VIEWER, async (req, reply) => {
    if (!live().hasStream(req.params.name)) throw new SluiceError(E.STREAM_UNKNOWN, `no stream "${req.params.name}"`);
    sse(req, req.params.name, reply);
  });

  app.get('/api/tail/sse', VIEWER, async (req, reply) => {
    sse(req, null, reply);
  });

  const recordsQuery = filterQuery.extend({
    stream: z.string().optional(),
    limit: z.coerce.number().int().positive().max(10_000).default(100),
  });
  app.get('/api/records', VIEWER, async (req, reply) => {
    const q = recordsQuery.parse(req.query);
    const hub = live();
    if (q.stream !== undefined && !hub.hasStream(q.stream)) throw new SluiceError(E.STREAM_UNKNOWN, `no stream "${q.stream}"`);
    const filter = buildFilter(q);
    // scan the ring newest-last; with a filter, read more than `limit` and keep the matching ones
    const entries = hub.records(q.stream ?? null, q.since, filter ? Number.MAX_SAFE_INTEGER : q.limit);
    let kept = filter ? entries.filter((e) => filter(e)) : entries;
    if (kept.length > q.limit) kept = q.since === undefined ? kept.slice(kept.length - q.limit) : kept.slice(0, q.limit);
    const next = kept.length ? kept[kept.length - 1]!.seq : (q.since ?? hub.lastSeq);
    reply.header('Content-Type', 'application/json; charset=utf-8');
    return '{"records":[' + kept.map(entryJson).join(',') + '],"next_since":' + next + '}';
  });
}
