/**
 * A parse thread's output being written: the records' wire bytes in one
 * buffer (each with room for its seq, see ParseJob.seqDigits) and the
 * per-record values the main thread routes on. The JS writer of a record
 * is `put`; the native writer fills the same arrays (worker.ts).
 */
import { parseLine, type Format } from './detect.js';
import { utf8Write } from '../wire/utf8.js';
import { LEVEL_CODE, type ParsedLine } from '../core/record.js';
import { SEQ_KEY } from '../wire/seq.js';
import { fieldsTail, headWith } from '../wire/json.js';
import type { ParseJob } from './pool.js';

export class Out {
  buf: Buffer;
  off = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }
  /** Write `s`, return the bytes written. */
  write(s: string): number {
    // worst case 3 bytes per UTF-16 unit
    if (this.off + s.length * 3 > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.off + s.length * 3));
      this.buf.copy(bigger, 0, 0, this.off);
      this.buf = bigger;
    }
    const n = utf8Write(this.buf, s, this.off);
    this.off += n;
    return n;
  }
  /** At least `n` free bytes after off. */
  reserve(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }
}

/** One job's output: the records' bytes and the per-record values the main thread routes on. */
export class Records {
  readonly out: Out;
  ends: Uint32Array;
  msg: Uint32Array;
  times: Float64Array;
  levels: Uint8Array;
  /** Records written so far. */
  i = 0;
  unserializable = 0;
  #mid!: string;
  #hold!: string;
  #holdBytes!: Buffer;
  #nl!: string;
  #now!: number;
  #format!: Format;

  /** `outBytes`: the output buffer's size when the caller knows it (else guessed from `bytes` of text). */
  constructor(job: ParseJob, mid: string, lines: number, bytes: number, outBytes?: number) {
    this.#init(job, mid);
    this.out = new Out(outBytes ?? this.#guess(mid, lines, bytes));
    this.ends = new Uint32Array(lines);
    this.msg = new Uint32Array(2 * lines);
    this.times = new Float64Array(lines);
    this.levels = new Uint8Array(lines);
  }

  /**
   * Records for a job whose output this thread reads and drops (a gated
   * job's first pass: parse/gated.ts copies what it keeps into records of
   * its own): `prev`'s buffer and arrays are written over when they are big
   * enough. Each buffer a thread allocates and hands over is external memory
   * its isolate counts until a full GC, and a second buffer per batch had
   * doubled the parse threads' full GCs.
   */
  static reuse(prev: Records | undefined, job: ParseJob, mid: string, lines: number, bytes: number): Records {
    if (prev === undefined) return new Records(job, mid, lines, bytes);
    prev.#init(job, mid);
    prev.i = 0;
    prev.unserializable = 0;
    prev.out.off = 0;
    prev.out.reserve(prev.#guess(mid, lines, bytes));
    if (prev.ends.length < lines) {
      prev.ends = new Uint32Array(lines);
      prev.msg = new Uint32Array(2 * lines);
      prev.times = new Float64Array(lines);
      prev.levels = new Uint8Array(lines);
    }
    return prev;
  }

  #init(job: ParseJob, mid: string): void {
    this.#mid = mid;
    // whole records with room for their seq (see ParseJob.seqDigits), or tails only
    this.#hold = job.seqDigits > 0 ? SEQ_KEY + '0'.repeat(job.seqDigits) : '';
    this.#holdBytes = Buffer.from(this.#hold, 'latin1');
    this.#nl = this.#hold === '' ? '' : '\n';
    this.#now = job.now;
    this.#format = job.format;
  }

  /**
   * A record is its line (plus escapes), the middle segment and ~100 bytes of keys, time and level:
   * a guess close enough that the buffer rarely grows and is rarely trimmed (either is a copy).
   */
  #guess(mid: string, lines: number, bytes: number): number {
    return 256 + Math.ceil(bytes * 1.2) + lines * (mid.length + 112 + this.#hold.length + 1);
  }

  /** Room for `more` records (the native writer found the count short). */
  growLines(more: number): void {
    const n = this.ends.length + Math.max(more, this.ends.length);
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, m: T): T => {
      m.set(a);
      return m;
    };
    this.ends = grow(this.ends, new Uint32Array(n));
    this.msg = grow(this.msg, new Uint32Array(2 * n));
    this.times = grow(this.times, new Float64Array(n));
    this.levels = grow(this.levels, new Uint8Array(n));
  }

  /**
   * Room for a record whose tail (the bytes after its seq) the caller
   * copies in itself (a relayed wire record: sources/records/relay.ts):
   * the seq's room is written, and the tail goes at the offset returned,
   * `tail` bytes long; closeRaw ends the record.
   */
  openRaw(tail: number): number {
    const out = this.out;
    const hold = this.#holdBytes;
    out.reserve(hold.length + tail + 1);
    for (let k = 0; k < hold.length; k++) out.buf[out.off + k] = hold[k]!;
    return out.off + hold.length;
  }

  /** End the record openRaw began: its message's place in the buffer, its time and its level's code. */
  closeRaw(tail: number, msgFrom: number, msgTo: number, time: number, level: number): void {
    const i = this.i;
    if (i >= this.ends.length) this.growLines(1);
    const out = this.out;
    out.off += this.#holdBytes.length + tail;
    this.ends[i] = out.off;
    if (this.#nl !== '') out.buf[out.off++] = 10;
    this.msg[2 * i] = msgFrom;
    this.msg[2 * i + 1] = msgTo;
    this.times[i] = time;
    this.levels[i] = level;
    this.i = i + 1;
  }

  /** Parse and write one line in JS; `forced`: its time when the source knows it (RawBatch.times); `mid`: its origin's segment when not the job's. */
  add(line: string, forced?: number, mid = this.#mid): void {
    const p = parseLine(line, this.#format, this.#now);
    this.put(p, forced ?? p.time ?? this.#now, mid);
  }

  /** Write one parsed record (a line's parse, or a record a transform changed) at `time`. */
  put(p: ParsedLine, time: number, mid = this.#mid): void {
    const i = this.i;
    if (i >= this.ends.length) this.growLines(1);
    const now = this.#now;
    const hold = this.#hold;
    const nl = this.#nl;
    const out = this.out;
    let head: string, lit: string, rest: string;
    try {
      head = headWith(mid, time, p.host, p.app, p.level);
      lit = JSON.stringify(p.message);
      rest = fieldsTail(p.fields);
    } catch {
      // as the hub does: a record that cannot be serialized keeps its message, loses its fields
      this.unserializable++;
      time = Number.isFinite(time) ? time : now;
      head = headWith(mid, time, p.host, p.app, p.level);
      lit = JSON.stringify(String(p.message));
      rest = fieldsTail({});
    }
    // One write for the record; when it was all ASCII (bytes = UTF-16 units, the common case)
    // the message's place follows from the string lengths, else it is measured.
    const at = out.off + hold.length;
    const whole = hold + head + lit + rest + nl;
    const msg = this.msg;
    if (out.write(whole) === whole.length) {
      msg[2 * i] = at + head.length;
      msg[2 * i + 1] = at + head.length + lit.length;
    } else {
      const h = Buffer.byteLength(head, 'utf8');
      msg[2 * i] = at + h;
      msg[2 * i + 1] = at + h + Buffer.byteLength(lit, 'utf8');
    }
    this.ends[i] = out.off - nl.length;
    this.times[i] = time;
    this.levels[i] = p.level === undefined ? 0 : LEVEL_CODE.get(p.level)!;
    this.i = i + 1;
  }
}

