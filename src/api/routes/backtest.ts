/**
 * `POST /api/rules/backtest`: how a pattern would have done over the records
 * the replay rings still hold ("would have matched 37 of the last 10,000"),
 * with the newest matches as examples and their captures. It reads the hub,
 * so it sits with the stream routes rather than the store-backed rule routes.
 *
 * Matching is the engine's: RE2 on the message's UTF-8 bytes (one scratch
 * buffer, no allocation per record; ~2.3 µs a record here, so the 50,000
 * cap holds the event loop for ~0.1 s at most), captures only for the
 * examples. Admin only, like `POST /api/rules/test` (every POST is).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ADMIN } from '../access.js';
import type { DaemonView } from '../view.js';
import { E, SluiceError } from '../../core/errors.js';
import { entryJson } from '../../wire/block.js';
import { captures, compilePattern, MAX_PATTERN_LENGTH, RULE_ERR, Utf8Scratch } from '../../rules/compile.js';

export const BACKTEST_MAX = 50_000;

export const backtestSchema = z.strictObject({
  pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
  /** Only records of this source (as a source-scoped rule would see). */
  source: z.string().min(1).max(200).nullable().optional(),
  /** One stream's ring; default every stream's (the merged ring). */
  stream: z.string().min(1).max(200).nullable().optional(),
  /** How many of the newest records to scan. */
  limit: z.number().int().min(1).max(BACKTEST_MAX).default(10_000),
  /** How many of the newest matches to return. */
  examples: z.number().int().min(0).max(50).default(5),
});

export function registerBacktestRoute(app: FastifyInstance, view: DaemonView): void {
  app.post('/api/rules/backtest', ADMIN, async (req) => {
    const body = backtestSchema.parse(req.body);
    const c = compilePattern(body.pattern);
    if (!c.ok) throw new SluiceError(RULE_ERR.PATTERN_INVALID, `invalid pattern: ${c.error}`, { pattern: body.pattern, error: c.error });
    const hub = view.hub();
    const stream = body.stream ?? null;
    if (stream !== null && !hub.hasStream(stream)) throw new SluiceError(E.STREAM_UNKNOWN, `no stream "${stream}"`);
    const source = body.source ?? null;
    // Scan the ring's newest `limit` records of the source (the whole ring when a source narrows it).
    const entries = hub.records(stream, undefined, source === null ? body.limit : Number.MAX_SAFE_INTEGER);
    const re = c.re;
    const scratch = new Utf8Scratch();
    let scanned = 0;
    let matched = 0;
    let firstSeq: number | null = null;
    let lastSeq: number | null = null;
    const examples: { seq: number; source: string; stream: string; record: unknown; captures: Record<string, string> }[] = [];
    // newest first: the examples are the latest matches, and `limit` counts back from the head
    for (let i = entries.length - 1; i >= 0 && scanned < body.limit; i--) {
      const e = entries[i]!;
      if (source !== null && e.source !== source) continue;
      scanned++;
      lastSeq ??= e.seq;
      firstSeq = e.seq;
      re.lastIndex = 0;
      if (!re.test(scratch.encode(e.message))) continue;
      matched++;
      if (examples.length < body.examples) {
        examples.push({ seq: e.seq, source: e.source, stream: e.stream, record: JSON.parse(entryJson(e)), captures: captures(re, e.message) ?? {} });
      }
    }
    return { matched, scanned, first_seq: firstSeq, last_seq: lastSeq, examples };
  });
}
