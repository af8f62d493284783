/**
 * A published batch in wire form, encoded once and shared by every client.
 *
 * The hub joins a batch's record JSON into one NDJSON Buffer (one UTF-8
 * encoding per batch, not one per record per client); the SSE rendering of
 * the same batch is built on first use. A client writes zero-copy
 * `subarray`s covering runs of consecutive entries, so N clients cost N
 * writes of shared memory, not N string builds and encodings.
 * Measured (bench/): per-client string concatenation + encoding was ~25% of
 * the CPU of file -> TCP.
 */
import type { Entry } from './ring.js';
import type { WireTail } from './record.js';
import { utf8Write } from './utf8.js';

const NL = 10;

/**
 * Write a short ASCII string (a seq prefix, an SSE header) at `off`; returns
 * the offset after it. Per-record Buffer#write and Buffer#copy calls cost
 * ~100 and ~55 ns in argument handling alone; this loop and a plain
 * TypedArray#set of a view cost ~25 and ~30 (bench/, 320-byte records).
 */
function putAscii(buf: Buffer, off: number, s: string): number {
  for (let k = 0; k < s.length; k++) buf[off++] = s.charCodeAt(k);
  return off;
}

/** The digits of the last seq written by seqPrefix (ASCII), their count, and its value. */
const odo = new Uint8Array(24);
let odoLen = 0;
let odoValue = -2;

/**
 * `{"seq":N` at `off`; returns the offset after it. A batch's seqs are
 * consecutive, so the digits are kept and incremented in place (an odometer)
 * rather than converted from the number per record.
 */
function seqPrefix(buf: Buffer, off: number, seq: number): number {
  if (seq === odoValue + 1 && odoLen > 0) {
    let i = odoLen - 1;
    while (i >= 0 && odo[i] === 57) odo[i--] = 48;
    if (i >= 0) odo[i]!++;
    else {
      // 99..9 + 1: one more digit
      odo[0] = 49;
      odo[odoLen++] = 48;
    }
  } else {
    const s = String(seq);
    odoLen = s.length;
    for (let k = 0; k < odoLen; k++) odo[k] = s.charCodeAt(k);
  }
  odoValue = seq;
  buf[off] = 123; // {"seq":
  buf[off + 1] = 34;
  buf[off + 2] = 115;
  buf[off + 3] = 101;
  buf[off + 4] = 113;
  buf[off + 5] = 34;
  buf[off + 6] = 58;
  off += 7;
  for (let k = 0; k < odoLen; k++) buf[off++] = odo[k]!;
  return off;
}

/**
 * When every part is a parse worker's whole record (WireTail.head) and they
 * lie back to back in one buffer, each with exactly as many reserved digit
 * bytes as its seq has, write the seqs in and return the records' ends
 * relative to the first one: the buffer itself becomes the block (no copy,
 * no allocation; ParseJob.seqDigits). Else null: the tails are copied.
 * A part used so is marked (head = -1) so it is never stamped twice.
 */
function stampInPlace(entries: readonly Entry[], parts: readonly (string | WireTail)[]): { nd: Buffer; ends: Uint32Array } | null {
  const n = parts.length;
  const p0 = n > 0 ? parts[0]! : undefined;
  if (p0 === undefined || typeof p0 === 'string' || p0.head === undefined || p0.head < 0) return null;
  const buf = p0.buf;
  const digits = p0.start - p0.head - 7;
  if (digits < 1 || digits > 16) return null;
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  const hi = 10 ** digits;
  let next = p0.head;
  for (let i = 0; i < n; i++) {
    const p = parts[i]!;
    const seq = entries[i]!.seq;
    if (typeof p === 'string' || p.buf !== buf || p.head !== next || p.start - p.head - 7 !== digits || buf[p.end] !== NL || !(seq >= lo && seq < hi)) return null;
    next = p.end + 1;
  }
  const base = p0.head;
  const ends = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const p = parts[i] as WireTail;
    seqPrefix(buf, p.head!, entries[i]!.seq);
    p.head = -1;
    ends[i] = p.end + 1 - base;
  }
  return { nd: buf.subarray(base, next), ends };
}

/** Bytes a part needs: a string's UTF-16 length (exact for ASCII) or a tail plus `{"seq":` and up to 16 digits; and its newline. */
export function sizeGuess(p: string | WireTail): number {
  return typeof p === 'string' ? p.length + 1 : p.end - p.start + 24;
}

export class Block {
  readonly nd: Buffer;
  /** ndEnds[i]: end (exclusive, after its '\n') of entry i in `nd`. */
  readonly ndEnds: Uint32Array;
  #entries: readonly Entry[];
  #sse: Buffer | undefined;
  #sseEnds: Uint32Array | undefined;

