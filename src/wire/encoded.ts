/**
 * A batch of records already in wire form (a parse thread's output, or the
 * native writer's): the typed batch the hub accepts without serializing
 * anything. Records lie in `buf` one after the other; see `digits` for the
 * layout. `recordsOf` gives the durable stages (rules, store) records that
 * decode what they read from these bytes on first use.
 */
import { levelOfCode, type Level, type LogRecord, type Origin } from '../core/record.js';
import { holdBytes } from './seq.js';

export interface EncodedBatch {
  readonly kind: 'encoded';
  /** The records' bytes. */
  buf: Buffer;
  /**
   * Record i's wire JSON after `{"seq":N` ends at ends[i]. With digits 0 it
   * starts at ends[i-1] (or 0): tails back to back. With digits D > 0 each
   * record is laid out whole: `{"seq":` and D reserved digit bytes (from
   * ends[i-1] + 1, or 0), its tail, and a '\n' at ends[i] (seq.ts).
   */
  ends: Uint32Array;
  /** msg[2i], msg[2i+1]: record i's message as a JSON string literal (quotes included), in buf. */
  msg: Uint32Array;
  times: Float64Array;
  /** core/record.ts LEVEL_CODE. */
  levels: Uint8Array;
  digits: number;
  received: number;
  source: string;
  stream: string;
  origin: Origin;
  /** When the records' origins differ: record i's is origins[originIdx[i]]. */
  origins?: Origin[];
  originIdx?: Uint8Array;
  /**
   * When each record may have an origin of its own (ingested records that
   * carry their sender's in `origin.from`): `origin` is only the common part,
   * a record's own is read from its bytes when asked.
   */
  originsInWire?: boolean;
}

/** What a source pushes: records, or records already encoded. */
export type Batch = LogRecord[] | EncodedBatch;

export function isEncoded(b: Batch): b is EncodedBatch {
  return !Array.isArray(b);
}

export function batchLength(b: Batch): number {
  return Array.isArray(b) ? b.length : b.ends.length;
}

/** The stream of a batch's first record. */
export function batchStream(b: Batch): string | undefined {
  return Array.isArray(b) ? b[0]?.stream : b.stream;
}

/** Where record i starts in `b.buf`: its `{"seq":` (digits > 0) or its tail (digits 0). */
export function recordStart(b: EncodedBatch, i: number): number {
  return i === 0 ? 0 : b.digits > 0 ? b.ends[i - 1]! + 1 : b.ends[i - 1]!;
}

/** Where record i's tail (the wire JSON after `{"seq":N`) starts. */
export function tailStart(b: EncodedBatch, i: number): number {
  return recordStart(b, i) + holdBytes(b.digits);
}

interface Rest {
  fields: Record<string, unknown>;
  host?: string;
  app?: string;
  origin: Origin;
}

/**
 * A record of an encoded batch as the durable stages see it: routing values
 * at hand, `message` and the rest decoded from the bytes when first read
 * (the rule engine reads `message`; with no rules nothing is decoded). It
 * lives as long as a stage's queue holds it, never in a ring.
 */
class EncodedRecord implements LogRecord {
  #msg: string | undefined;
  #rest: Rest | undefined;
  /** undefined: the record's own, read from its bytes (EncodedBatch.originsInWire). */
  #origin: Origin | undefined;
  constructor(
    public seq: number,
    public time: number,
    readonly received: number,
    readonly source: string,
    readonly stream: string,
    origin: Origin | undefined,
    public level: Level | undefined,
    readonly buf: Buffer,
    public start: number,
    public end: number,
    public msgStart: number,
    public msgEnd: number,
  ) {
    this.#origin = origin;
  }

  /** Become record i of b (cursorOf): what was decoded of the one before is forgotten. */
  moveTo(b: EncodedBatch, i: number, seq: number): void {
    this.seq = seq;
    this.time = b.times[i]!;
    this.level = levelOfCode(b.levels[i]!);
    this.#origin = originOf(b, i);
    this.start = tailStart(b, i);
    this.end = b.ends[i]!;
    this.msgStart = b.msg[2 * i]!;
    this.msgEnd = b.msg[2 * i + 1]!;
    this.#msg = undefined;
    this.#rest = undefined;
  }

  get origin(): Origin {
    return this.#origin ?? this.#decode().origin;
  }
  get message(): string {
    return (this.#msg ??= JSON.parse(this.buf.toString('utf8', this.msgStart, this.msgEnd)) as string);
  }
  get fields(): Record<string, unknown> {
    return this.#decode().fields;
  }
  get host(): string | undefined {
    return this.#decode().host;
  }
  get app(): string | undefined {
    return this.#decode().app;
  }
  #decode(): Rest {
    if (this.#rest === undefined) {
      const r = JSON.parse('{"seq":0' + this.buf.toString('utf8', this.start, this.end)) as Rest;
      this.#rest = { fields: r.fields, host: r.host, app: r.app, origin: r.origin };
    }
    return this.#rest;
  }
}

