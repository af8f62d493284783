/**
 * Docker log stream framing. Owns the bytes between the Engine API socket and
 * the line splitter:
 *
 * - `DockerDemuxer`: the 8-byte multiplexed frame format of non-TTY
 *   containers (`[stream:1][0:3][size:4 BE][payload]`), with a payload cap,
 *   resynchronisation after garbage, and counters for every anomaly.
 * - `RawMessageSplitter`: TTY containers have no frames; with `timestamps=1`
 *   each engine message is `<RFC3339Nano> <content>`, ending at `\n`, or
 *   after exactly 16 KiB of content when the engine split a long line.
 * - `splitTimestamp` / `parseTimestamp` / `sinceParam`: the timestamp prefix,
 *   validated, and turned into a sortable key and an API `since` value.
 *
 * Everything here is synchronous and allocation-light: payloads are
 * subarrays of the input chunk whenever a frame lies inside one read, valid
 * during the callback only; what is kept past a push (a partial frame or
 * timestamp) is copied, so the chunk may be a reused read buffer.
 */

export const STD = { stdin: 0, stdout: 1, stderr: 2 } as const;
export type StdNo = 1 | 2;

/** Docker's frames are at most 16 KiB + timestamp; anything near this cap is a lost sync. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The engine cuts lines longer than this into partial messages (daemon/logger/copier.go bufSize). */
export const ENGINE_PARTIAL_BYTES = 16 * 1024;

export interface DemuxCounters {
  /** Well-formed frames delivered (or empty ones skipped). */
  frames: number;
  /** Payload bytes delivered. */
  bytes: number;
  /** Headers announcing more than the payload cap (treated as a lost sync). */
  oversize_frames: number;
  /** Episodes of bytes that were not a frame header (unknown stream byte, non-zero padding). */
  bad_frames: number;
  /** Bytes skipped while looking for the next plausible header. */
  skipped_bytes: number;
  /** Streams that ended in the middle of a frame. */
  truncated_frames: number;
}

export interface DemuxOptions {
  maxFrameBytes?: number;
  /**
   * The stream was requested with `timestamps=1`: every payload starts with a
   * digit. Used only to make resynchronisation stricter.
   */
  timestamps?: boolean;
  /** One frame's payload (stdin frames are reported as stdout, as Docker's stdcopy does). */
  onFrame(std: StdNo, payload: Buffer): void;
}

const HEADER = 8;

/**
 * Incremental demultiplexer. `push` any chunking of the stream; `end` when
 * the connection closes. After an invalid header the demuxer counts one
 * `bad_frames` episode and scans forward byte by byte for the next plausible
 * header, so a corrupted stretch costs only itself, never the rest of the tail.
 */
export class DockerDemuxer {
  readonly counters: DemuxCounters = { frames: 0, bytes: 0, oversize_frames: 0, bad_frames: 0, skipped_bytes: 0, truncated_frames: 0 };
  readonly #max: number;
  readonly #ts: boolean;
  readonly #onFrame: (std: StdNo, payload: Buffer) => void;
  /** Unconsumed tail of the previous chunks (a partial header or frame). */
  #rest: Buffer | null = null;
  #resyncing = false;

