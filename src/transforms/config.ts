/**
 * `[[sources.transforms]]`: an ordered list per source (CONTRACT.md,
 * "Transforms"). One strict schema per type; every pattern is compiled with
 * RE2 here, so `sluice check` names a bad one by its key path (e.g.
 * `sources[2].transforms[1].matches`) and nothing fails later at run time.
 */
import { z } from 'zod';
import { compilePattern } from '../rules/compile.js';
import { duration } from '../config/units.js';
import { isPath } from './path.js';

const path = (desc: string) =>
  z
    .string()
    .refine(isPath, 'expected a record path: message, level, source, stream, host, app, origin.<key> or fields.<key>[.<key>...]')
    .describe(desc);

const re2 = (desc: string) =>
  z
    .string()
    .superRefine((p, ctx) => {
      const c = compilePattern(p);
      if (!c.ok) ctx.addIssue({ code: 'custom', message: `invalid RE2 pattern: ${c.error}` });
    })
    .describe(desc);

const streamName = z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');

/** `in` or `matches` (exactly one): which values of `field` a drop or route selects. */
const selector = {
  field: path('The record part whose value is tested.'),
  in: z.array(z.string()).min(1).optional().describe('Select records whose value is one of these (exact, case-sensitive).'),
  matches: re2('Select records whose value matches this RE2 pattern.').optional(),
};
const oneOf = (t: { in?: unknown; matches?: unknown }, ctx: z.RefinementCtx): void => {
  if ((t.in === undefined) === (t.matches === undefined)) ctx.addIssue({ code: 'custom', path: ['in'], message: 'give exactly one of `in` and `matches`' });
};

export const dropSchema = z
  .strictObject({ type: z.literal('drop'), ...selector })
  .superRefine(oneOf)
  .describe('Drop the records whose `field` is `in` the list or `matches` the pattern (counted as reason "drop").');

export const routeSchema = z
  .strictObject({ type: z.literal('route'), ...selector, stream: streamName.describe('The stream the selected records are published on instead.') })
  .superRefine(oneOf)
  .describe('Publish the selected records on another stream.');

export const extractSchema = z
  .strictObject({
    type: z.literal('extract'),
    into: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_.-]+$/)
      .describe('The field set: `fields.<into>`.'),
    from: z
      .array(
        z.strictObject({
          field: path('Where the candidate value is read.'),
          matches: re2('Optional RE2 with a group named `v` (`(?P<v>...)`): the value is what it captured.')
            .refine((p) => /\(\?P?<v>/.test(p), 'needs a group named v: (?P<v>...)')
            .optional(),
        }),
      )
      .min(1)
      .describe('Candidates in order; the first that yields a non-empty value wins (a chain of fallbacks).'),
  })
  .describe('Set `fields.<into>` from the first candidate that yields a value.');

export const redactSchema = z
  .strictObject({
    type: z.literal('redact'),
    field: path('The record part redacted (a string value): message, host, app or fields.<key>[...].')
      .refine((p) => p === 'message' || p === 'host' || p === 'app' || p.startsWith('fields.'), 'redact rewrites message, host, app or a fields.<key> path only')
      .default('message'),
    matches: z.array(re2('A pattern whose matches are replaced.')).min(1).describe('Every match of each pattern is replaced by `[REDACTED]`.'),
  })
  .describe('Mask secrets before they reach rules, streams, storage and sinks.');

const keys = z.array(path('A record part of the key.')).min(1).describe('The record parts that make the key.');

export const dedupeSchema = z
  .strictObject({
    type: z.literal('dedupe'),
    keys,
    window: duration('How long a key is remembered after its first record.').refine((ms) => ms > 0, 'must be more than 0'),
    max_keys: z.number().int().positive().default(100_000).describe('Keys remembered at most; past it the least recently seen is forgotten (counted as evicted).'),
    only: z
      .strictObject({ field: path('The record part tested.'), in: z.array(z.string()).min(1).describe('Values whose records are deduplicated.') })
      .optional()
      .describe('Deduplicate only these records; the others pass untouched.'),
  })
  .describe('The first record of a key in a window passes; repeats are dropped (reason "dedupe").');

export const throttleSchema = z
  .strictObject({
    type: z.literal('throttle'),
    keys,
    rate: z.number().positive().describe('Records let through per `per`, per key (also the burst).'),
    per: duration('The period of `rate`.').refine((ms) => ms > 0, 'must be more than 0'),
    max_keys: z.number().int().positive().default(100_000).describe('Buckets kept at most; past it the least recently used is forgotten.'),
  })
  .describe('A token bucket per key; records over the rate are dropped (reason "throttle").');

export const sessionsSchema = z
  .strictObject({
    type: z.literal('sessions'),
    keys,
    idle: duration('A session closes when its key has had no record for this long.').refine((ms) => ms > 0, 'must be more than 0'),
    max: duration('A session closes when it has lasted this long (then a new one starts).').optional(),
    collect: z.array(path('A record part whose distinct values are collected.')).default([]).describe('Record parts whose distinct values the summary lists.'),
    max_values: z.number().int().positive().default(100).describe('Distinct values kept per collected part.'),
    max_keys: z.number().int().positive().default(100_000).describe('Open sessions at most; past it the least recently active closes (reason "evicted").'),
  })
  .describe('Fold records into sessions per key; each closed session is one summary record on the source\'s stream.');

export const transformSchema = z.discriminatedUnion('type', [dropSchema, routeSchema, extractSchema, redactSchema, dedupeSchema, throttleSchema, sessionsSchema]);

export type TransformConfig = z.output<typeof transformSchema>;
export type DropConfig = z.output<typeof dropSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type ExtractConfig = z.output<typeof extractSchema>;
export type RedactConfig = z.output<typeof redactSchema>;
export type DedupeConfig = z.output<typeof dedupeSchema>;
export type ThrottleConfig = z.output<typeof throttleSchema>;
export type SessionsConfig = z.output<typeof sessionsSchema>;

/** The types that keep no state: they run wherever a batch is parsed (a parse thread or inline). */
export const STATELESS = new Set<TransformConfig['type']>(['drop', 'route', 'extract', 'redact']);
