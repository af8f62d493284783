/**
 * Bytes -> lines -> records for one file: the line splitter, the optional
 * multiline joiner and the parser, or, when a parse pool works for the
 * source, what a worker needs collected as `items` (the bytes of runs of
 * complete lines, which the worker splits itself, and the lines the splitter
 * had to assemble here across reads) and its result turned into records.
 * Shared with the crash replay (replay.ts), so a replayed batch is rebuilt
 * exactly as it was first built.
 */
import { LineSplitter, splitRegion, type LineInfo } from '../../framing/lines.js';
import { parseLine } from '../../parse/detect.js';
import type { ParseResult } from '../../parse/pool.js';
import type { LogRecord, Origin } from '../../core/record.js';
import type { EncodedBatch } from '../../wire/encoded.js';
import type { FileSourceConfig } from './config.js';
import { MultilineJoiner } from './multiline.js';
import type { FileCounters } from './counters.js';

/**
 * A file record's origin: `path` is the real path of the file read, `link`
 * the symlink a glob matched when the file was reached through one (in
 * Kubernetes the link's name carries pod, namespace and container). Frozen:
 * the serializer caches the JSON of frozen origins, and a parse job carries
 * it as that JSON (source.ts), so every writer renders the same origin.
 */
export function fileOrigin(path: string, link?: string): Origin {
  return Object.freeze(link === undefined ? { kind: 'file', path } : { kind: 'file', path, link });
}

/**
 * Bytes -> lines -> records for one file. Records collect in `out` until the
 * owner takes them as one batch; `outEnd` is the offset just past the last
 * line of the last record in it.
 */
export class RecordBuilder {
  out: LogRecord[] = [];
  outEnd = 0;
  /**
   * Set by the source when a parse pool parses for it: lines then collect in
   * `items` (taken with `takeItems`) instead of being parsed here. Without a
   * multiline joiner, runs of complete lines are collected as bytes (the
   * worker splits them: no decoding here, and bytes cross threads cheaper
   * than strings).
   */
  deferParse = false;
  /** Smaller runs of lines are split here as usual (a live trickle is parsed inline anyway: no copy for it). */
  regionMinBytes = 0;
  items: (string | Buffer)[] = [];
  /** Text in `items`: string lengths plus byte counts. */
  itemsSize = 0;
  #itemsNow = 0;
  readonly #cfg: FileSourceConfig;
  readonly #counters: FileCounters;
  readonly #splitter: LineSplitter;
  readonly #joiner: MultilineJoiner | null;
  readonly #stream: string;
  #origin: Origin;
  #now = 0;

