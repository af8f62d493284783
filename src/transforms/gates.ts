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
 *   reads it;
 * - a pattern over the message is probed as probe.ts does (a literal every
 *   match contains, else RE2 `test` on the bytes, here without a copy);
 * - any other part is "present or not": a transform reading `fields.a.b`,
 *   `host`, `level` or `origin.k` can only act when the key's JSON name
 *   (`"b":`) is somewhere in the record; `source` and `stream` always are.
 * A `route` can move a record to another stream, which a batch of one
 * stream's bytes cannot say: a chain with one is not gated (undefined).
 */
import RE2 from 're2';
import type { TransformConfig } from './config.js';
import { requiredLiteral } from './probe.js';

/** One record in a rendered batch: its bytes, and its message's JSON literal (quotes included). */
export interface RecordBytes {
  buf: Buffer;
  start: number;
  end: number;
  msgStart: number;
  msgEnd: number;
}

/** true: the transform may change (or drop) the record. */
export type Gate = (r: RecordBytes) => boolean;

const BACKSLASH = 0x5c;

/** The message's plain bytes are [msgStart + 1, msgEnd - 1) when its literal has no escape. */
function plainMessage(r: RecordBytes): boolean {
  const b = r.buf;
  // a loop, not indexOf: that would search on past the record, to the end of the batch
  for (let i = r.msgStart + 1, end = r.msgEnd - 1; i < end; i++) if (b[i] === BACKSLASH) return false;
  return true;
}

/** Does buf[from, to) hold `needle`? (indexOf on a view: it must not search past `to`.) */
function holds(buf: Buffer, from: number, to: number, needle: Buffer): boolean {
  return to - from >= needle.length && buf.subarray(from, to).indexOf(needle) >= 0;
}

function patternGate(pattern: string): Gate {
  const lit = requiredLiteral(pattern);
  if (lit !== undefined) {
    const needle = Buffer.from(lit, 'utf8');
    return (r) => !plainMessage(r) || holds(r.buf, r.msgStart + 1, r.msgEnd - 1, needle);
  }
  const re = new RE2(pattern, 'u');
  return (r) => !plainMessage(r) || re.test(r.buf.subarray(r.msgStart + 1, r.msgEnd - 1));
}

/** Open when the part `path` (not the message) may be in the record: its key's JSON name is in the bytes (a `fields.` key after the message, where `fields` is). */
function presentGate(path: string): Gate {
  if (path === 'source' || path === 'stream') return () => true;
  const key = path.includes('.') ? path.slice(path.lastIndexOf('.') + 1) : path;
  const needle = Buffer.from(JSON.stringify(key) + ':', 'utf8');
  if (path.startsWith('fields.')) return (r) => holds(r.buf, r.msgEnd, r.end, needle);
  return (r) => holds(r.buf, r.start, r.end, needle);
}

/** A gate over one part: the message by its patterns (none: any message), anything else by presence. */
function partGate(path: string, patterns: readonly string[] | undefined): Gate {
  if (path !== 'message') return presentGate(path);
  if (patterns === undefined) return () => true;
  const gates = patterns.map(patternGate);
  return gates.length === 1 ? gates[0]! : (r) => gates.some((g) => g(r));
}

function gateOf(c: TransformConfig): Gate | undefined {
  switch (c.type) {
    case 'drop':
      return partGate(c.field, c.matches !== undefined ? [c.matches] : undefined);
    case 'extract': {
      const gates = c.from.map((f) => partGate(f.field, f.matches !== undefined ? [f.matches] : undefined));
      return (r) => gates.some((g) => g(r));
    }
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
