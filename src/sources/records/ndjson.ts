/**
 * NDJSON records (HTTP ingest's usual body, a forward batch): one record per
 * line, blank lines skipped, each checked on its own (record.ts). The good
 * ones go to a callback as they are found; the bad ones are tallied by
 * reason and the first MAX_LISTED_ERRORS listed by line. The same code runs
 * on the main thread (a small body, a JSON array's items) and in a parse
 * thread (parse/worker.ts: a large body's chunks, each cut after a '\n', its
 * line numbers made absolute when the chunks' tallies are merged in order).
 */
import type { LogRecord } from '../../core/record.js';
import { isUtf8 } from 'node:buffer';
import { LineSplitter } from '../../framing/lines.js';
import type { RawRecords, Relay } from './relay.js';
import { nativeParse, RELAY, RELAY_SLOTS, RELAY_UNSURE, type NativeParse } from '../../parse/native.js';
import { checkRecord, parseRecord, type RecordContext, type RecordReason } from './record.js';

/** Bad records listed in an answer (the count says how many there were in all). */
export const MAX_LISTED_ERRORS = 10;

export interface BadRecord {
  /** NDJSON: the line number (1-based); a JSON array: the item number (1-based). */
  line?: number;
  item?: number;
  reason: RecordReason;
  error: string;
}

/** What checking a body (or one chunk of it) found. */
export interface RecordTally {
  accepted: number;
  rejected: number;
  /** The first MAX_LISTED_ERRORS bad records. */
  errors: BadRecord[];
  reasons: Partial<Record<RecordReason, number>>;
  /** The '\n' in the text: how far the next chunk's line numbers are shifted. */
  newlines: number;
}

export function newTally(): RecordTally {
  return { accepted: 0, rejected: 0, errors: [], reasons: {}, newlines: 0 };
}

export function tallyBad(t: RecordTally, where: { line: number } | { item: number }, reason: RecordReason, error: string): void {
  t.rejected++;
  t.reasons[reason] = (t.reasons[reason] ?? 0) + 1;
  if (t.errors.length < MAX_LISTED_ERRORS) t.errors.push({ ...where, reason, error: error.length > 200 ? error.slice(0, 200) + '...' : error });
}

/** Add a later chunk's tally to `into` (its lines come after `into`'s). */
export function mergeTally(into: RecordTally, t: RecordTally): void {
  const base = into.newlines;
  into.accepted += t.accepted;
  into.rejected += t.rejected;
  for (const e of t.errors) if (into.errors.length < MAX_LISTED_ERRORS) into.errors.push(e.line !== undefined ? { ...e, line: e.line + base } : e);
  for (const [k, n] of Object.entries(t.reasons)) into.reasons[k as RecordReason] = (into.reasons[k as RecordReason] ?? 0) + n;
  into.newlines += t.newlines;
}

/** Check each line of `text` as a record: the good ones to `good` in order, the bad ones into `t` by line. */
export function checkNdjson(text: string, ctx: RecordContext, t: RecordTally, good: (r: LogRecord) => void): void {
  let start = 0;
  // line numbers run on from what `t` already counted (the items of one batch)
  let line = t.newlines;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    else t.newlines++;
    line++;
    if (end > start) checkLine(text.slice(start, end), line, ctx, t, good);
    start = end + 1;
  }
}

/** One line (CR stripped or not) as a record; blank lines are skipped. */
function checkLine(text: string, line: number, ctx: RecordContext, t: RecordTally, good: (r: LogRecord) => void): void {
  let s = 0;
  let e = text.length;
  if (e > s && text.charCodeAt(e - 1) === 13) e--;
  while (s < e && (text.charCodeAt(s) === 32 || text.charCodeAt(s) === 9)) s++;
  if (s >= e) return;
  const r = parseRecord(s > 0 || e < text.length ? text.slice(s, e) : text, ctx);
  if (r.ok) {
    t.accepted++;
    good(r.record);
  } else tallyBad(t, { line }, r.reason, r.error);
}

/**
 * checkNdjson over UTF-8 bytes, decoded line by line the way the line
 * splitter decodes (framing/lines.ts: ASCII stretches as latin1, a non-ASCII
 * line alone). Decoding a whole chunk at once costs ~9x more when a few of
 * its lines are not ASCII (V8 takes its slow path for the entire chunk, and
 * every line sliced from it is a two-byte string): it was 29% of a central's
 * parse threads on forwarded batches (bench/forward.ts).
 */
