/** `[triggers]`: webhook delivery limits and the SSRF guard's exceptions. */
import { z } from 'zod';
import { duration } from '../config/common.js';

const hostEntry = z
  .string()
  .min(1)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.:-]+?)(:\d{1,5})?$/, 'expected "host" or "host:port" (IPv6 in brackets)');

export const triggersSchema = z
  .strictObject({
    allow_hosts: z
      .array(hostEntry)
      .default([])
      .describe('Exceptions to the SSRF guard: "host" or "host:port" (as written in the trigger URL) that may resolve to loopback, private or link-local addresses.'),
    connect_timeout: duration('Limit on DNS lookup plus TCP/TLS connect of one attempt.').default(5_000),
    timeout: duration('Limit on each later phase of one attempt: waiting for the response headers, then reading the response.').default(10_000),
    retries: z.number().int().min(0).max(20).default(5).describe('Retries after the first attempt, on network errors, timeouts, 408, 429 and 5xx.'),
    backoff_base: duration('First retry delay; doubles per attempt, with jitter.').default(1_000),
    backoff_max: duration('Longest retry delay (also caps a Retry-After header).').default(300_000),
    queue_size: z
      .number().int().positive().default(1000)
      .describe('Deliveries waiting (including those waiting to retry); past this the oldest is dropped, logged and counted.'),
    concurrency: z.number().int().positive().max(64).default(4).describe('Deliveries in flight at once.'),
  })
  .describe('Webhook triggers fired by rule events.');

export type TriggersConfig = z.output<typeof triggersSchema>;
