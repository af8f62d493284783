/**
 * Multiline joining for one file: a line matching `start` (RE2) begins a new
 * record, every other line is appended to the current one with "\n" (a Java
 * stack trace becomes one record). The pending record is emitted when the next
 * start line arrives, at `maxLines`, or when the owner calls `flush()` (after
 * the quiet timeout, at stop, when the file is retired). Lines that come
 * before any start line form a record of their own, so every byte of the file
 * belongs to exactly one record and checkpoint offsets stay contiguous.
 */
import RE2 from 're2';

export interface MultilineOptions {
  /** RE2 source (already validated by the config schema) or a compiled RE2. */
  start: string | RE2;
  maxLines: number;
  /** A complete record: its text and the absolute offset just past its last line. */
  onRecord(text: string, endOffset: number, lines: number): void;
}

export class MultilineJoiner {
  readonly #start: RE2;
  readonly #maxLines: number;
  readonly #onRecord: MultilineOptions['onRecord'];
  #parts: string[] = [];
  #end = 0;
  /** When the last line was appended (the owner's clock), for the quiet timeout. */
  lastLineAt = 0;

  constructor(opts: MultilineOptions) {
    this.#start = typeof opts.start === 'string' ? new RE2(opts.start) : opts.start;
    this.#maxLines = Math.max(1, opts.maxLines);
    this.#onRecord = opts.onRecord;
  }

  /** Lines held in the pending record. */
  get pendingLines(): number {
    return this.#parts.length;
  }

  push(line: string, endOffset: number, now: number): void {
    // The start test is skipped when nothing is pending: the line begins a record either way.
    if (this.#parts.length > 0 && this.#start.test(line)) this.flush();
    this.#parts.push(line);
    this.#end = endOffset;
    this.lastLineAt = now;
    if (this.#parts.length >= this.#maxLines) this.flush();
  }

  /** Emit the pending record, if any. */
  flush(): boolean {
    const n = this.#parts.length;
    if (n === 0) return false;
    const text = n === 1 ? this.#parts[0]! : this.#parts.join('\n');
    this.#parts = [];
    this.#onRecord(text, this.#end, n);
    return true;
  }

  /** Forget the pending record (its bytes will be read again). */
  reset(): void {
    this.#parts = [];
  }
}
