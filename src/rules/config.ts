/** `[rules]`: flood control and the bounded queue between the hub and the rule engine. */
import { z } from 'zod';
import { duration, size } from '../config/common.js';

export const rulesSchema = z
  .strictObject({
    bucket_capacity: z
      .number().int().positive().default(10)
      .describe('Token bucket per source instance (one container, one file): at most this many events per `bucket_window`; further hits are suppressed and counted. With a PostgreSQL store the bucket and each rule’s cooldown hold for every process sharing it (docs/deployment.md).'),
    bucket_window: duration('Window over which the bucket refills completely.').default(60_000),
    queue_size: z
      .number().int().positive().default(50_000)
      .describe('Records waiting for rule matching; when full the pipeline pauses its sources (durable path, nothing dropped).'),
    max_message_bytes: size('Longest event message stored; longer lines are cut on a UTF-8 boundary with an ellipsis.').default(2048),
  })
  .describe('Scan rules: flood control and queueing. Rules themselves are managed over the API.');

export type RulesConfig = z.output<typeof rulesSchema>;
