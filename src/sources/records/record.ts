/**
 * Records that arrive already structured (the framed Unix socket, HTTP
 * ingest): the one shape both accept, checked here. A record is a JSON
 * object with `message` (a string, required) and optionally `time` (RFC 3339
 * or epoch milliseconds), `level` (a level name or alias: "warning" is
 * "warn") and `fields` (an object, kept exactly as sent). A Sluice wire
 * record (what SSE, TCP streams and a forward sink send) is accepted too:
 * its `host` and `app` are kept, and its `seq`, `source`, `stream` and
 * `origin` (the sender's) go to `origin.from`; the record is this source's,
 * on this source's stream, with a seq of this daemon. Any other key is
 * refused rather than guessed at, so a producer's mistake is told, not
 * silently folded into the record.
 *
 * Reasons are a small fixed set (they become metric labels): `bad_json`,
 * `no_message`, `bad_record`.
 */
import { emptyFields, type LogRecord, type Origin } from '../../core/record.js';
import { normalizeLevel } from '../../parse/level.js';
import { forbiddenKeyPath } from '../../api/json-body.js';

export const RECORD_REASONS = ['bad_json', 'no_message', 'bad_record'] as const;
export type RecordReason = (typeof RECORD_REASONS)[number];

export interface RecordContext {
  source: string;
  stream: string;
  origin: Origin;
  /** When it was read, epoch ms (`received`, and `time` when the record has none). */
  now: number;
}

export type Checked = { ok: true; record: LogRecord } | { ok: false; reason: RecordReason; error: string };

// RFC 3339 date-time (with 'T', 't' or a space, any fraction, 'Z' or an offset); Date.parse does the arithmetic.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
/** Years 0000 to 9999 in epoch ms: what a record time can be. */
const MAX_MS = 253402300799999;
const MIN_MS = -62167219200000;

function fail(reason: RecordReason, error: string): Checked {
  return { ok: false, reason, error };
}

/** Epoch ms of a record's `time`, or undefined when it is neither RFC 3339 nor epoch ms. */
export function recordTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= MIN_MS && v <= MAX_MS ? Math.floor(v) : undefined;
  if (typeof v !== 'string' || v.length > 40 || !RFC3339.test(v)) return undefined;
  const t = Date.parse(v.replace(' ', 'T'));
  return Number.isNaN(t) ? undefined : t;
}

/**
 * May the JSON text hold a key that rewrites a prototype? Without either
 * word in it, no key can be one: the walk of `fields` is skipped (it cost a
 * tenth of a record's check).
 */
export function mayRewritePrototype(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
}

/** Check one parsed JSON value and make it a record. Never throws. `keysSafe`: its text cannot hold a prototype-rewriting key (mayRewritePrototype). */
export function checkRecord(v: unknown, ctx: RecordContext, keysSafe = false): Checked {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail('bad_record', 'a record must be a JSON object');
  const o = v as Record<string, unknown>;
  const message = o.message;
  if (typeof message !== 'string') return fail('no_message', message === undefined ? 'the record has no "message"' : '"message" must be a string');
  let time = ctx.now;
  let level: LogRecord['level'];
  let fields = emptyFields();
  let host: string | undefined;
  let app: string | undefined;
  let from: Record<string, unknown> | undefined;
  for (const k in o) {
    const x = o[k];
    switch (k) {
      case 'message':
        break;
      case 'time': {
        const t = recordTime(x);
        if (t === undefined) return fail('bad_record', '"time" must be an RFC 3339 timestamp (e.g. "2026-12-06T01:02:03.456Z") or epoch milliseconds');
        time = t;
        break;
      }
      case 'level':
        level = normalizeLevel(x);
        if (typeof x !== 'string' || level === undefined) return fail('bad_record', '"level" must be a level name (trace, debug, info, notice, warn, error, critical, alert, emergency, or an alias such as "warning")');
        break;
      case 'fields': {
        if (x === null || typeof x !== 'object' || Array.isArray(x)) return fail('bad_record', '"fields" must be a JSON object');
        const bad = keysSafe ? undefined : forbiddenKeyPath(x);
        if (bad !== undefined) return fail('bad_record', `"fields" carries the key "${bad}", which is not allowed`);
        fields = x as Record<string, unknown>;
        break;
      }
      case 'host':
      case 'app':
        if (typeof x !== 'string') return fail('bad_record', `"${k}" must be a string`);
        if (k === 'host') host = x;
        else app = x;
        break;
      case 'seq':
        if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) return fail('bad_record', '"seq" must be a whole number (the sender\'s; this daemon assigns its own)');
        (from ??= {}).seq = x;
        break;
      case 'source':
      case 'stream':
        if (typeof x !== 'string') return fail('bad_record', `"${k}" must be a string (the sender's; kept in origin.from)`);
        (from ??= {})[k] = x;
        break;
      case 'origin': {
        if (x === null || typeof x !== 'object' || Array.isArray(x)) return fail('bad_record', '"origin" must be a JSON object (the sender\'s; kept in origin.from)');
        const bad = keysSafe ? undefined : forbiddenKeyPath(x);
        if (bad !== undefined) return fail('bad_record', `"origin" carries the key "${bad}", which is not allowed`);
        (from ??= {}).origin = x;
        break;
      }
      default:
        return fail('bad_record', `unknown key "${k.length > 64 ? k.slice(0, 64) + '...' : k}" (a record has message, time, level, fields, and as a Sluice record host, app, seq, source, stream, origin; put anything else in fields)`);
    }
  }
  const r: LogRecord = { seq: 0, time, received: ctx.now, source: ctx.source, stream: ctx.stream, origin: from === undefined ? ctx.origin : { ...ctx.origin, from }, message, fields };
  if (level !== undefined) r.level = level;
  if (host !== undefined) r.host = host;
  if (app !== undefined) r.app = app;
  return { ok: true, record: r };
}

/** Parse one JSON text and check it as a record. */
export function parseRecord(text: string, ctx: RecordContext): Checked {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return fail('bad_json', `not valid JSON: ${(err as Error).message}`);
  }
  return checkRecord(v, ctx, !mayRewritePrototype(text));
}
