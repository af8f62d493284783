/**
 * The `type = "http"` source's config slice: who may post (`token`, besides
 * the admin token), how much a request may carry (on the wire and once
 * inflated), and how long an `Idempotency-Key` is remembered. The route is
 * `POST /api/ingest?source=NAME` on the API server (api/routes/ingest.ts).
 */
import { z } from 'zod';
import { duration, size, sourceBase } from '../../config/common.js';

// Parsing lines does not apply: records arrive as JSON objects (sources/records/record.ts).
const { format: _format, max_line_bytes: _maxLine, ...base } = sourceBase;

const D = {
  type: 'Receive records posted to POST /api/ingest?source=NAME (NDJSON or a JSON array; gzip or deflate).',
  token:
    'Bearer token that may post to this source only (the admin token always may). Write-only: never shown by /api/status or any other output. At least 16 characters; or leave it out and post with the admin token.',
  max_body_bytes: 'Largest request body as sent (compressed or not); past it the request is answered 413 and nothing is ingested.',
  max_inflated_bytes: 'Largest body once gzip or deflate is undone; past it (a decompression bomb) the request is answered 413 and nothing is ingested.',
  idempotency_window: 'How long an Idempotency-Key is remembered (across restarts, in data_dir): a request repeating a key within it gets the first answer again and ingests nothing.',
  idempotency_max_keys: 'Keys remembered at most; past it the oldest are forgotten first.',
  source:
    'HTTP ingest: records posted by scripts and other Sluice instances (forwarding). Answers {"accepted":N}; 413 too large, 429 with Retry-After while the pipeline pushes back.',
} as const;

export const httpSourceSchema = z
  .strictObject({
    ...base,
    type: z.literal('http').describe(D.type),
    token: z.string().min(16, 'at least 16 characters').optional().describe(D.token),
    max_body_bytes: size(D.max_body_bytes).refine((n) => n >= 1, 'must be at least 1 byte').default(16 * 1024 * 1024).describe(D.max_body_bytes),
    max_inflated_bytes: size(D.max_inflated_bytes).refine((n) => n >= 1, 'must be at least 1 byte').default(64 * 1024 * 1024).describe(D.max_inflated_bytes),
    idempotency_window: duration(D.idempotency_window).default(24 * 3_600_000).describe(D.idempotency_window),
    idempotency_max_keys: z.number().int().min(1).max(10_000_000).default(100_000).describe(D.idempotency_max_keys),
  })
  .describe(D.source);

export type HttpSourceConfig = z.output<typeof httpSourceSchema>;
export type HttpSourceInput = z.input<typeof httpSourceSchema>;
