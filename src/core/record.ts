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

// Sources reuse one origin object per file/container and a handful of
// source/stream names: their JSON is rendered once (measured: re-stringifying
// the origin per record was ~1/3 of serializeRecord's cost).
const originJson = new WeakMap<Origin, string>();
const nameJson = new Map<string, string>();

function jsonName(s: string): string {
  let j = nameJson.get(s);
  if (j === undefined) {
    j = JSON.stringify(s);
    if (nameJson.size < 10_000) nameJson.set(s, j);
  }
  return j;
}

function jsonOrigin(o: Origin): string {
  let j = originJson.get(o);
  if (j === undefined) {
    j = JSON.stringify(o);
    if (Object.isFrozen(o)) originJson.set(o, j); // only immutable origins can be cached safely
  }
  return j;
}

/**
 * Serialize to the wire format of CONTRACT.md. Hand-built rather than one
 * JSON.stringify of the whole object: the fixed keys are pre-rendered and only
 * the variable strings go through the (fast, native) string escaper.
 */
export function serializeRecord(r: LogRecord): string {
  let s = '{"seq":' + r.seq + ',"time":"' + isoTime(r.time) + '","source":' + jsonName(r.source) + ',"stream":' + jsonName(r.stream) + ',"origin":' + jsonOrigin(r.origin);
  if (r.host !== undefined) s += ',"host":' + JSON.stringify(r.host);
  if (r.app !== undefined) s += ',"app":' + JSON.stringify(r.app);
  if (r.level !== undefined) s += ',"level":"' + r.level + '"';
  s += ',"message":' + JSON.stringify(r.message);
  s += ',"fields":' + (isEmpty(r.fields) ? '{}' : JSON.stringify(r.fields));
  return s + '}';
}

// Date#toISOString allocates a Date per call; records share few distinct
// seconds (the line's time and the read time interleave), so keep a small
// direct-mapped cache of second prefixes.
const SLOTS = 64;
const cachedSec = new Float64Array(SLOTS).fill(-1);
const cachedPrefix: string[] = new Array<string>(SLOTS).fill('');
export function isoTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < -8.64e15 || ms > 8.64e15) ms = 0;
  const sec = Math.floor(ms / 1000);
  const slot = sec & (SLOTS - 1);
  let prefix: string;
  if (cachedSec[slot] === sec) prefix = cachedPrefix[slot]!;
  else {
    prefix = new Date(sec * 1000).toISOString().slice(0, -4); // "YYYY-MM-DDTHH:MM:SS."
    cachedSec[slot] = sec;
    cachedPrefix[slot] = prefix;
  }
  const frac = Math.floor(ms - sec * 1000);
  return prefix + (frac < 10 ? '00' + frac : frac < 100 ? '0' + frac : '' + frac) + 'Z';
}

export function emptyFields(): Record<string, unknown> {
  return EMPTY_FIELDS;
}
