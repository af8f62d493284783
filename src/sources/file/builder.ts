/**
 * Bytes -> lines -> records for one file: the line splitter, the optional
 * multiline joiner and the parser, or, when a parse pool works for the
 * source, the lines collected for a worker and its result turned into
 * records. Shared with the crash replay (replay.ts), so a replayed batch is
 * rebuilt exactly as it was first built.
 */
import { LineSplitter, type LineInfo } from '../../framing/lines.js';
import { parseLine } from '../../parse/detect.js';
import type { ParseResult } from '../../parse/pool.js';
import { LEVELS, type LogRecord, type Origin } from '../../core/record.js';
import { WireRecord } from '../../core/wire-record.js';
import type { FileSourceConfig } from './config.js';
import { MultilineJoiner } from './multiline.js';
import type { FileCounters } from './tailer.js';

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
   * `texts` (taken with `takeTexts`) instead of being parsed here.
   */
  deferParse = false;
  texts: string[] = [];
  /** Total length of `texts`. */
  textsChars = 0;
  #textsNow = 0;
  readonly #cfg: FileSourceConfig;
  readonly #counters: FileCounters;
  readonly #splitter: LineSplitter;
  readonly #joiner: MultilineJoiner | null;
  readonly #stream: string;
  #origin: Origin;
  #now = 0;

  constructor(cfg: FileSourceConfig, path: string, counters: FileCounters) {
    this.#cfg = cfg;
    this.#counters = counters;
    this.#stream = cfg.stream ?? cfg.name;
    this.#origin = Object.freeze({ kind: 'file', path });
    this.#splitter = new LineSplitter({
      maxLineBytes: cfg.max_line_bytes,
      onLine: (line, end, info) => this.#onLine(line, end, info),
    });
    this.#joiner = cfg.multiline
      ? new MultilineJoiner({
          start: cfg.multiline.start,
          maxLines: cfg.multiline.max_lines,
          onRecord: (text, end) => this.#emit(text, end),
        })
      : null;
  }

  set path(path: string) {
    this.#origin = Object.freeze({ kind: 'file', path });
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

  /** Take the lines collected for a parse worker, with the time and origin their records get. */
  takeTexts(): { texts: string[]; now: number; origin: Origin } {
    const t = this.texts;
    this.texts = [];
    this.textsChars = 0;
    return { texts: t, now: this.#textsNow, origin: this.#origin };
  }

  /** Records of lines taken with `takeTexts`, from a parse worker's result. */
  fromWorker(res: ParseResult, now: number, origin: Origin): LogRecord[] {
    const n = res.ends.length;
    const out = new Array<LogRecord>(n);
    const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length);
    const { ends, msg, times, levels } = res;
    const source = this.#cfg.name;
    const stream = this.#stream;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = ends[i]!;
      const lv = levels[i]!;
      out[i] = new WireRecord(times[i]!, now, source, stream, origin, lv === 0 ? undefined : LEVELS[lv - 1], { buf, start, end }, msg[2 * i]!, msg[2 * i + 1]!);
      start = end;
    }
    return out;
  }

  /** Records of lines taken with `takeTexts`, parsed here (no worker could). */
  parseHere(texts: string[], now: number, origin: Origin): LogRecord[] {
    const out = new Array<LogRecord>(texts.length);
    for (let i = 0; i < texts.length; i++) out[i] = this.#record(texts[i]!, now, origin);
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
    this.texts = [];
    this.textsChars = 0;
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
      if (this.texts.length === 0) this.#textsNow = this.#now;
      this.texts.push(text);
      this.textsChars += text.length;
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
