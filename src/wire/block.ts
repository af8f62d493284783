/**
 * A published batch in wire form, encoded once and shared by every client.
 *
 * A block holds its records' NDJSON in one Buffer (one UTF-8 encoding per
 * batch, not one per record per client), where each record's message lies
 * (so a text filter can look at bytes and a ring entry needs no string), and
 * builds the SSE rendering of the same batch on first use. A client writes
 * zero-copy `subarray`s covering runs of consecutive entries, so N clients
 * cost N writes of shared memory, not N string builds and encodings
 * (measured, bench/: per-client concatenation + encoding was ~25% of the CPU
 * of file -> TCP).
 *
 * Two ways in: a parse thread's encoded batch (encoded.ts), whose buffer
 * becomes the block itself when its reserved seq digits fit the seqs the hub
 * assigned (seq.ts), and records the hub serialized (json.ts parts).
 */
import type { EncodedBatch } from './encoded.js';
import { tailStart } from './encoded.js';
import { SEQ_KEY_BYTES, seqsFit, writeSeq } from './seq.js';
import { utf8Write } from './utf8.js';

const NL = 10;
/** `{"seq":`, up to 17 digits and the newline. */
const SEQ_ROOM = 7 + 17 + 1;

/** A record serialized by the hub, without its seq: `head` ends with `"message":`, `lit` is the message's JSON string. */
export interface RecordParts {
  head: string;
  lit: string;
  rest: string;
}

/** A place in a block (a ring entry is one). */
export interface BlockRef {
  readonly block: Block;
  readonly idx: number;
}

/**
 * Write a short ASCII string (an SSE header) at `off`; returns the offset
 * after it. Per-call Buffer#write and Buffer#copy cost ~100 and ~55 ns in
 * argument handling alone; this loop and a plain TypedArray#set of a view
 * cost ~25 and ~30 (bench/, 320-byte records).
 */
function putAscii(buf: Buffer, off: number, s: string): number {
  for (let k = 0; k < s.length; k++) buf[off++] = s.charCodeAt(k);
  return off;
}

export class Block {
  readonly nd: Buffer;
  /** ndEnds[i]: end (exclusive, after its '\n') of record i in `nd`. */
  readonly ndEnds: Uint32Array;
  /** msg[2i], msg[2i+1]: record i's message as a JSON string literal, in `nd`. */
  readonly msg: Uint32Array;
  #sse: Buffer | undefined;
  #sseEnds: Uint32Array | undefined;

  private constructor(nd: Buffer, ends: Uint32Array, msg: Uint32Array) {
    this.nd = nd;
    this.ndEnds = ends;
    this.msg = msg;
  }

  get length(): number {
    return this.ndEnds.length;
  }

  /**
   * An encoded batch whose records get the seqs first, first+1, ... When it
   * was laid out with as many reserved digits as those seqs have, the seqs
   * are written into it and its buffer is the block (no copy, no
   * allocation); else the tails are copied behind their seqs. Each batch is
   * published once: the stamped buffer is the block's from then on.
   */
  static fromEncoded(b: EncodedBatch, first: number): Block {
    const n = b.ends.length;
    const { buf, ends } = b;
    if (b.digits > 0 && seqsFit(first, n, b.digits)) {
      const nd = new Uint32Array(n);
      let at = 0;
      for (let i = 0; i < n; i++) {
        writeSeq(buf, at, first + i);
        at = ends[i]! + 1;
        nd[i] = at;
      }
      return new Block(buf.subarray(0, at), nd, b.msg);
    }
    let size = 0;
    for (let i = 0; i < n; i++) size += ends[i]! - tailStart(b, i) + SEQ_ROOM;
    const out = Buffer.allocUnsafe(size);
    const nd = new Uint32Array(n);
    const msg = new Uint32Array(2 * n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const s = tailStart(b, i);
      off = writeSeq(out, off, first + i);
      const shift = off - s;
      msg[2 * i] = b.msg[2 * i]! + shift;
      msg[2 * i + 1] = b.msg[2 * i + 1]! + shift;
      const len = ends[i]! - s;
      out.set(new Uint8Array(buf.buffer, buf.byteOffset + s, len), off);
      off += len;
      out[off++] = NL;
      nd[i] = off;
    }
    return new Block(off === out.length ? out : out.subarray(0, off), nd, msg);
  }

