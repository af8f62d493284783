/**
 * "Could this transform change this record?" asked of the record's wire
 * bytes, before anything is decoded. A parse thread renders a batch with the
 * native writer as if there were no transforms, and only the records some
 * gate opens for are decoded, transformed and rendered again
 * (parse/gated.ts): most records match no pattern and need no JS parse, no
 * object and no second render.
 *
 * A gate may open for a record the transform then leaves alone; it never
 * stays shut for one the transform would change:
 * - the message is read where it is plain UTF-8 in the bytes (its JSON
 *   literal has no escape); a message with an escape opens every gate that
 *   reads it, but for a pattern whose required literal is of characters
 *   JSON never escapes, when the literal is not in its bytes;
 * - a pattern over the message is decided by RE2 `test` on the bytes, where
 *   a literal every match contains (probe.ts) is found first, or else a run
 *   of byte classes every match contains (factor.ts);
 * - any other part is "present or not": a transform reading `fields.a.b`,
 *   `host`, `level` or `origin.k` can only act when the key's JSON name
 *   (`"b":`) is somewhere in the record; `source` and `stream` always are.
 * A `route` can move a record to another stream, which a batch of one
 * stream's bytes cannot say: a chain with one is not gated (undefined).
 */
import RE2 from 're2';
import type { TransformConfig } from './config.js';
import { factorIn, factorVerbatim, requiredFactor } from './factor.js';
import { holds, NeedleSearch } from './needle.js';
import { requiredLiteral } from './probe.js';

/** One record in a rendered batch: its bytes, and its message's JSON literal (quotes included). */
export interface RecordBytes {
  buf: Buffer;
  start: number;
  end: number;
  msgStart: number;
  msgEnd: number;
  /** The message's literal has no escape: its plain UTF-8 is [msgStart + 1, msgEnd - 1) (plainMessage). */
  plain: boolean;
  /** Changes with every batch (nextBatch): a gate's memo of where it searched holds within one batch only. */
  batch: number;
}

/** true: the transform may change (or drop) the record. */
export type Gate = (r: RecordBytes) => boolean;

const BACKSLASH = 0x5c;

let escBatch = 0;
let escFrom = 0;
/** The first backslash at or after escFrom in batch escBatch, or -1 when it has none there. */
let escAt = -1;

/**
 * Does the message's literal in r have no escape? (computed once per record,
 * for every gate) Asked in order through a batch: the batch's next backslash
 * is found once and kept (a rare byte: memchr) instead of reading every
 * message byte by byte; asked out of order, it is looked for again.
 */
export function plainMessage(r: RecordBytes): boolean {
  const from = r.msgStart + 1;
  if (r.batch !== escBatch || from < escFrom || (escAt !== -1 && escAt < from)) {
    escBatch = r.batch;
    escAt = r.buf.indexOf(BACKSLASH, from);
  }
  escFrom = from;
  return escAt === -1 || escAt >= r.msgEnd - 1;
}

let batches = 0;
/** A number for a new batch's RecordBytes.batch. */
export function nextBatch(): number {
  return ++batches;
}

/**
 * "Does r.buf[from, to) hold `needle`?" for records asked in order through a
 * batch. A needle of a few bytes (say ".") is in most records: a loop over
 * the range costs less than a call to indexOf. A longer one is rarer: the
 * first occurrence at or after the last `from` is kept, so a batch's bytes
 * are searched once per needle in all, not once per record, and no view is
 * made (indexOf from an offset would search on to the end of the batch);
 * the search starts from the needle's rarest byte (needle.ts).
 */
function finder(needle: Buffer): (r: RecordBytes, from: number, to: number) => boolean {
  const n = needle.length;
  if (n < 4) return (r, from, to) => holds(r.buf, from, to, needle);
  const search = new NeedleSearch(needle);
  let batch = 0;
  let memoFrom = 0;
  let at = -1;
  return (r, from, to) => {
    if (r.batch !== batch) {
      batch = r.batch;
      search.newText(r.buf);
      at = search.find(r.buf, from);
    } else if (from < memoFrom || (at !== -1 && at < from)) {
      at = search.find(r.buf, from);
    }
    memoFrom = from;
    return at !== -1 && at + n <= to;
  };
}

