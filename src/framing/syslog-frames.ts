/**
 * Syslog framing over a byte stream (TCP, TLS; UDP datagrams in LF mode):
 * turns the reads of one connection into frames, whatever the read
 * boundaries. A frame split across reads is held until it is complete and
 * never dropped.
 *
 * - The framing is detected from the first byte that is not LF, CR or NUL and
 *   then held for the connection (RFC 6587 §3.4): a digit is octet counting
 *   (`MSG-LEN SP SYSLOG-MSG`), anything else is non-transparent framing
 *   (`SYSLOG-MSG LF`).
 * - LF framing: LF ends a frame, and so does NUL (some senders terminate with
 *   NUL, RFC 6587 §3.4.2); a CR before the terminator is stripped; empty frames
 *   are skipped. At the end of the stream the held bytes are a last frame.
 * - Octet counting: exactly MSG-LEN bytes, so a frame may contain LF. LF, CR,
 *   NUL and spaces between frames are skipped (senders that add a newline
 *   after each counted frame); trailing LF/CR/NUL inside a frame are stripped.
 *   A header that is not digits then a space (or more than 10 digits) is a
 *   lost sync: `error` is set (`bad_octet_count`), the rest of the connection
 *   is ignored and its owner closes it.
 * - A frame longer than `maxFrameBytes` is oversize: its head (at most
 *   `maxFrameBytes` bytes, cut on a UTF-8 character boundary) is emitted with
 *   `truncated = true`, the rest is skipped, and the decoder resyncs (LF: at
 *   the next terminator; octet counting: exactly after MSG-LEN bytes). Held
 *   bytes never exceed `maxFrameBytes`, whatever the input.
 *
 * `onFrame` is called synchronously with `buf[start, end)`: the bytes of
 * the held buffer are only valid during the call, those of the pushed chunk
 * (`inChunk`) until `push` returns (a consumer may copy a run of
 * consecutive frames at once).
 */

export type FrameMode = 'detect' | 'octet' | 'lf';

export interface FrameCounters {
  frames: number;
  /** Frames longer than maxFrameBytes (their head was kept). */
  oversize: number;
  /** Octet-counted frames cut short by the end of the stream (emitted as they were). */
  incomplete: number;
}

export interface SyslogFrameDecoderOptions {
  maxFrameBytes: number;
  /** 'detect' (default) decides from the first byte; UDP datagrams are 'lf'. */
  mode?: FrameMode;
  /** `inChunk`: buf is the chunk being pushed (its bytes stay valid until push returns), else the decoder's own held buffer (valid during this call only). */
  onFrame(buf: Buffer, start: number, end: number, truncated: boolean, inChunk: boolean): void;
}

const LF = 10;
const CR = 13;
const NUL = 0;
const SP = 32;
/** MSG-LEN has at most this many digits (RFC 6587 does not bound it; 10 digits are ~9.3 GiB). */
const MAX_LEN_DIGITS = 10;

/** Length of `buf[start, start + max)` without a multi-byte character cut in two at its end. */
export function utf8Head(buf: Buffer, start: number, max: number): number {
  if (max <= 0) return 0;
  let i = max - 1;
  for (let k = 0; k < 3 && i > 0 && (buf[start + i]! & 0xc0) === 0x80; k++) i--;
  const b = buf[start + i]!;
  const need = b >= 0xf8 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return max - i < need ? i : max;
}

function isGap(c: number): boolean {
  return c === LF || c === CR || c === NUL;
}

export class SyslogFrameDecoder {
  readonly counters: FrameCounters = { frames: 0, oversize: 0, incomplete: 0 };
  /** Set when the stream can no longer be framed (octet counting lost its sync); further input is ignored. */
  error: 'bad_octet_count' | undefined;

  readonly #max: number;
  readonly #onFrame: SyslogFrameDecoderOptions['onFrame'];
  #mode: FrameMode;
  /** Bytes of an unfinished frame (capacity grows by doubling up to max). */
  #held: Buffer | null = null;
  #heldLen = 0;
  /** LF: discarding the rest of an oversize frame until the next terminator. */
  #skipping = false;
  /** LF: CRs that ended the last read, not yet held (content, unless the terminator follows). */
  #crs = 0;
  // octet counting state
  #inBody = false;
  #lenDigits = 0;
  #len = 0;
  /** Body bytes still to read (kept or skipped). */
  #need = 0;
  /** Of #need, how many are skipped (the tail of an oversize frame). */
  #skip = 0;
  #oversize = false;
  /** LF: the next NUL in the current chunk at or after the scan position (-1: none left, -2: not searched yet). */
  #nextNul = -2;

