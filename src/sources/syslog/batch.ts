/**
 * Frames of one read (or of one turn of UDP datagrams) into one raw batch
 * for the parse stage. Frames are copied into a run of LF-terminated lines
 * (a Uint8Array item: a parse thread splits it and the native fast path
 * renders RFC 5424/3164 straight from it); a frame that cannot be one line
 * (an octet-counted message with a newline inside, or an oversize head with
 * its truncation marker) is its own string item, in order.
 *
 * What the parse stage cannot tell a source, this counts per frame: a frame
 * that is not syslog (no valid `<PRI>` and no RFC 3164 timestamp header:
 * parsed as plain text, counted `parse_error`) and invalid UTF-8 (repaired to
 * U+FFFD by the stage, counted `invalid_utf8`). The check costs one byte test
 * per frame; only frames without a PRI are decoded here.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import type { Origin } from '../../core/record.js';
import { TRUNCATED_MARKER } from '../../framing/lines.js';
import type { RawBatch } from '../../parse/batch.js';
import { give, take } from '../../parse/shared-buffers.js';
import { parseSyslog3164 } from '../../parse/syslog3164.js';
import type { Reason } from './counters.js';

const LF = 10;
const MIN_RUN = 16 * 1024;

/** `<PRI>` at buf[s] with PRI 0..191, 1-3 digits, no leading zero (syslog-common.ts scanPri, on bytes). */
export function hasPri(buf: Uint8Array, s: number, e: number): boolean {
  if (buf[s] !== 60) return false;
  let v = 0;
  let i = s + 1;
  for (; i < s + 5 && i < e; i++) {
    const c = buf[i]!;
    if (c === 62) break;
    const d = c - 48;
    if (!(d >= 0 && d <= 9)) return false;
    v = v * 10 + d;
  }
  return i > s + 1 && i < s + 5 && i < e && buf[i] === 62 && v <= 191 && !(i > s + 2 && buf[s + 1] === 48);
}

export interface SyslogBatchOptions {
  /** Count frames that are not syslog (the source parses as syslog). */
  checkSyslog: boolean;
  /** A bad-input event of this batch's listener. */
  bad(reason: Reason, n: number): void;
}

export class SyslogBatch {
  readonly #opts: SyslogBatchOptions;
  #items: (string | Uint8Array)[] = [];
  #size = 0;
  #frames = 0;
  #run: Buffer | null = null;
  /** Whole pooled buffers of runs that became items since the last take (raw.shared: given back at commit). */
  #shared: Buffer[] = [];
  /** Frames of a stable buffer not copied yet: buf[#pStart, #pEnd) (LF-separated inside). */
  #pBuf: Buffer | null = null;
  #pStart = 0;
  #pEnd = 0;
  #runLen = 0;
  /** The size a new run starts at: the last run's length, rounded up to a power of two. */
  #runCap = MIN_RUN;

  constructor(opts: SyslogBatchOptions) {
    this.#opts = opts;
  }

  /** Frames added since the last take. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes added since the last take (about the text size of the batch). */
  get size(): number {
    return this.#size + this.#runLen + (this.#pBuf === null ? 0 : this.#pEnd - this.#pStart + 1);
  }