/**
 * A pattern over the message: a literal every match holds is looked for
 * first (once per batch, finder); where it is, or when the pattern has
 * none, RE2 decides on the message's bytes. A literal as common as "."
 * would otherwise open the gate for most records.
 */
function patternGate(pattern: string): Gate {
  const re = new RE2(pattern, 'u');
  const test = (r: RecordBytes): boolean => re.test(r.buf.subarray(r.msgStart + 1, r.msgEnd - 1));
  const lit = requiredLiteral(pattern);
  if (lit === undefined) {
    // no literal: a run of byte classes the pattern needs (factor.ts), looked for in the message's bytes
    const f = requiredFactor(pattern);
    if (f === undefined) return (r) => !r.plain || test(r);
    const has = (r: RecordBytes): boolean => factorIn(f, r.buf, r.msgStart + 1, r.msgEnd - 1);
    if (factorVerbatim(f)) return (r) => has(r) && (!r.plain || test(r));
    return (r) => !r.plain || (has(r) && test(r));
  }
  const has = finder(Buffer.from(lit, 'utf8'));
  // a literal of characters JSON never escapes is in an escaped message's bytes whenever it is in the message
  if (VERBATIM.test(lit)) return (r) => has(r, r.msgStart + 1, r.msgEnd - 1) && (!r.plain || test(r));
  return (r) => !r.plain || (has(r, r.msgStart + 1, r.msgEnd - 1) && test(r));
}

/** Printable ASCII but the quote and the backslash: what both writers (JSON.stringify's escapes) write as it is. */
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

/** Open when the part `path` (not the message) may be in the record: its key's JSON name is in the bytes (a `fields.` key after the message, where `fields` is). */
function presentGate(path: string): Gate {
  if (path === 'source' || path === 'stream') return () => true;
  const key = path.includes('.') ? path.slice(path.lastIndexOf('.') + 1) : path;
  const has = finder(Buffer.from(JSON.stringify(key) + ':', 'utf8'));
  if (path.startsWith('fields.')) return (r) => has(r, r.msgEnd, r.end);
  return (r) => has(r, r.start, r.end);
}

/** A gate over one part: the message by its patterns (none: any message), anything else by presence. */
function partGate(path: string, patterns: readonly string[] | undefined): Gate {
  if (path !== 'message') return presentGate(path);
  if (patterns === undefined) return () => true;
  const gates = patterns.map(patternGate);
  return gates.length === 1 ? gates[0]! : (r) => gates.some((g) => g(r));
}

/**
 * An extract's gate: open when one of its candidates' is. `first` is the
 * candidate that opened it at the last call that answered true, so what
 * comes after (transforms/patch.ts) asks no candidate before it again.
 */
export interface ExtractGate extends Gate {
  first: number;
  readonly cands: readonly Gate[];
}

function extractGate(cands: Gate[]): ExtractGate {
  const g: ExtractGate = Object.assign(
    (r: RecordBytes): boolean => {
      for (let k = 0; k < cands.length; k++) {
        if (cands[k]!(r)) {
          g.first = k;
          return true;
        }
      }
      return false;
    },
    { first: -1, cands },
  );
  return g;
}

function gateOf(c: TransformConfig): Gate | undefined {
  switch (c.type) {
    case 'drop':
      return partGate(c.field, c.matches !== undefined ? [c.matches] : undefined);
    case 'extract':
      return extractGate(c.from.map((f) => partGate(f.field, f.matches !== undefined ? [f.matches] : undefined)));
    case 'redact':
      return partGate(c.field, c.matches);
    default:
      // route (a record's stream may change), and the stateful ones (never in a thread)
      return undefined;
  }
}

/** One gate per transform, or undefined when the chain cannot be gated. */
export function compileGates(cfgs: readonly TransformConfig[]): Gate[] | undefined {
  const out: Gate[] = [];
  for (const c of cfgs) {
    const g = gateOf(c);
    if (g === undefined) return undefined;
    out.push(g);
  }
  return out;
}