  constructor(opts: DemuxOptions) {
    this.#max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#ts = opts.timestamps ?? false;
    this.#onFrame = opts.onFrame;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#rest ? this.#rest.length : 0;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.#rest) {
      buf = Buffer.concat([this.#rest, chunk]);
      this.#rest = null;
    }
    const n = buf.length;
    let p = 0;
    while (p < n) {
      if (n - p < HEADER) break;
      const kind = this.#classify(buf, p, n);
      if (kind === NEED_MORE) break;
      if (kind === BAD || kind === OVERSIZE) {
        if (kind === OVERSIZE) this.counters.oversize_frames++;
        if (!this.#resyncing) {
          if (kind === BAD) this.counters.bad_frames++;
          this.#resyncing = true;
        }
        this.counters.skipped_bytes++;
        p++;
        continue;
      }
      const size = buf.readUInt32BE(p + 4);
      if (n - p - HEADER < size) break;
      this.#resyncing = false;
      const std: StdNo = buf[p] === 2 ? 2 : 1;
      const start = p + HEADER;
      p = start + size;
      this.counters.frames++;
      if (size > 0) {
        this.counters.bytes += size;
        this.#onFrame(std, buf.subarray(start, p));
      }
    }
    // Keep the remainder, copied: the chunk may be a read buffer its owner reuses (engine-stream.ts).
    if (p < n) this.#rest = Buffer.from(buf.subarray(p));
  }

  /** The connection closed. Returns false when it closed inside a frame (counted). */
  end(): boolean {
    const rest = this.#rest;
    this.#rest = null;
    const resyncing = this.#resyncing;
    this.#resyncing = false;
    if (!rest || rest.length === 0) return true;
    if (resyncing) {
      // Still inside garbage: the remainder is more of the same.
      this.counters.skipped_bytes += rest.length;
      return false;
    }
    this.counters.truncated_frames++;
    return false;
  }

  reset(): void {
    this.#rest = null;
    this.#resyncing = false;
  }

  /** Is there a valid header at p? Needs p+8 <= n. */
  #classify(buf: Buffer, p: number, n: number): number {
    const s = buf[p]!;
    if (s > 2 || buf[p + 1] !== 0 || buf[p + 2] !== 0 || buf[p + 3] !== 0) return BAD;
    const size = buf.readUInt32BE(p + 4);
    if (size > this.#max) return this.#resyncing ? BAD : OVERSIZE; // while resyncing, just more garbage
    if (this.#resyncing) {
      // Be stricter while hunting for sync: no stdin frames, and a timestamped
      // payload starts with "YYYY-MM-DDT" (a plain digit check let garbage
      // whose bytes 1-8 happened to look like a header swallow real frames).
      if (s === 0) return BAD;
      if (this.#ts) {
        if (size < 20) return BAD;
        if (n - p < HEADER + 11) return NEED_MORE;
        if (!looksLikeDate(buf, p + HEADER)) return BAD;
      }
    }
    return OK;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** "YYYY-MM-DDT" at p. */
function looksLikeDate(b: Buffer, p: number): boolean {
  return (
    isDigit(b[p]) && isDigit(b[p + 1]) && isDigit(b[p + 2]) && isDigit(b[p + 3]) && b[p + 4] === 0x2d &&
    isDigit(b[p + 5]) && isDigit(b[p + 6]) && b[p + 7] === 0x2d && isDigit(b[p + 8]) && isDigit(b[p + 9]) && b[p + 10] === 0x54
  );
}

const OK = 0;
const BAD = 1;
const OVERSIZE = 2;
const NEED_MORE = 3;

// ---------------------------------------------------------------- timestamps

/** Longest prefix we look at for "<timestamp> ": RFC3339Nano with a numeric offset is 35 chars. */
const MAX_TS = 40;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export interface Timestamp {
  /** The text as the engine sent it. */
  text: string;
  /** Epoch milliseconds. */
  ms: number;
  /** Sortable key: "YYYY-MM-DDTHH:MM:SS" (UTC) + 9 nanosecond digits; string order = time order. */
  key: string;
}

let lastSecText = '';
let lastSecMs = 0;
let lastSecIso = '';

/** Validate an RFC 3339 timestamp with up to nanosecond precision. */
export function parseTimestamp(text: string): Timestamp | undefined {
  const m = TS_RE.exec(text);
  if (!m) return undefined;
  const frac = (m[1] ?? '').padEnd(9, '0');
  const zone = m[2]!;
  const secText = text.slice(0, 19);
  let secMs: number;
  let iso: string;
  if (zone === 'Z') {
    // Lines from one read share their second; skip Date.parse for them.
    if (secText === lastSecText) {
      secMs = lastSecMs;
      iso = lastSecIso;
    } else {
      secMs = Date.parse(secText + 'Z');
      if (Number.isNaN(secMs)) return undefined;
      lastSecText = secText;
      lastSecMs = secMs;
      lastSecIso = iso = secText;
    }
  } else {
    secMs = Date.parse(secText + zone);
    if (Number.isNaN(secMs)) return undefined;
    iso = new Date(secMs).toISOString().slice(0, 19);
  }
  return { text, ms: secMs + Number(frac.slice(0, 3)), key: iso + frac };
}

/**
 * Split `<timestamp> <content>` at the start of a payload. Returns the
 * timestamp (undefined when absent or invalid) and where the content starts
 * (0 when there was no valid timestamp: the whole payload is content).
 */
export function splitTimestamp(payload: Buffer): { ts: Timestamp | undefined; start: number } {
  const lim = Math.min(payload.length, MAX_TS);
  for (let i = 19; i < lim; i++) {
    if (payload[i] === 0x20) {
      const ts = parseTimestamp(payload.toString('latin1', 0, i));
      return ts ? { ts, start: i + 1 } : { ts: undefined, start: 0 };
    }
  }
  return { ts: undefined, start: 0 };
}

/** The Engine API `since` value for a timestamp key: "<unix seconds>.<nanoseconds>" (inclusive). */
export function sinceParam(key: string): string {
  const sec = Date.parse(key.slice(0, 19) + 'Z') / 1000;
  return `${sec}.${key.slice(19, 28)}`;
}

// ---------------------------------------------------------------- TTY streams

export interface RawCounters {
  messages: number;
  bytes: number;
  /** Messages whose prefix was not a valid timestamp (their bytes are kept as content). */
  bad_timestamps: number;
}

export interface RawOptions {
  /** One engine message: its timestamp (if valid) and content piece. */
  onMessage(ts: Timestamp | undefined, content: Buffer): void;
  partialBytes?: number;
}

/**
 * Splits a raw (TTY) log stream requested with timestamps into engine
 * messages. A message ends after `\n`, or after exactly `partialBytes` of
 * content (the engine's partial-line split), in which case the next message
 * continues the same line and starts with its own timestamp. When what
 * follows a split is not a timestamp the bytes are simply more content.
 */
export class RawMessageSplitter {
  readonly counters: RawCounters = { messages: 0, bytes: 0, bad_timestamps: 0 };
  readonly #onMessage: (ts: Timestamp | undefined, content: Buffer) => void;
  readonly #partial: number;
  /** Expecting a timestamp prefix (message start). */
  #atStart = true;
  /** Whether the message start came right after a partial split (a missing timestamp is then not an error). */
  #afterSplit = false;
  /** Bytes of a timestamp prefix split across chunks. */
  #head: Buffer | null = null;
  /** Content bytes so far in the current message. */
  #count = 0;
  #ts: Timestamp | undefined;

  constructor(opts: RawOptions) {
    this.#onMessage = opts.onMessage;
    this.#partial = opts.partialBytes ?? ENGINE_PARTIAL_BYTES;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.#head) {
      buf = Buffer.concat([this.#head, chunk]);
      this.#head = null;
    }
    const n = buf.length;
    let p = 0;
    while (p < n) {
      if (this.#atStart) {
        // Find "<ts> " within MAX_TS bytes.
        let sp = -1;
        const lim = Math.min(n, p + MAX_TS);
        for (let i = p; i < lim; i++) {
          const c = buf[i];
          if (c === 0x20) {
            sp = i;
            break;
          }
          if (c === 0x0a) break;
        }
        if (sp < 0 && lim === n && n - p < MAX_TS && buf.indexOf(0x0a, p) < 0) {
          // Could still become a timestamp: wait for more bytes.
          this.#head = Buffer.from(buf.subarray(p));
          return;
        }
        const ts = sp > p ? parseTimestamp(buf.toString('latin1', p, sp)) : undefined;
        if (ts) {
          this.#ts = ts;
          p = sp + 1;
        } else {
          if (!this.#afterSplit) this.counters.bad_timestamps++;
          this.#ts = undefined;
        }
        this.#atStart = false;
        this.#afterSplit = false;
        this.#count = 0;
        this.counters.messages++;
        continue;
      }
      const room = this.#partial - this.#count;
      const nl = buf.indexOf(0x0a, p);
      if (nl >= 0 && nl - p < room) {
        this.#emit(buf.subarray(p, nl + 1));
        p = nl + 1;
        this.#atStart = true;
        continue;
      }
      const take = Math.min(room, n - p);
      this.#emit(buf.subarray(p, p + take));
      p += take;
      this.#count += take;
      if (this.#count >= this.#partial) {
        this.#atStart = true;
        this.#afterSplit = true;
      }
    }
  }

  /** Stream closed: a pending timestamp-looking head is emitted as content. */
  end(): void {
    if (this.#head) {
      const h = this.#head;
      this.#head = null;
      this.#ts = undefined;
      this.#emit(h);
    }
    this.#atStart = true;
    this.#afterSplit = false;
    this.#count = 0;
  }

  #emit(content: Buffer): void {
    this.counters.bytes += content.length;
    this.#onMessage(this.#ts, content);
  }
}