  /**
   * Add a frame buf[s, e) (a decoder's onFrame); `octet`: it may contain LF.
   * `stable`: buf stays valid until `settle()` (a pushed chunk): consecutive
   * frames of it separated by one LF are copied in one piece at the next
   * settle (Buffer#copy per frame was most of the framing cost: ~1 us each).
   */
  frame(buf: Buffer, s: number, e: number, truncated: boolean, octet: boolean, stable = false): void {
    this.#frames++;
    if (this.#opts.checkSyslog && !hasPri(buf, s, e) && parseSyslog3164(buf.toString('utf8', s, e)) === undefined) this.#opts.bad('parse_error', 1);
    if (truncated || (octet && buf.subarray(s, e).indexOf(LF) !== -1)) {
      const bytes = buf.subarray(s, e);
      if (!isAscii(bytes) && !isUtf8(bytes)) this.#opts.bad('invalid_utf8', 1);
      this.#endRun();
      const text = buf.toString('utf8', s, e) + (truncated ? TRUNCATED_MARKER : '');
      this.#items.push(text);
      this.#size += text.length;
      return;
    }
    if (this.#pBuf === buf && s === this.#pEnd + 1 && buf[this.#pEnd] === LF) {
      this.#pEnd = e;
      return;
    }
    this.settle();
    if (stable) {
      this.#pBuf = buf;
      this.#pStart = s;
      this.#pEnd = e;
      return;
    }
    this.#copy(buf, s, e);
  }

  /** Copy the pending run of frames (call before the buffer they lie in changes). */
  settle(): void {
    const b = this.#pBuf;
    if (b === null) return;
    this.#pBuf = null;
    this.#copy(b, this.#pStart, this.#pEnd);
  }

  /** buf[s, e) and a LF onto the run. */
  #copy(buf: Buffer, s: number, e: number): void {
    const n = e - s;
    let run = this.#run;
    if (run === null || this.#runLen + n + 1 > run.length) run = this.#grow(n + 1);
    // TypedArray#set: Buffer#copy makes a view per call on top
    run.set(s === 0 && e === buf.length ? buf : buf.subarray(s, e), this.#runLen);
    run[this.#runLen + n] = LF;
    this.#runLen += n + 1;
  }

  /**
   * The run, with at least `min` bytes free after `runLength`, for a native
   * reader to append LF-terminated frames to in place (then `appended`).
   */
  runFor(min: number): Buffer {
    this.settle();
    const run = this.#run;
    if (run === null || this.#runLen + min > run.length) return this.#grow(min);
    return run;
  }

  /** Bytes in the run so far. */
  get runLength(): number {
    return this.#runLen;
  }

  /** `bytes` of `frames` LF-terminated frames were written into the run at runLength (their syslog check is the writer's). */
  appended(bytes: number, frames: number): void {
    this.#runLen += bytes;
    this.#frames += frames;
  }

  #grow(more: number): Buffer {
    // a new run starts at the size the last one ended at (a fresh shared buffer is zeroed: one of the
    // largest batch ever gathered, for every 64 KiB read after it, had cost 8 % of the main thread)
    let cap = this.#run === null ? this.#runCap : this.#run.length;
    while (cap < this.#runLen + more) cap *= 2;
    // shared memory: a run handed to a parse thread is shared with it, not copied (a copy of each run
    // was a fifth of the main thread's time at 400k lines/s); a run is never written once it is an item.
    // From the pool: a new SharedArrayBuffer per run cost 28 us at 64 KiB (parse/shared-buffers.ts).
    const next = take(cap);
    const old = this.#run;
    if (old !== null) {
      if (this.#runLen > 0) old.copy(next, 0, 0, this.#runLen);
      give(old); // never an item: only this batch knew it
    }
    this.#run = next;
    return next;
  }

  /** The run so far becomes an item (its frames' UTF-8 checked in one pass). */
  #endRun(): void {
    this.settle();
    if (this.#run === null || this.#runLen === 0) return;
    const run = this.#run.subarray(0, this.#runLen);
    if (!isAscii(run) && !isUtf8(run)) this.#opts.bad('invalid_utf8', countInvalidLines(run));
    this.#items.push(run);
    this.#shared.push(this.#run);
    this.#size += run.length;
    let cap = MIN_RUN;
    while (cap < this.#runLen) cap *= 2;
    this.#runCap = cap;
    this.#run = null;
    this.#runLen = 0;
  }

  /** The batch of the frames added since the last take (undefined when none). */
  take(now: number, origin: Origin): RawBatch | undefined {
    this.#endRun();
    if (this.#items.length === 0) return undefined;
    const raw: RawBatch = { items: this.#items, size: this.#size, now, origin };
    if (this.#shared.length > 0) {
      raw.shared = this.#shared;
      this.#shared = [];
    }
    this.#items = [];
    this.#size = 0;
    this.#frames = 0;
    return raw;
  }

  /** Forget what was added (a UDP batch that cannot be handed over); returns the frames dropped. */
  discard(): number {
    const n = this.#frames;
    this.#pBuf = null;
    // nothing was handed over: the runs go back (the current one is kept for the next frames)
    for (const b of this.#shared) give(b);
    this.#shared = [];
    this.#items = [];
    this.#size = 0;
    this.#frames = 0;
    this.#runLen = 0;
    return n;
  }
}

/** Lines of an LF-terminated run that are not valid UTF-8 (only called when the run as a whole is not). */
function countInvalidLines(run: Buffer): number {
  let n = 0;
  let s = 0;
  while (s < run.length) {
    const e = run.indexOf(LF, s);
    const line = run.subarray(s, e);
    if (!isUtf8(line)) n++;
    s = e + 1;
  }
  return n;
}
