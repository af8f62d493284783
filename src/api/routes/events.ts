/** `GET /api/events`: stored events, newest first, filtered, with a cursor. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { VIEWER } from '../access.js';
import type { Store } from '../../store/store.js';
import { SEVERITIES } from '../../store/types.js';
import { wireEvent } from '../../store/wire.js';

export interface EventRoutesDeps {
  store: Store;
}

/** "a,b,c" -> ["a","b","c"]; repeated keys (?x=a&x=b) are joined first. */
const csvText = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v.join(',') : v).split(',').map((x) => x.trim()).filter(Boolean));

/** RFC 3339 text or epoch milliseconds. */
const time = z.string().transform((s, ctx) => {
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: 'expected an RFC 3339 time or epoch milliseconds' });
    return z.NEVER;
  }
  return n;
});

export const eventQuerySchema = z.strictObject({
  severity: csvText.pipe(z.array(z.enum(SEVERITIES))).optional(),
  source: csvText.pipe(z.array(z.string().max(200))).optional(),
  rule_id: z.coerce.number().int().positive().optional(),
  q: z.string().max(1000).optional(),
  since: time.optional(),
  until: time.optional(),
  before: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  access_token: z.string().optional(), // consumed by auth
});

export async function registerEventRoutes(app: FastifyInstance, deps: EventRoutesDeps): Promise<void> {
  app.get('/api/events', VIEWER, async (req) => {
    const { access_token: _t, ...q } = eventQuerySchema.parse(req.query);
    const page = await deps.store.queryEvents(q);
    return { events: page.events.map(wireEvent), next: page.next };
  });
}
