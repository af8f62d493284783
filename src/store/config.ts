/** `[store]`: where rules, triggers, events and deliveries live, and how long events are kept. */
import { z } from 'zod';
import { duration } from '../config/common.js';

export const storeSchema = z
  .strictObject({
    kind: z.enum(['sqlite', 'postgres']).default('sqlite').describe('Store implementation: embedded SQLite, or a shared PostgreSQL.'),
    url: z
      .string()
      .min(1)
      .optional()
      .describe('sqlite: database file path (default `<data_dir>/sluice.db`); postgres: a postgres:// URL (required).'),
    retention: duration('Events (and webhook delivery log entries) older than this are deleted.').default(14 * 86_400_000),
    max_events: z.number().int().positive().default(1_000_000).describe('Most events kept; the oldest are deleted first beyond this.'),
    max_deliveries: z.number().int().positive().default(100_000).describe('Most webhook delivery log entries kept; the oldest are deleted first.'),
    prune_interval: duration('How often retention runs.').default(60_000),
  })
  .refine((s) => s.kind !== 'postgres' || (s.url !== undefined && /^postgres(ql)?:\/\//.test(s.url)), {
    message: 'kind = "postgres" needs url = "postgres://..."',
    path: ['url'],
  })
  .describe('Persistence of rules, triggers, events and the webhook delivery log.');

export type StoreConfig = z.output<typeof storeSchema>;
