/**
 * `[[forward]]`: ship records to a central Sluice (CONTRACT.md). Batches by
 * count, bytes and age, spooled to disk before they are sent and kept until
 * the central's 2xx (spool.ts, forward.ts).
 */
import { z } from 'zod';
import { duration, size } from '../../config/units.js';

const hostEntry = z
  .string()
  .min(1)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.:-]+?)(:\d{1,5})?$/, 'expected "host" or "host:port" (IPv6 in brackets)');

export const forwardSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
      .optional()
      .describe('Names the spool directory (data_dir/spool/<name>) and the metrics label. Default: "forward-<index>".'),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'http or https only')
      .describe('The central\'s ingest URL, e.g. "http://central:8080/api/ingest?source=edge1".'),
    token: z.string().min(1).optional().describe('Bearer token for the central (its HTTP source\'s ingest token, or its admin token). Never shown back.'),
    streams: z.array(z.string().min(1)).default([]).describe('Streams to forward; empty = all.'),
    spool_max: size('Bytes the disk spool may hold (unacknowledged batches); past it `on_full` applies.').default(1024 ** 3),
    on_full: z
      .enum(['pause', 'drop_oldest'])
      .default('pause')
      .describe('With the spool full: "pause" holds the sources (nothing lost, their checkpoints wait) or "drop_oldest" drops whole oldest batches, counted with their records.'),
    batch_records: z.number().int().positive().default(10_000).describe('Records per batch at most.'),
    batch_bytes: size('Bytes of NDJSON per batch at most (before gzip).').default(1024 * 1024),
    batch_age: duration('A partial batch is sealed and sent after this long.').default(1_000),
    gzip: z.boolean().default(true).describe('Compress each batch (Content-Encoding: gzip, level 1) as it is sent (the next one while the one before it is on its way); the spool holds batches uncompressed.'),
    fsync: z
      .enum(['batch', 'interval', 'off'])
      .default('interval')
      .describe('When spooled batches reach the disk: "batch" (fsync each before it is sent), "interval" (every `fsync_interval`), "off" (the OS decides).'),
    fsync_interval: duration('fsync period with fsync = "interval".').default(1_000),
    timeout: duration('Limit on one send (connect, request and response).').default(30_000),
    backoff_base: duration('First retry delay; doubles per attempt, with jitter.').default(500),
    backoff_max: duration('Longest retry delay (also caps a Retry-After header).').default(60_000),
    allow_hosts: z
      .array(hostEntry)
      .default([])
      .describe('Exceptions to the SSRF guard: "host" or "host:port" of the URL that may resolve to loopback, private or link-local addresses (a central on a private network needs its own here).'),
  })
  .describe('Agent mode: forward records to a central Sluice with a disk spool; nothing unacknowledged is lost.');

export type ForwardConfig = z.output<typeof forwardSchema>;

export function forwardName(cfg: ForwardConfig, i: number): string {
  return cfg.name ?? `forward-${i}`;
}
