/**
 * An HTTP/1.1 response body's framing, undone in place: chunked transfer
 * coding (RFC 9112 §7.1), a Content-Length, or bytes until the connection
 * closes. The Docker source reads log streams straight off the engine's
 * socket (sources/docker/engine-stream.ts) because dockerd flushes every log
 * entry as its own chunk, and Node's HTTP client makes a Buffer, a stream
 * push and a 'data' event per chunk: here a read's chunks cost a
 * `copyWithin` each and the payload comes out as one range.
 *
 * `push(buf, start, end)` moves the payload bytes of `buf[start, end)`
 * together at `start` and returns where they end: the payload is
 * `buf[start, returned)`; the bytes after it are garbage. The caller owns
 * `buf` (a read buffer it reuses). Nothing is kept between pushes but
 * counts, so any split of the stream into reads gives the same payload.
 *
 * Malformed framing (a size line that is not hex, a chunk not followed by
 * CRLF, a size over MAX_CHUNK) sets `error` and stops the decoding: the
 * connection cannot be trusted past it.
 */

export type BodyMode = 'chunked' | 'length' | 'close';

/** Larger chunks are refused as framing errors (the engine sends one log entry per chunk). */
export const MAX_CHUNK = 0x7fffffff;

const SIZE = 0;
const SIZE_EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER = 6;
const DONE = 7;

const CR = 13;
const LF = 10;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export class BodyDecoder {
  readonly mode: BodyMode;
  /** Why the framing could not be read; decoding stopped there. */
  error: string | undefined;
  /** Payload bytes delivered. */
  bytes = 0;
  #state: number;
  /** Bytes left in the current chunk (chunked) or in the body (length). */
  #left: number;
  #digits = 0;
  /** Bytes on the current trailer line (0 at its start). */
  #lineLen = 0;

  constructor(mode: BodyMode, contentLength = 0) {
    this.mode = mode;
    this.#state = mode === 'length' && contentLength === 0 ? DONE : mode === 'chunked' ? SIZE : DATA;
    this.#left = mode === 'length' ? contentLength : 0;
  }

  /** The body ended as its framing says (the last chunk and its trailers, or the full length). A `close` body ends at EOF only. */
  get done(): boolean {
    return this.#state === DONE;
  }

  push(buf: Buffer, start: number, end: number): number {
    if (this.#state === DONE || this.error !== undefined) return start;
    if (this.mode === 'close') {
      this.bytes += end - start;
      return end;
    }
    if (this.mode === 'length') {
      const n = Math.min(this.#left, end - start);
      this.#left -= n;
      this.bytes += n;
      if (this.#left === 0) this.#state = DONE;
      return start + n;
    }
    let w = start;
    let p = start;
    while (p < end) {
      const st = this.#state;
      if (st === DATA) {
        const n = Math.min(this.#left, end - p);
        if (p !== w) buf.copyWithin(w, p, p + n);
        w += n;
        p += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = DATA_CR;
        continue;
      }
      const c = buf[p++]!;
      const why = this.#step(st, c);
      if (why !== undefined) {
        this.error = why;
        break;
      }
      if (this.#state === DONE) break;
    }
    this.bytes += w - start;
    return w;
  }

  /** One framing byte (outside chunk data); returns why it is wrong, if it is. */
  #step(st: number, c: number): string | undefined {
    switch (st) {
      case SIZE: {
        const v = hexValue(c);
        if (v >= 0) {
          if (this.#digits >= 8 || this.#left > (MAX_CHUNK - v) / 16) return 'chunk size too large';
          this.#left = this.#left * 16 + v;
          this.#digits++;
        } else if (this.#digits === 0) return 'chunk size is not hexadecimal';
        else if (c === CR) this.#state = SIZE_LF;
        else if (c === LF) this.#sized();
        else if (c === 0x3b || c === 0x20 || c === 0x09) this.#state = SIZE_EXT; // ";ext", or whitespace before it
        else return 'chunk size is not hexadecimal';
        return undefined;
      }
      case SIZE_EXT:
        if (c === LF) this.#sized();
        return undefined;
      case SIZE_LF:
        if (c !== LF) return 'chunk size line not ended by CRLF';
        this.#sized();
        return undefined;
      case DATA_CR:
        if (c === CR) this.#state = DATA_LF;
        else if (c === LF) this.#state = SIZE;
        else return 'chunk data not followed by CRLF';
        return undefined;
      case DATA_LF:
        if (c !== LF) return 'chunk data not followed by CRLF';
        this.#state = SIZE;
        return undefined;
      default: // TRAILER: lines until an empty one
        if (c === LF) {
          if (this.#lineLen === 0) this.#state = DONE;
          this.#lineLen = 0;
        } else if (c !== CR) this.#lineLen++;
        return undefined;
    }
  }

  /** A size line ended: the chunk's data follows, or the last chunk's trailers. */
  #sized(): void {
    this.#digits = 0;
    if (this.#left === 0) {
      this.#state = TRAILER;
      this.#lineLen = 0;
    } else this.#state = DATA;
  }

}
