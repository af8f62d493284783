/**
 * Line framing for byte streams (files, docker logs, TCP syslog with LF
 * framing): turns Buffers read at known absolute offsets into complete lines,
 * each with the offset just past its '\n' so a tailer can checkpoint exactly.
 *
 * - LF and CRLF (the CR is stripped).
 * - Lines longer than `maxLineBytes` keep their first `maxLineBytes` bytes (cut
 *   on a UTF-8 character boundary) plus the marker " …[truncated]"; the rest
 *   is discarded, never buffered: a held partial line never exceeds
 *   `maxLineBytes` bytes, whatever the input.
 * - Invalid UTF-8 is repaired to U+FFFD by the decoder and reported through
 *   `info.repaired`. A character split across two chunks is not invalid: a
 *   line that spans chunks is joined as bytes before it is decoded.
 *
 * Hot path (bench/micro-parse.ts): the complete lines of a chunk are checked
 * once (`isAscii`/`isUtf8` over the whole region, native), decoded with one
 * call and cut with String#indexOf + slice. Per-line `Buffer#toString` was
 * ~1 GB/s for 100-byte lines, the region decode ~2-2.8 GB/s. The slices share
 * the region string (V8 sliced strings), so a surviving line can keep at most
 * its chunk's text alive.
 *
 * `onLine` is called synchronously and must not throw (a throw loses the rest
 * of that chunk). The `info` object passed to it is shared and frozen.
 */
import { isAscii, isUtf8 } from 'node:buffer';

export interface LineInfo {
  truncated: boolean;
  repaired: boolean;
}

export interface LineSplitterOptions {
  /** Longest line kept, in bytes (without the line terminator); at least 1. */
  maxLineBytes: number;
  /** Called synchronously for each complete line. `endOffset` is the absolute offset just past its '\n'. */
  onLine(line: string, endOffset: number, info: LineInfo): void;
  /**
   * Offered each run of complete lines that lie wholly in one pushed chunk
   * (`chunk[start, end)`, ending with '\n'; `endOffset` is past it) before
   * they are split here. Returning true takes them: they are not split nor
   * counted here, and the taker splits them with `splitRegion`, which gives
   * exactly the lines this splitter would have (a parse worker does).
   */
  onRegion?(chunk: Buffer, start: number, end: number, endOffset: number): boolean;
}

/**
 * Split `bytes` (complete lines: it ends with '\n', or is empty) the way a
 * LineSplitter splits a region; returns the counts.
 */
export function splitRegion(bytes: Buffer, maxLineBytes: number, onLine: (line: string, info: LineInfo) => void): { lines: number; truncated: number; repaired: number } {
  const sp = new LineSplitter({ maxLineBytes, onLine: (line, _end, info) => onLine(line, info) });
  sp.push(bytes, 0);
  const { lines, truncated, repaired } = sp.counters;
  return { lines, truncated, repaired };
}

export const TRUNCATED_MARKER = ' …[truncated]';

const LF = 10;
const CR = 13;
const INFO_PLAIN: LineInfo = Object.freeze({ truncated: false, repaired: false });
const INFO_TRUNCATED: LineInfo = Object.freeze({ truncated: true, repaired: false });
const INFO_REPAIRED: LineInfo = Object.freeze({ truncated: false, repaired: true });
const INFO_BOTH: LineInfo = Object.freeze({ truncated: true, repaired: true });

/** A held partial buffer larger than this is released after use, so idle splitters stay small. */
const KEEP_PENDING_CAPACITY = 64 * 1024;
const MIN_PENDING_CAPACITY = 256;
/** Complete lines are decoded in pieces of about this size (see #emitRegion). */
const REGION_BYTES = 64 * 1024;
/** #emitMixed stops halving at about this many bytes (a line or two). */
const MIXED_PIECE = 256;

/**
 * Length of the head `buf[start, start + max)` without a trailing multi-byte
 * character that would be cut in two: if the last character starting within
 * the head needs more bytes than remain, the head ends before it. Looks back
 * at most 3 bytes and needs no byte past the head (a held partial line keeps
 * only `max` bytes).
 */
function utf8Cut(buf: Buffer, start: number, max: number): number {
  let i = max - 1;
  for (let k = 0; k < 3 && i > 0 && (buf[start + i] & 0xc0) === 0x80; k++) i--;
  const b = buf[start + i];
  const need = b >= 0xf8 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return max - i < need ? i : max;
}

export class LineSplitter {
  readonly counters = { lines: 0, truncated: 0, repaired: 0, bytes: 0 };

  readonly #max: number;
  readonly #onLine: (line: string, endOffset: number, info: LineInfo) => void;
  readonly #onRegion: ((chunk: Buffer, start: number, end: number, endOffset: number) => boolean) | undefined;
  /** Held bytes of an unterminated line (capacity grows by doubling up to max). */
  #pend: Buffer | null = null;
  #pendLen = 0;
  /** A CR came right after `max` held bytes: the line is not too long yet if '\n' follows. */
  #pendCR = false;
  /** The held line is longer than max; the rest of it is being dropped until '\n'. */
  #discarding = false;
  /** Absolute offset just past the last byte pushed. */
  #lastEnd = 0;
  /** flushPartial() just emitted a partial: a '\n' that comes next terminates it, it is not a new empty line. */
  #afterFlush = false;

