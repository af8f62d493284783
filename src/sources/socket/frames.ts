/**
 * The socket source's frame decoder: bytes in, frames out, whatever way the
 * bytes were split into reads. A frame is a 4-byte big-endian header (top 8
 * bits tag, low 24 bits payload length) and its payload. A partial header or
 * payload is held until the rest arrives; a header with an unknown tag or a
 * length past the cap is a lost cause for the connection (there is no way to
 * find the next frame), so the decoder reports it once and takes nothing
 * more. It never throws.
 *
 * Memory: at most one frame's payload plus one read is held per connection.
 */

export const TAGS = { record: 1, array: 2, status: 3 } as const;

export type FrameEvent = { kind: 'frame'; tag: number; payload: Buffer } | { kind: 'error'; reason: 'unknown_tag' | 'oversize'; tag: number; length: number };

export class FrameDecoder {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #have = 0;
  /** The payload length of the frame whose header was read, or -1 while a header is awaited. */
  #need = -1;
  #tag = 0;
  #failed = false;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** Bytes held: a partial header or payload (what a connection that ends now leaves unread). */
  get buffered(): number {
    return this.#have + (this.#need >= 0 ? 4 : 0);
  }

  /** True once a bad header was seen: the connection should be closed. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Feed one read; returns the frames it completed (and at most one error, last). */
  push(chunk: Uint8Array): FrameEvent[] {
    const out: FrameEvent[] = [];
    if (this.#failed) return out;
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.#have += chunk.length;
    }
    for (;;) {
      if (this.#need < 0) {
        if (this.#have < 4) break;
        const h = this.#take(4).readUInt32BE(0);
        const tag = h >>> 24;
        const length = h & 0xffffff;
        if (tag !== TAGS.record && tag !== TAGS.array && tag !== TAGS.status) return this.#fail(out, 'unknown_tag', tag, length);
        if (length > this.#max) return this.#fail(out, 'oversize', tag, length);
        this.#tag = tag;
        this.#need = length;
      }
      if (this.#have < this.#need) break;
      out.push({ kind: 'frame', tag: this.#tag, payload: this.#take(this.#need) });
      this.#need = -1;
    }
    return out;
  }

  #fail(out: FrameEvent[], reason: 'unknown_tag' | 'oversize', tag: number, length: number): FrameEvent[] {
    this.#failed = true;
    this.#chunks = [];
    this.#have = 0;
    this.#need = -1;
    out.push({ kind: 'error', reason, tag, length });
    return out;
  }

  /** The next `n` held bytes (n <= #have): a view when one chunk holds them, else one copy. */
  #take(n: number): Buffer {
    this.#have -= n;
    const first = this.#chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first!.length > n) {
      this.#chunks[0] = first!.subarray(n);
      return first!.subarray(0, n);
    }
    if (first!.length === n) {
      this.#chunks.shift();
      return first!;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** One frame's bytes (producers and tests): header and payload. */
export function encodeFrame(tag: number, payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const h = Buffer.allocUnsafe(4);
  h.writeUInt32BE(((tag & 0xff) << 24 | (body.length & 0xffffff)) >>> 0, 0);
  return Buffer.concat([h, body]);
}
