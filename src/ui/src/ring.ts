/**
 * The live tail's lines: a bounded ring (the newest `capacity`, oldest
 * dropped) in parallel arrays rather than an object per line, so 100,000
 * lines cost their JSON strings and little else, and the garbage collector
 * has few objects to trace. Rows are addressed by absolute index (`start`
 * grows as old lines drop), so a view can tell how far the list moved under
 * it. A line is a record (its SSE data, parsed only when shown) or a marker
 * (a gap, a reconnect).
 */

export const LINE = 0;
export const GAP = 1;
export const NOTE = 2;
export type LineKind = typeof LINE | typeof GAP | typeof NOTE;

export class LineRing {
  readonly capacity: number;
  #seq: Float64Array;
  #kind: Uint8Array;
  #data: (string | undefined)[];
  #head = 0; // slot of the oldest
  #size = 0;
  /** Absolute index of the oldest line kept. */
  start = 0;
  /** The seq of the newest record pushed (markers excluded); 0 before any. */
  lastSeq = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#seq = new Float64Array(capacity);
    this.#kind = new Uint8Array(capacity);
    this.#data = new Array<string | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Absolute index one past the newest line. */
  get end(): number {
    return this.start + this.#size;
  }

  push(kind: LineKind, seq: number, data: string): void {
    let slot: number;
    if (this.#size === this.capacity) {
      slot = this.#head;
      this.#head = (this.#head + 1) % this.capacity;
      this.start++;
    } else {
      slot = (this.#head + this.#size) % this.capacity;
      this.#size++;
    }
    this.#seq[slot] = seq;
    this.#kind[slot] = kind;
    this.#data[slot] = data;
    if (kind === LINE && seq > this.lastSeq) this.lastSeq = seq;
  }

  #slot(abs: number): number {
    return (this.#head + (abs - this.start)) % this.capacity;
  }

  has(abs: number): boolean {
    return abs >= this.start && abs < this.end;
  }

  seqAt(abs: number): number {
    return this.#seq[this.#slot(abs)]!;
  }

  kindAt(abs: number): LineKind {
    return this.#kind[this.#slot(abs)] as LineKind;
  }

  dataAt(abs: number): string {
    return this.#data[this.#slot(abs)]!;
  }

  /** Absolute index of the record with this seq, or -1 (binary search: seqs only grow). */
  indexOfSeq(seq: number): number {
    let lo = this.start;
    let hi = this.end - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      // markers carry the seq of the record before them: step to a record
      const s = this.seqAt(mid);
      if (s < seq) lo = mid + 1;
      else if (s > seq) hi = mid - 1;
      else {
        for (let i = mid; i >= this.start && this.seqAt(i) === seq; i--) if (this.kindAt(i) === LINE) return i;
        for (let i = mid; i < this.end && this.seqAt(i) === seq; i++) if (this.kindAt(i) === LINE) return i;
        return -1;
      }
    }
    return -1;
  }

  clear(): void {
    this.#head = 0;
    this.#size = 0;
    this.start = 0;
    this.lastSeq = 0;
    this.#data.fill(undefined);
  }
}