  constructor(opts: LineSplitterOptions) {
    const max = Math.floor(opts.maxLineBytes);
    if (!(max >= 1)) throw new RangeError(`maxLineBytes must be >= 1, got ${opts.maxLineBytes}`);
    this.#max = max;
    this.#onLine = opts.onLine;
    this.#onRegion = opts.onRegion;
  }

  /** Bytes held in an unterminated partial line. */
  get pendingBytes(): number {
    return this.#pendLen;
  }

  /** Feed a chunk read at absolute byte offset `startOffset` (e.g. file position). */
  push(chunk: Buffer, startOffset: number): void {
    const len = chunk.length;
    this.counters.bytes += len;
    this.#lastEnd = startOffset + len;
    if (len === 0) return;
    let pos = 0;
    if (this.#afterFlush) {
      this.#afterFlush = false;
      if (chunk[0] === LF) pos = 1;
    }
    if (this.#pendLen > 0 || this.#pendCR) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.#append(chunk, pos, len);
        return;
      }
      this.#append(chunk, pos, nl);
      this.#emitPending(startOffset + nl + 1);
      pos = nl + 1;
    }
    if (pos >= len) return;
    const last = chunk.lastIndexOf(LF);
    if (last >= pos) {
      if (this.#onRegion === undefined || !this.#onRegion(chunk, pos, last + 1, startOffset + last + 1)) this.#emitRegion(chunk, pos, last + 1, startOffset);
      pos = last + 1;
    }
    if (pos < len) this.#append(chunk, pos, len);
  }