export function checkNdjsonBytes(bytes: Buffer, ctx: RecordContext, t: RecordTally, good: (r: LogRecord) => void): void {
  if (bytes.length === 0) return;
  let line = t.newlines;
  // no line is cut: the longest possible is the whole chunk
  const sp = new LineSplitter({ maxLineBytes: bytes.length, onLine: (text) => checkLine(text, ++line, ctx, t, good) });
  sp.push(bytes, 0);
  t.newlines += sp.counters.lines;
  // an unterminated last line (a final record without its '\n')
  sp.flushPartial();
}

/**
 * checkNdjsonBytes with the records written into `recs` as they are found: a
 * line that is a Sluice wire record as the wire writer writes it (a forward
 * batch's) is copied in by its bytes (relay.ts); the other lines, in runs,
 * are checked by checkNdjsonBytes and handed to `good` (which writes them),
 * so the records keep their order and a bad line its number.
 */
export function relayNdjsonBytes(bytes: Buffer, relay: Relay, recs: RawRecords, ctx: RecordContext, t: RecordTally, good: (r: LogRecord) => void, native: NativeParse | null | undefined = nativeParse): void {
  if (!isUtf8(bytes)) {
    checkNdjsonBytes(bytes, ctx, t, good);
    return;
  }
  const n = bytes.length;
  /** Where the run of lines not relayed began, or -1. */
  let slow = -1;
  /** The line at [p, end): relayed (its parts found by the last scan) or not. */
  const line = (p: number, end: number, ok: boolean): void => {
    if (!ok) {
      if (slow < 0) slow = p;
      return;
    }
    if (slow >= 0) checkNdjsonBytes(bytes.subarray(slow, p), ctx, t, good);
    slow = -1;
    relay.write(recs);
    t.accepted++;
    if (end < n) t.newlines++;
  };
  if (native === undefined || native === null) {
    for (let p = 0; p < n; ) {
      const nl = bytes.indexOf(10, p);
      const end = nl < 0 ? n : nl;
      line(p, end, relay.scan(bytes, p, end));
      p = end + 1;
    }
  } else {
    // the native twin scans lines in blocks; a line with a number only JS can judge is scanned again by JS
    for (let p = 0; p < n; ) {
      const k = native.relayScan(bytes, p, slots, times);
      if (k === 0) {
        // cannot happen with these arrays; were it to, the rest is checked the general way rather than looped on
        if (slow < 0) slow = p;
        break;
      }
      for (let i = 0; i < k; i++) {
        const o = i * RELAY_SLOTS;
        const s = slots[o + RELAY.START]!;
        const e = slots[o + RELAY.END]!;
        const q = slots[o + RELAY.SEQ_END]!;
        if (q >= 0) relay.found(bytes, slots, o, times[i]!);
        line(s, e, q >= 0 || (q === RELAY_UNSURE && relay.scan(bytes, s, e)));
        p = e + 1;
      }
    }
  }
  if (slow >= 0) checkNdjsonBytes(bytes.subarray(slow, n), ctx, t, good);
}

/** The native scan's results for one block of lines (per thread). */
const BLOCK_LINES = 1024;
const slots = new Int32Array(BLOCK_LINES * RELAY_SLOTS);
const times = new Float64Array(BLOCK_LINES);

/** Check a raw batch's items (strings, or UTF-8 bytes of whole lines) as NDJSON records into one tally. */
export function checkNdjsonItems(items: readonly (string | Uint8Array)[], ctx: RecordContext, t: RecordTally, good: (r: LogRecord) => void): void {
  for (const it of items) {
    if (typeof it === 'string') checkNdjson(it, ctx, t, good);
    else checkNdjsonBytes(Buffer.from(it.buffer, it.byteOffset, it.length), ctx, t, good);
  }
}

/** Check a JSON array's items as records (`keysSafe`: see record.ts mayRewritePrototype). */
export function checkItems(arr: unknown[], ctx: RecordContext, keysSafe: boolean, t: RecordTally, good: (r: LogRecord) => void): void {
  for (let k = 0; k < arr.length; k++) {
    const r = checkRecord(arr[k], ctx, keysSafe);
    if (r.ok) {
      t.accepted++;
      good(r.record);
    } else tallyBad(t, { item: k + 1 }, r.reason, r.error);
  }
}