  /**
   * Records the hub serialized (`parts[i]` gets `seqs[i]`), written record by
   * record into one allocation sized for ASCII (the common case), grown when
   * multi-byte text does not fit: 2x faster than encoding one concatenated
   * string (bench/).
   */
  static fromParts(seqs: ArrayLike<number>, parts: readonly RecordParts[]): Block {
    const n = parts.length;
    const exact = (p: RecordParts): number => SEQ_ROOM + Buffer.byteLength(p.head) + Buffer.byteLength(p.lit) + Buffer.byteLength(p.rest);
    let size = 0;
    for (let i = 0; i < n; i++) size += SEQ_ROOM + parts[i]!.head.length + parts[i]!.lit.length + parts[i]!.rest.length;
    let buf = Buffer.allocUnsafe(size);
    const nd = new Uint32Array(n);
    const msg = new Uint32Array(2 * n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const p = parts[i]!;
      // a UTF-16 unit is at most 3 bytes: only near the end is the exact size needed
      if (off + SEQ_ROOM + 3 * (p.head.length + p.lit.length + p.rest.length) > buf.length && off + exact(p) > buf.length) {
        let rest = 0;
        for (let k = i; k < n; k++) rest += exact(parts[k]!);
        const bigger = Buffer.allocUnsafe(off + rest);
        buf.copy(bigger, 0, 0, off);
        buf = bigger;
      }
      let at = writeSeq(buf, off, seqs[i]!);
      at += utf8Write(buf, p.head, at);
      msg[2 * i] = at;
      at += utf8Write(buf, p.lit, at);
      msg[2 * i + 1] = at;
      at += utf8Write(buf, p.rest, at);
      buf[at++] = NL;
      nd[i] = off = at;
    }
    return new Block(off === buf.length ? buf : buf.subarray(0, off), nd, msg);
  }

  ndStart(i: number): number {
    return i === 0 ? 0 : this.ndEnds[i - 1]!;
  }

  /** Record i's message, decoded from its JSON string literal. */
  message(i: number): string {
    return JSON.parse(this.nd.toString('utf8', this.msg[2 * i], this.msg[2 * i + 1])) as string;
  }

  /** Record i's JSON (CONTRACT.md wire format), without its newline. */
  json(i: number): string {
    return this.nd.toString('utf8', this.ndStart(i), this.ndEnds[i]! - 1);
  }

  /**
   * The SSE frames of this batch (`id`, `event: log`, `data`), rendered
   * once: the id is the seq's digits, copied from the record's own `{"seq":`.
   */
  sse(): { buf: Buffer; ends: Uint32Array } {
    if (!this.#sse) {
      const n = this.length;
      const nd = this.nd;
      const HEAD = 'id: ';
      const MID = '\nevent: log\ndata: ';
      let total = 0;
      // per record: the header with its seq's digits (the id), the JSON and a blank line
      for (let i = 0; i < n; i++) {
        const s = this.ndStart(i);
        let d = s + SEQ_KEY_BYTES;
        while (nd[d] !== 44 /* , */) d++;
        total += HEAD.length + (d - s - SEQ_KEY_BYTES) + MID.length + (this.ndEnds[i]! - s) + 1;
      }
      const buf = Buffer.allocUnsafe(total);
      const ends = new Uint32Array(n);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const s = this.ndStart(i);
        at = putAscii(buf, at, HEAD);
        let d = s + SEQ_KEY_BYTES;
        while (nd[d] !== 44 /* , */) buf[at++] = nd[d++]!;
        at = putAscii(buf, at, MID);
        const len = this.ndEnds[i]! - 1 - s;
        buf.set(new Uint8Array(nd.buffer, nd.byteOffset + s, len), at);
        at += len;
        buf[at++] = NL;
        buf[at++] = NL;
        ends[i] = at;
      }
      this.#sse = at === buf.length ? buf : buf.subarray(0, at);
      this.#sseEnds = ends;
    }
    return { buf: this.#sse, ends: this.#sseEnds! };
  }
}

/** One entry's record JSON, decoded from its block. */
export function entryJson(e: BlockRef): string {
  return e.block.json(e.idx);
}

/**
 * The buffers to write for records (blocks[k], idxs[k]), k < blocks.length,
 * in one wire form: consecutive records of one block become one subarray.
 */
export function wireRuns(blocks: readonly Block[], idxs: readonly number[], kind: 'nd' | 'sse', out: Buffer[]): void {
  const n = blocks.length;
  let i = 0;
  while (i < n) {
    const block = blocks[i]!;
    const firstIdx = idxs[i]!;
    let j = i + 1;
    while (j < n && blocks[j] === block && idxs[j] === idxs[j - 1]! + 1) j++;
    const lastIdx = idxs[j - 1]!;
    // a run over the whole block writes the block's own buffer: a client that keeps up at a trickle
    // (a block a batch, a batch a wake) then allocates nothing per write
    const whole = firstIdx === 0 && lastIdx === block.length - 1;
    if (kind === 'nd') out.push(whole ? block.nd : block.nd.subarray(block.ndStart(firstIdx), block.ndEnds[lastIdx]));
    else {
      const s = block.sse();
      out.push(whole ? s.buf : s.buf.subarray(firstIdx === 0 ? 0 : s.ends[firstIdx - 1], s.ends[lastIdx]));
    }
    i = j;
  }
}