function originOf(b: EncodedBatch, i: number): Origin | undefined {
  return b.originsInWire === true ? undefined : b.originIdx !== undefined ? b.origins![b.originIdx[i]!]! : b.origin;
}

/** The records of `b`, with the seqs first, first+1, ... */
export function recordsOf(b: EncodedBatch, first: number): LogRecord[] {
  const n = b.ends.length;
  const out = new Array<LogRecord>(n);
  for (let i = 0; i < n; i++) {
    out[i] = new EncodedRecord(first + i, b.times[i]!, b.received, b.source, b.stream, originOf(b, i), levelOfCode(b.levels[i]!), b.buf, tailStart(b, i), b.ends[i]!, b.msg[2 * i]!, b.msg[2 * i + 1]!);
  }
  return out;
}

/**
 * Record i of `b` (seq first + i) through one view that each call re-points:
 * nothing is allocated per record. For a pass that reads each record while
 * it has it and keeps none (the stateful transforms at commit, which keep
 * keys and values, never the record): the view of an earlier call is the
 * later record.
 */
export function cursorOf(b: EncodedBatch, first: number): (i: number) => LogRecord {
  let view: EncodedRecord | undefined;
  return (i) => {
    if (view === undefined) view = new EncodedRecord(first + i, b.times[i]!, b.received, b.source, b.stream, originOf(b, i), levelOfCode(b.levels[i]!), b.buf, tailStart(b, i), b.ends[i]!, b.msg[2 * i]!, b.msg[2 * i + 1]!);
    else view.moveTo(b, i, first + i);
    return view;
  };
}

/**
 * The records of `b` whose `keep[i]` is not 0, as a batch of the same layout
 * (a stateful transform dropped the others at commit; the bytes of the kept
 * ones are copied once, no record is re-serialized). `b` itself when all are kept.
 */
export function filterEncoded(b: EncodedBatch, keep: Uint8Array): EncodedBatch {
  const n = b.ends.length;
  let kept = 0;
  for (let i = 0; i < n; i++) if (keep[i] !== 0) kept++;
  if (kept === n) return b;
  // record i spans [recordStart(i), end(i)): its '\n' included when laid out whole
  const nl = b.digits > 0 ? 1 : 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) if (keep[i] !== 0) bytes += b.ends[i]! + nl - recordStart(b, i);
  const buf = Buffer.allocUnsafeSlow(bytes);
  const ends = new Uint32Array(kept);
  const msg = new Uint32Array(2 * kept);
  const times = new Float64Array(kept);
  const levels = new Uint8Array(kept);
  const originIdx = b.originIdx !== undefined ? new Uint8Array(kept) : undefined;
  let off = 0;
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (keep[i] === 0) continue;
    const start = recordStart(b, i);
    const end = b.ends[i]! + nl;
    b.buf.copy(buf, off, start, end);
    const shift = off - start;
    ends[j] = b.ends[i]! + shift;
    msg[2 * j] = b.msg[2 * i]! + shift;
    msg[2 * j + 1] = b.msg[2 * i + 1]! + shift;
    times[j] = b.times[i]!;
    levels[j] = b.levels[i]!;
    if (originIdx !== undefined) originIdx[j] = b.originIdx![i]!;
    off += end - start;
    j++;
  }
  return { ...b, buf, ends, msg, times, levels, ...(originIdx !== undefined ? { originIdx } : {}) };
}

/**
 * Where a record of an encoded batch keeps its wire JSON after `{"seq":N`
 * (what recordsOf gave a durable stage): a writer of whole records (the
 * forward sink) copies these bytes instead of decoding and re-serializing.
 * Undefined for a plain record.
 */
export function encodedTail(r: LogRecord): { buf: Buffer; start: number; end: number } | undefined {
  return r instanceof EncodedRecord ? { buf: r.buf, start: r.start, end: r.end } : undefined;
}

/** Where messageLiteral puts a message's bytes (one reused object, nothing allocated per record). */
export interface Span {
  buf: Buffer;
  from: number;
  to: number;
}

/**
 * A record of an encoded batch: its message's JSON string literal, quotes
 * left out, set into `span` (nothing decoded), and the answer is true. False
 * for any other record: read `message`.
 */
export function messageLiteral(r: LogRecord, span: Span): boolean {
  if (!(r instanceof EncodedRecord)) return false;
  span.buf = r.buf;
  span.from = r.msgStart + 1;
  span.to = r.msgEnd - 1;
  return true;
}