  constructor(opts: SyslogFrameDecoderOptions) {
    this.#max = Math.max(1, opts.maxFrameBytes);
    this.#onFrame = opts.onFrame;
    this.#mode = opts.mode ?? 'detect';
  }

  get mode(): FrameMode {
    return this.#mode;
  }

  /** Bytes held for an unfinished frame (bounded by maxFrameBytes). */
  get held(): number {
    return this.#heldLen;
  }

  push(chunk: Buffer): void {
    if (this.error !== undefined || chunk.length === 0) return;
    let i = 0;
    if (this.#mode === 'detect') {
      while (i < chunk.length && isGap(chunk[i]!)) i++;
      if (i === chunk.length) return;
      const c = chunk[i]!;
      this.#mode = c >= 48 && c <= 57 ? 'octet' : 'lf';
    }
    if (this.#mode === 'lf') this.#pushLf(chunk, i);
    else this.#pushOctet(chunk, i);
  }

  /** The stream ended: a held LF frame is a last frame; a short octet frame is emitted and counted incomplete. */
  end(): void {
    if (this.error !== undefined) return;
    if (this.#mode === 'lf') {
      if (!this.#skipping && this.#heldLen > 0) this.#emitHeld(false, true);
    } else if (this.#inBody && this.#need - this.#skip > 0) {
      this.counters.incomplete++;
      if (this.#heldLen > 0) this.#emitHeld(this.#oversize, true);
    }
    this.#reset();
  }

  #reset(): void {
    this.#heldLen = 0;
    this.#skipping = false;
    this.#crs = 0;
    this.#inBody = false;
    this.#lenDigits = 0;
    this.#len = 0;
    this.#need = 0;
    this.#skip = 0;
    this.#oversize = false;
    if (this.#held !== null && this.#held.length > 64 * 1024) this.#held = null;
  }

  // ------------------------------------------------------------------ LF

  /** The next LF or NUL at or after i, or -1 (the NUL search is done once per NUL, not per frame). */
  #term(chunk: Buffer, i: number): number {
    const lf = chunk.indexOf(LF, i);
    if (this.#nextNul === -2 || (this.#nextNul >= 0 && this.#nextNul < i)) this.#nextNul = chunk.indexOf(NUL, i);
    const nul = this.#nextNul;
    if (nul === -1) return lf;
    return lf === -1 || nul < lf ? nul : lf;
  }

  #pushLf(chunk: Buffer, i: number): void {
    const len = chunk.length;
    this.#nextNul = -2;
    while (i < len) {
      const t = this.#term(chunk, i);
      if (this.#skipping) {
        if (t === -1) return;
        this.#skipping = false;
        i = t + 1;
        continue;
      }
      if (t === -1) {
        // CRs at the end of a read may be the CR of a CRLF: only counted until the next byte says
        // (a counter, no memory; they become content, and count toward the cap, only if more text follows).
        let e = len;
        while (e > i && chunk[e - 1] === CR) e--;
        if (e > i) this.#hold(chunk, i, e);
        if (!this.#skipping) this.#crs += len - e;
        return;
      }
      if (this.#heldLen > 0 || this.#crs > 0) {
        let e = t;
        while (e > i && chunk[e - 1] === CR) e--;
        if (e > i) this.#hold(chunk, i, e);
        this.#crs = 0; // CRs right before the terminator are not content
        if (this.#skipping) this.#skipping = false; // the oversize frame ended right here
        else this.#emitHeld(false, true);
      } else {
        this.#emitLf(chunk, i, t);
      }
      i = t + 1;
    }
  }

  /** A complete LF frame chunk[s, e) (terminator excluded): strip a CR, skip it when empty, cap it. */
  #emitLf(chunk: Buffer, s: number, e: number): void {
    while (e > s && chunk[e - 1] === CR) e--;
    if (e === s) return;
    if (e - s > this.#max) {
      this.counters.oversize++;
      this.counters.frames++;
      this.#onFrame(chunk, s, s + utf8Head(chunk, s, this.#max), true, true);
      return;
    }
    this.counters.frames++;
    this.#onFrame(chunk, s, e, false, true);
  }

  /**
   * Append chunk[s, e) to the held frame; past maxFrameBytes the head is
   * emitted as an oversize frame and the rest is skipped (#skipping).
   */
  #hold(chunk: Buffer, s: number, e: number): void {
    const n = e - s;
    if (n === 0) return;
    if (this.#crs > 0) this.#flushCrs();
    if (this.#skipping) return;
    const room = this.#max - this.#heldLen;
    if (n > room) {
      this.#append(chunk, s, s + room);
      this.counters.oversize++;
      this.counters.frames++;
      const held = this.#held!;
      this.#onFrame(held, 0, utf8Head(held, 0, this.#heldLen), true, false);
      this.#heldLen = 0;
      this.#skipping = true;
      this.#crs = 0;
      return;
    }
    this.#append(chunk, s, e);
  }

  /** The held-apart CRs turned out to be content: hold them. */
  #flushCrs(): void {
    const n = this.#crs;
    this.#crs = 0;
    this.#hold(Buffer.alloc(n, CR), 0, n);
  }

  #append(chunk: Buffer, s: number, e: number): void {
    const need = this.#heldLen + (e - s);
    if (this.#held === null || this.#held.length < need) {
      let cap = Math.max(256, this.#held?.length ?? 0);
      while (cap < need) cap *= 2;
      const next = Buffer.allocUnsafe(Math.min(cap, this.#max));
      if (this.#held !== null && this.#heldLen > 0) this.#held.copy(next, 0, 0, this.#heldLen);
      this.#held = next;
    }
    chunk.copy(this.#held, this.#heldLen, s, e);
    this.#heldLen = need;
  }

  /** Emit the held bytes as one frame (trailing CRs stripped; LF/CR/NUL too when `trimAll`). */
  #emitHeld(truncated: boolean, trimAll: boolean): void {
    const held = this.#held!;
    let e = this.#heldLen;
    this.#heldLen = 0;
    while (e > 0 && (held[e - 1] === CR || (trimAll && isGap(held[e - 1]!)))) e--;
    if (e === 0 && !truncated) return;
    this.counters.frames++;
    this.#onFrame(held, 0, e, truncated, false);
  }

  // ------------------------------------------------------------- octet

  #pushOctet(chunk: Buffer, i: number): void {
    const len = chunk.length;
    while (i < len) {
      if (!this.#inBody) {
        const c = chunk[i]!;
        if (this.#lenDigits === 0 && (isGap(c) || c === SP)) {
          i++;
          continue;
        }
        if (c >= 48 && c <= 57) {
          if (++this.#lenDigits > MAX_LEN_DIGITS) return this.#lost();
          this.#len = this.#len * 10 + (c - 48);
          i++;
          continue;
        }
        if (c !== SP) return this.#lost();
        i++;
        const n = this.#len;
        this.#lenDigits = 0;
        this.#len = 0;
        if (n === 0) continue;
        this.#inBody = true;
        this.#need = n;
        this.#oversize = n > this.#max;
        this.#skip = this.#oversize ? n - this.#max : 0;
        // Whole frame in this chunk and nothing held: no copy.
        if (!this.#oversize && len - i >= n) {
          this.#inBody = false;
          this.#need = 0;
          this.#emitOctet(chunk, i, i + n, false);
          i += n;
        }
        continue;
      }
      // body: first the kept part, then the skipped tail
      const keep = this.#need - this.#skip;
      if (keep > 0) {
        const take = Math.min(keep, len - i);
        this.#append(chunk, i, i + take);
        this.#need -= take;
        i += take;
        if (this.#need - this.#skip > 0) return;
        if (this.#oversize) this.counters.oversize++;
        const held = this.#held!;
        const e = this.#oversize ? utf8Head(held, 0, this.#heldLen) : this.#heldLen;
        this.#heldLen = 0;
        this.#emitOctet(held, 0, e, this.#oversize);
      }
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, len - i);
        this.#skip -= take;
        this.#need -= take;
        i += take;
        if (this.#skip > 0) return;
      }
      this.#inBody = false;
      this.#oversize = false;
    }
  }

  #emitOctet(buf: Buffer, s: number, e: number, truncated: boolean): void {
    if (!truncated) while (e > s && isGap(buf[e - 1]!)) e--;
    if (e === s && !truncated) return;
    this.counters.frames++;
    this.#onFrame(buf, s, e, truncated, buf !== this.#held);
  }

  #lost(): void {
    this.error = 'bad_octet_count';
    this.#reset();
  }
}