  /**
   * `parts[i]` is entry i's record JSON, or its tail pre-rendered by a parse
   * worker (everything after `{"seq":N`), which is copied in after the seq.
   */
  constructor(entries: readonly Entry[], parts: readonly (string | WireTail)[]) {
    this.#entries = entries;
    const stamped = stampInPlace(entries, parts);
    if (stamped !== null) {
      // a parse worker's records, back to back in its buffer: that buffer is the block
      this.nd = stamped.nd;
      this.ndEnds = stamped.ends;
      return;
    }
    // Written record by record into one allocation sized for ASCII (the common
    // case); grown when multi-byte text does not fit. 2x faster than encoding
    // one concatenated string (rope flattening), bench/ and block.test.ts.
    let size = 0;
    for (let i = 0; i < parts.length; i++) size += sizeGuess(parts[i]!);
    let buf = Buffer.allocUnsafe(size);
    const ends = new Uint32Array(parts.length);
    let off = 0;
    // room for parts[i..] at their exact sizes (tails: their bound)
    const grow = (i: number): void => {
      let rest = 0;
      for (let k = i; k < parts.length; k++) {
        const q = parts[k]!;
        rest += typeof q === 'string' ? Buffer.byteLength(q, 'utf8') + 1 : sizeGuess(q);
      }
      const bigger = Buffer.allocUnsafe(off + rest);
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    };
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (typeof p !== 'string') {
        // its size is bounded; multi-byte strings before it may have used its room
        if (off + sizeGuess(p) > buf.length) grow(i);
        off = seqPrefix(buf, off, entries[i]!.seq);
        const n = p.end - p.start;
        buf.set(new Uint8Array(p.buf.buffer, p.buf.byteOffset + p.start, n), off);
        off += n;
        buf[off++] = NL;
        ends[i] = off;
        continue;
      }
      let w = utf8Write(buf, p, off);
      if (off + w >= buf.length) {
        // did not fit (or no room left for its newline): grow for the rest, write again
        grow(i);
        w = utf8Write(buf, p, off);
      }
      off += w;
      buf[off++] = NL;
      ends[i] = off;
    }
    this.nd = off === buf.length ? buf : buf.subarray(0, off);
    this.ndEnds = ends;
  }

  ndStart(i: number): number {
    return i === 0 ? 0 : this.ndEnds[i - 1]!;
  }

  /** The SSE frames of this batch (`id`, `event: log`, `data`), rendered once. */
  sse(): { buf: Buffer; ends: Uint32Array } {
    if (!this.#sse) {
      // one allocation: ASCII headers written in, JSON bytes copied from `nd`
      const n = this.#entries.length;
      const heads = new Array<string>(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        heads[i] = 'id: ' + this.#entries[i]!.seq + '\nevent: log\ndata: ';
        total += heads[i]!.length + (this.ndEnds[i]! - this.ndStart(i) - 1) + 2;
      }
      const buf = Buffer.allocUnsafe(total);
      const ends = new Uint32Array(n);
      let at = 0;
      const nd = this.nd;
      for (let i = 0; i < n; i++) {
        at = putAscii(buf, at, heads[i]!);
        const s = this.ndStart(i);
        const len = this.ndEnds[i]! - 1 - s;
        buf.set(new Uint8Array(nd.buffer, nd.byteOffset + s, len), at);
        at += len;
        buf[at++] = NL;
        buf[at++] = NL;
        ends[i] = at;
      }
      this.#sse = buf;
      this.#sseEnds = ends;
    }
    return { buf: this.#sse, ends: this.#sseEnds! };
  }
}

/** One entry's record JSON (CONTRACT.md wire format), decoded from the shared block. */
export function entryJson(e: Entry): string {
  return e.block.nd.toString('utf8', e.block.ndStart(e.idx), e.block.ndEnds[e.idx]! - 1);
}

/**
 * The buffers to write for `entries` in one wire form: consecutive entries of
 * one block become one subarray.
 */
export function wireRuns(entries: readonly Entry[], kind: 'nd' | 'sse', out: Buffer[]): void {
  let i = 0;
  while (i < entries.length) {
    const first = entries[i]!;
    const block = first.block;
    let j = i + 1;
    while (j < entries.length && entries[j]!.block === block && entries[j]!.idx === entries[j - 1]!.idx + 1) j++;
    const last = entries[j - 1]!;
    if (kind === 'nd') out.push(block.nd.subarray(block.ndStart(first.idx), block.ndEnds[last.idx]));
    else {
      const s = block.sse();
      out.push(s.buf.subarray(first.idx === 0 ? 0 : s.ends[first.idx - 1], s.ends[last.idx]));
    }
    i = j;
  }
}
