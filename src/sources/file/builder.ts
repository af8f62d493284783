/**
 * Bytes -> lines for one file: the line splitter and the optional multiline
 * joiner. Lines collect as a raw batch for the parse stage
 * (src/parse/stage.ts): the bytes of runs of complete lines (a parse thread
 * splits them itself), and the lines the splitter had to assemble here
 * across reads or the joiner built. Nothing is parsed here. Shared with the
 * crash replay (replay.ts), so a replayed batch is rebuilt exactly as it was
 * first built.
 */
import { give } from '../../parse/shared-buffers.js';
import { LineSplitter, type LineInfo } from '../../framing/lines.js';
import type { Origin } from '../../core/record.js';
import type { RawBatch } from '../../parse/batch.js';
import type { FileSourceConfig } from './config.js';
import { MultilineJoiner } from './multiline.js';
import { multilineStates } from './multiline-presets.js';
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
 * Bytes -> lines for one file. Lines collect in `items` until the owner
 * takes them as one raw batch (`takeItems`); `outEnd` is the offset just
 * past the last line in it.
 */
export class RecordBuilder {
  outEnd = 0;
  /**
   * Runs of complete lines at least this long are kept as bytes (in shared
   * memory, for a parse thread); shorter ones are split here (a live trickle
   * is parsed inline anyway: no copy for it).
   */
  regionMinBytes = 0;
  items: (string | Buffer)[] = [];
  /** Text in `items`: string lengths plus byte counts. */
  itemsSize = 0;
  /** Pooled read buffers (parse/shared-buffers.ts) that items are views of: the batch's `shared`, given back once it is committed. */
  #shared: Buffer[] = [];
  /** The last ingest's run of lines was kept as a view of its chunk. */
  #viewed = false;
  #itemsNow = 0;
  readonly #counters: FileCounters;
  readonly #splitter: LineSplitter;
  readonly #joiner: MultilineJoiner | null;
  #origin: Origin;
  #now = 0;

  constructor(cfg: FileSourceConfig, origin: Origin, counters: FileCounters) {
    this.#counters = counters;
    this.#origin = origin;
    this.#splitter = new LineSplitter({
      maxLineBytes: cfg.max_line_bytes,
      onLine: (line, end, info) => this.#onLine(line, end, info),
      onRegion: (chunk, start, end, endOffset) => this.#onRegion(chunk, start, end, endOffset),
    });
    this.#joiner = cfg.multiline
      ? new MultilineJoiner({
          states: multilineStates(cfg.multiline),
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

  /**
   * Split `chunk`. With `pooled` (the whole buffer from parse/shared-buffers.ts the chunk is a
   * view of): it goes with the batch when its run of lines was kept as a view of it, else back
   * to the pool at once (what was kept of it was copied: strings, a partial line).
   */
  ingest(chunk: Buffer, startOffset: number, now: number, pooled?: Buffer): void {
    this.#now = now;
    this.#viewed = false;
    this.#splitter.push(chunk, startOffset);
    if (pooled === undefined) return;
    if (this.#viewed) this.#shared.push(pooled);
    else give(pooled);
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

  /** Take what was collected as one raw batch, with the time and origin its records get. */
  takeItems(): RawBatch {
    const raw: RawBatch = { items: this.items, size: this.itemsSize, now: this.#itemsNow, origin: this.#origin };
    if (this.#shared.length > 0) {
      raw.shared = this.#shared;
      this.#shared = [];
    }
    this.items = [];
    this.itemsSize = 0;
    return raw;
  }

  /** Forget partial state (the file was truncated). */
  reset(): void {
    this.#splitter.reset();
    this.#joiner?.reset();
    this.items = [];
    this.itemsSize = 0;
    // dropped with the items (never posted): the collector has them
    this.#shared = [];
  }

  #onRegion(chunk: Buffer, start: number, end: number, endOffset: number): boolean {
    if (this.#joiner !== null || end - start < this.regionMinBytes) return false;
    // In shared memory (the tailer reads big chunks into it, else copied there): posting it to a
    // parse thread copies nothing, and the bytes stay here for parsing inline if no thread can.
    let bytes: Buffer;
    if (chunk.buffer instanceof SharedArrayBuffer) {
      bytes = chunk.subarray(start, end);
      this.#viewed = true;
    } else {
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
    if (this.items.length === 0) this.#itemsNow = this.#now;
    this.items.push(text);
    this.itemsSize += text.length;
    this.outEnd = end;
  }
}