  /**
   * Emit a held partial (unterminated) line now (idle flush); true if one was
   * emitted. Its endOffset is just past its last byte. If the very next byte
   * pushed is the '\n' the writer was about to add, it ends the flushed line
   * and is consumed without emitting an empty line (so no line carries its
   * offset). Bytes after the flush that are not a '\n' start a new line.
   */
  flushPartial(): boolean {
    if (this.#pendLen === 0 && !this.#pendCR) return false;
    this.#emitPending(this.#lastEnd);
    this.#afterFlush = true;
    return true;
  }

  /** Drop any partial state (e.g. the file was truncated); the next push starts fresh. */
  reset(): void {
    this.#pendLen = 0;
    this.#pendCR = false;
    this.#discarding = false;
    this.#afterFlush = false;
    if (this.#pend !== null && this.#pend.length > KEEP_PENDING_CAPACITY) this.#pend = null;
  }

  /** Hold `chunk[s, e)` (no '\n' in it) as (part of) the unterminated line, never past max bytes. */
  #append(chunk: Buffer, s: number, e: number): void {
    if (this.#discarding || s >= e) return;
    let n = e - s;
    const room = this.#max - this.#pendLen;
    if (n > room) {
      // Beyond the limit only a single CR may wait (it may be the CR of a CRLF); anything else truncates.
      if (!this.#pendCR && n === room + 1 && chunk[e - 1] === CR) this.#pendCR = true;
      else this.#discarding = true;
      n = room;
    }
    if (n <= 0) return;
    const need = this.#pendLen + n;
    let buf = this.#pend;
    if (buf === null || buf.length < need) {
      let cap = buf === null ? MIN_PENDING_CAPACITY : buf.length * 2;
      while (cap < need) cap *= 2;
      if (cap > this.#max) cap = this.#max;
      const grown = Buffer.allocUnsafe(cap);
      if (buf !== null && this.#pendLen > 0) buf.copy(grown, 0, 0, this.#pendLen);
      this.#pend = buf = grown;
    }
    chunk.copy(buf, this.#pendLen, s, s + n);
    this.#pendLen = need;
  }

  /** Emit the held line (its terminator, if any, was already consumed). */
  #emitPending(endOffset: number): void {
    const buf = this.#pend as Buffer;
    let n = this.#pendLen;
    const truncated = this.#discarding;
    const cr = this.#pendCR;
    this.#pendLen = 0;
    this.#pendCR = false;
    this.#discarding = false;
    if (truncated) this.#deliverSlow(buf, 0, utf8Cut(buf, 0, n), true, endOffset);
    else {
      if (!cr && n > 0 && buf[n - 1] === CR) n--;
      this.#deliverSlow(buf, 0, n, false, endOffset);
    }
    if (buf.length > KEEP_PENDING_CAPACITY) this.#pend = null;
  }

  /** Decode and emit `buf[s, e)` checking UTF-8 validity for this line alone. */
  #deliverSlow(buf: Buffer, s: number, e: number, truncated: boolean, endOffset: number): void {
    const valid = isUtf8(buf.subarray(s, e));
    let line = buf.toString('utf8', s, e);
    const c = this.counters;
    c.lines++;
    if (truncated) {
      line += TRUNCATED_MARKER;
      c.truncated++;
    }
    if (!valid) c.repaired++;
    this.#onLine(line, endOffset, truncated ? (valid ? INFO_TRUNCATED : INFO_BOTH) : valid ? INFO_PLAIN : INFO_REPAIRED);
  }

  /**
   * Emit the complete lines in `chunk[s, e)`; `chunk[e - 1]` is '\n'. Large
   * regions go in ~64 KiB pieces cut at newlines: decoding a 1 MiB region into
   * one string measured 2-3x slower than 64 KiB pieces (cache size; and Node
   * makes strings over ~1 MB external).
   */
  #emitRegion(chunk: Buffer, s: number, e: number, base: number): void {
    while (s < e) {
      let pe = e;
      if (e - s > REGION_BYTES) {
        pe = chunk.lastIndexOf(LF, s + REGION_BYTES - 1) + 1;
        if (pe <= s) pe = chunk.indexOf(LF, s + REGION_BYTES) + 1; // one line longer than a piece
      }
      const region = chunk.subarray(s, pe);
      if (isAscii(region)) this.#emitAscii(chunk, s, pe, base);
      else if (isUtf8(region)) this.#emitMixed(chunk, s, pe, base);
      else this.#emitChecked(chunk, s, pe, base);
      s = pe;
    }
  }

  /**
   * Valid UTF-8 with some non-ASCII in it: halved at a newline until a half
   * is ASCII or a few lines long. One non-ASCII character makes the whole
   * decoded string two-byte, and with it every line sliced from it, which
   * doubles the cost of every later stage (JSON.parse, escaping, encoding);
   * in a typical log only a few lines are not ASCII.
   */
  #emitMixed(chunk: Buffer, s: number, e: number, base: number): void {
    if (e - s > MIXED_PIECE) {
      const half = s + ((e - s) >> 1);
      let m = chunk.lastIndexOf(LF, half - 1) + 1;
      if (m <= s) m = chunk.indexOf(LF, half) + 1;
      if (m > s && m < e) {
        if (isAscii(chunk.subarray(s, m))) this.#emitAscii(chunk, s, m, base);
        else this.#emitMixed(chunk, s, m, base);
        if (isAscii(chunk.subarray(m, e))) this.#emitAscii(chunk, m, e, base);
        else this.#emitMixed(chunk, m, e, base);
        return;
      }
    }
    this.#emitUtf8(chunk, s, e, base);
  }

  /** ASCII: one latin1 decode, string index == byte index. */
  #emitAscii(chunk: Buffer, s: number, e: number, base: number): void {
    const text = chunk.toString('latin1', s, e);
    const max = this.#max;
    const onLine = this.#onLine;
    const off = base + s + 1;
    const end = text.length;
    let p = 0;
    let lines = 0;
    let truncated = 0;
    while (p < end) {
      const nl = text.indexOf('\n', p);
      let le = nl;
      if (le > p && text.charCodeAt(le - 1) === CR) le--;
      lines++;
      if (le - p > max) {
        truncated++;
        onLine(text.slice(p, p + max) + TRUNCATED_MARKER, off + nl, INFO_TRUNCATED);
      } else {
        onLine(text.slice(p, le), off + nl, INFO_PLAIN);
      }
      p = nl + 1;
    }
    this.counters.lines += lines;
    this.counters.truncated += truncated;
  }

  /** Valid UTF-8: one decode; byte offsets found by scanning the Buffer in step with the string. */
  #emitUtf8(chunk: Buffer, s: number, e: number, base: number): void {
    const text = chunk.toString('utf8', s, e);
    const max = this.#max;
    const onLine = this.#onLine;
    const end = text.length;
    let p = 0;
    let bp = s;
    let lines = 0;
    let truncated = 0;
    while (p < end) {
      const nl = text.indexOf('\n', p);
      const bnl = chunk.indexOf(LF, bp);
      let le = nl;
      let ble = bnl;
      if (le > p && text.charCodeAt(le - 1) === CR) {
        le--;
        ble--;
      }
      lines++;
      if (ble - bp > max) {
        truncated++;
        const cut = utf8Cut(chunk, bp, max);
        onLine(chunk.toString('utf8', bp, bp + cut) + TRUNCATED_MARKER, base + bnl + 1, INFO_TRUNCATED);
      } else {
        onLine(text.slice(p, le), base + bnl + 1, INFO_PLAIN);
      }
      p = nl + 1;
      bp = bnl + 1;
    }
    this.counters.lines += lines;
    this.counters.truncated += truncated;
  }

  /** Some line in the region is invalid UTF-8: check and decode line by line. */
  #emitChecked(chunk: Buffer, s: number, e: number, base: number): void {
    const max = this.#max;
    let bp = s;
    while (bp < e) {
      const bnl = chunk.indexOf(LF, bp);
      let ble = bnl;
      if (ble > bp && chunk[ble - 1] === CR) ble--;
      if (ble - bp > max) this.#deliverSlow(chunk, bp, bp + utf8Cut(chunk, bp, max), true, base + bnl + 1);
      else this.#deliverSlow(chunk, bp, ble, false, base + bnl + 1);
      bp = bnl + 1;
    }
  }
}
