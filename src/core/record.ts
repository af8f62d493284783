/**
 * The record: the one shape every stage shares (ARCHITECTURE.md §1), and its
 * wire serialization. `seq` is 0 until the hub assigns it. Times are epoch
 * milliseconds internally and RFC 3339 with milliseconds on the wire.
 *
 * Serialization is on the hot path: the hub serializes each record once and
 * every subscriber (SSE, TCP, backfill) reuses that string.
 */

export const LEVELS = ['trace', 'debug', 'info', 'notice', 'warn', 'error', 'critical', 'alert', 'emergency'] as const;
export type Level = (typeof LEVELS)[number];

/** Where a record came from. `kind` names the source type; the rest is source specific. */
export interface Origin {
  kind: string;
  [key: string]: unknown;
}

export interface LogRecord {
  /** Hub-assigned, monotonic per node; the SSE event id. 0 before the hub. */
  seq: number;
  /** Event time (from the line when present, else `received`), epoch ms. */
  time: number;
  /** When Sluice read it, epoch ms. */
  received: number;
  /** Name of the configured source. */
  source: string;
  /** Stream the record is published on. */
  stream: string;
  origin: Origin;
  host?: string;
  app?: string;
  level?: Level;
  message: string;
  fields: Record<string, unknown>;
  /** The raw line, kept only when a stage needs it. */
  raw?: string;
}

/** What parsers return: the line-derived part of a record. */
export interface ParsedLine {
  time?: number;
  level?: Level;
  message: string;
  fields: Record<string, unknown>;
  host?: string;
  app?: string;
}

const EMPTY_FIELDS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** True when an object has no own enumerable keys, without allocating a key array. */
function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * Serialize to the wire format of CONTRACT.md. Hand-built rather than one
 * JSON.stringify of the whole object: the fixed keys are pre-rendered and only
 * the variable strings go through the (fast, native) string escaper.
 */
export function serializeRecord(r: LogRecord): string {
  let s =
    '{"seq":' + r.seq +
    ',"time":"' + isoTime(r.time) +
    '","source":' + JSON.stringify(r.source) +
    ',"stream":' + JSON.stringify(r.stream) +
    ',"origin":' + JSON.stringify(r.origin);
  if (r.host !== undefined) s += ',"host":' + JSON.stringify(r.host);
  if (r.app !== undefined) s += ',"app":' + JSON.stringify(r.app);
  if (r.level !== undefined) s += ',"level":"' + r.level + '"';
  s += ',"message":' + JSON.stringify(r.message);
  s += ',"fields":' + (isEmpty(r.fields) ? '{}' : JSON.stringify(r.fields));
  return s + '}';
}

// Date#toISOString allocates a Date per call; records from one read share the
// same second very often, so cache the second prefix.
let cachedSec = -1;
let cachedPrefix = '';
export function isoTime(ms: number): string {
  if (!Number.isFinite(ms)) ms = 0;
  const sec = Math.floor(ms / 1000);
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 20); // "YYYY-MM-DDTHH:MM:SS."
  }
  const frac = Math.floor(ms - sec * 1000);
  return cachedPrefix + (frac < 10 ? '00' + frac : frac < 100 ? '0' + frac : '' + frac) + 'Z';
}

export function emptyFields(): Record<string, unknown> {
  return EMPTY_FIELDS;
}