  constructor(cfg: FileSourceConfig, origin: Origin, counters: FileCounters) {
    this.#cfg = cfg;
    this.#counters = counters;
    this.#stream = cfg.stream ?? cfg.name;
    this.#origin = origin;
    this.#splitter = new LineSplitter({
      maxLineBytes: cfg.max_line_bytes,
      onLine: (line, end, info) => this.#onLine(line, end, info),
      onRegion: (chunk, start, end, endOffset) => this.#onRegion(chunk, start, end, endOffset),
    });
    this.#joiner = cfg.multiline
      ? new MultilineJoiner({
          start: cfg.multiline.start,
          maxLines: cfg.multiline.max_lines,
          onRecord: (text, end) => this.#emit(text, end),
        })
      : null;
  }

  /** Frozen (the serializer caches the JSON of frozen origins): see `fileOrigin`. */
  set origin(origin: Origin) {
    this.#origin = origin;
  }

  get pendingBytes(): number {
    return this.#splitter.pendingBytes;
  }

  get pendingLines(): number {
    return this.#joiner?.pendingLines ?? 0;
  }

  get lastLineAt(): number {
    return this.#joiner?.lastLineAt ?? 0;
  }

  ingest(chunk: Buffer, startOffset: number, now: number): void {
    this.#now = now;
    this.#splitter.push(chunk, startOffset);
  }

  /** Emit the unterminated last line (idle flush, file retired). */
  flushPartial(now: number): boolean {
    this.#now = now;
    return this.#splitter.flushPartial();
  }

  /** Emit the pending multiline record. */
  flushMultiline(now: number): boolean {
    this.#now = now;
    return this.#joiner?.flush() ?? false;
  }

  /** Take what was collected for a parse worker, with the time and origin its records get. */
  takeItems(): { items: (string | Buffer)[]; now: number; origin: Origin } {
    const t = this.items;
    this.items = [];
    this.itemsSize = 0;
    return { items: t, now: this.#itemsNow, origin: this.#origin };
  }

  /** The encoded batch of items taken with `takeItems`, from a parse worker's result. */
  fromWorker(res: ParseResult, now: number, origin: Origin, digits: number): EncodedBatch {
    const c = this.#counters;
    c.lines += res.split.lines;
    c.truncated += res.split.truncated;
    c.repaired += res.split.repaired;
    c.native_lines += res.native.lines;
    c.native_bailed += res.native.bailed;
    const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length);
    return { kind: 'encoded', buf, ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits, received: now, source: this.#cfg.name, stream: this.#stream, origin };
  }

  /** Records of items taken with `takeItems`, split and parsed here (a small batch, or no worker could). */
  parseHere(items: (string | Buffer)[], now: number, origin: Origin): LogRecord[] {
    const out: LogRecord[] = [];
    const c = this.#counters;
    for (const it of items) {
      if (typeof it === 'string') out.push(this.#record(it, now, origin));
      else {
        const n = splitRegion(it, this.#cfg.max_line_bytes, (line) => out.push(this.#record(line, now, origin)));
        c.lines += n.lines;
        c.truncated += n.truncated;
        c.repaired += n.repaired;
      }
    }
    return out;
  }

  /** Take the records built so far (one batch). */
  take(): LogRecord[] {
    const b = this.out;
    this.out = [];
    return b;
  }

  /** Forget partial state (the file was truncated). */
  reset(): void {
    this.#splitter.reset();
    this.#joiner?.reset();
    this.out = [];
    this.items = [];
    this.itemsSize = 0;
  }

  #onRegion(chunk: Buffer, start: number, end: number, endOffset: number): boolean {
    if (!this.deferParse || this.#joiner !== null || end - start < this.regionMinBytes) return false;
    // In shared memory (the tailer reads big chunks into it, else copied there): posting it to a
    // parse worker copies nothing, and the bytes stay here for parsing inline if no worker can.
    let bytes: Buffer;
    if (chunk.buffer instanceof SharedArrayBuffer) bytes = chunk.subarray(start, end);
    else {
      bytes = Buffer.from(new SharedArrayBuffer(end - start));
      chunk.copy(bytes, 0, start, end);
    }
    if (this.items.length === 0) this.#itemsNow = this.#now;
    this.items.push(bytes);
    this.itemsSize += bytes.length;
    this.outEnd = endOffset;
    return true;
  }

  #onLine(line: string, end: number, info: LineInfo): void {
    const c = this.#counters;
    c.lines++;
    if (info.truncated) c.truncated++;
    if (info.repaired) c.repaired++;
    if (this.#joiner) this.#joiner.push(line, end, this.#now);
    else this.#emit(line, end);
  }

  #emit(text: string, end: number): void {
    if (this.deferParse) {
      if (this.items.length === 0) this.#itemsNow = this.#now;
      this.items.push(text);
      this.itemsSize += text.length;
    } else this.out.push(this.#record(text, this.#now, this.#origin));
    this.outEnd = end;
  }

  #record(text: string, now: number, origin: Origin): LogRecord {
    const p = parseLine(text, this.#cfg.format, now);
    return {
      seq: 0,
      time: p.time ?? now,
      received: now,
      source: this.#cfg.name,
      stream: this.#stream,
      origin,
      host: p.host,
      app: p.app,
      level: p.level,
      message: p.message,
      fields: p.fields,
    };
  }
}
