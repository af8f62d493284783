/**
 * ReplayRing: the recent records of one stream, bounded by count and by
 * bytes, in seq order, for resume (`Last-Event-ID`, `?since=`) and backfill
 * (`/api/records`). A circular array (no `shift()`), binary search by seq
 * (seqs are increasing but not contiguous within one stream: the counter is
 * per node).
 *
 * Columns, not objects: a record held is a slot in typed arrays (seq, bytes,
 * level, its index in its block) and three references (its block, its
 * source and stream names, shared). The ring makes no object per record:
 * an entry object per record lived as long as the ring kept it (the
 * default 10,000 records, twice: its stream's ring and the all-streams
 * one), long enough at full speed to be promoted and die in the old
 * generation. `at(i)` makes an Entry for whoever asks (backfill, tests);
 * a live client's pump reads the columns (`blockAt`, `idxAt`, `bytesAt`)
 * and filters through `view(i)`, one view re-pointed per call.
 */
import { LEVEL_CODE, levelOfCode, type Level } from '../core/record.js';
import type { Block } from '../wire/block.js';
import { RingEntry, type Entry, type RecordView } from './entry.js';

/** One view per ring, re-pointed at record i by `view(i)`: for filters, which keep nothing. */
class SlotView implements RecordView {
  source = '';
  stream = '';
  level: Level | undefined = undefined;
  block: Block | undefined = undefined;
  idx = 0;

  get message(): string {
    return this.block!.message(this.idx);
  }

  messageBytes(): { buf: Buffer; start: number; end: number } {
    const b = this.block!;
    return { buf: b.nd, start: b.msg[2 * this.idx]!, end: b.msg[2 * this.idx + 1]! };
  }
}

export class ReplayRing {
  /** The columns, allocated at the first push after a resize (empty rings are resized once per stream added at start: 400 streams allocated 400 arrays of up to their total capacity). */
  #blocks: (Block | undefined)[] = [];
  #sources: string[] = [];
  #streams: string[] = [];
  #seqs = new Float64Array(0);
  #sizes = new Float64Array(0);
  #idxs = new Uint32Array(0);
  #levels = new Uint8Array(0);
  #cap: number;
  #head = 0; // slot of the oldest
  #size = 0;
  #bytes = 0;
  #maxBytes: number;
  readonly #view = new SlotView();
  /** Highest seq ever evicted (or known to be lost before this ring existed). */
  evictedUpTo = 0;
  evicted = 0;
  /**
   * Seqs known never to have been handed out (inclusive range): after a
   * crash the counter restarts at its on-disk reservation, above the last
   * seq really used. Not counted as missed.
   */
  holeFrom = 0;
  holeTo = -1;

  constructor(capacity: number, maxBytes: number) {
    this.#cap = Math.max(1, capacity);
    this.#maxBytes = Math.max(1, maxBytes);
  }

  get size(): number {
    return this.#size;
  }
  get bytes(): number {
    return this.#bytes;
  }
  get capacity(): number {
    return this.#cap;
  }
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Change the bounds (memory budget re-split); evicts at once if needed. */
  resize(capacity: number, maxBytes: number): void {
    const entries = this.toArray();
    this.#cap = Math.max(1, capacity);
    this.#allocate(0);
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
    this.#maxBytes = Math.max(1, maxBytes);
    for (const e of entries) this.push(e);
  }

  first(): Entry | undefined {
    return this.#size ? this.at(0) : undefined;
  }
  last(): Entry | undefined {
    return this.#size ? this.at(this.#size - 1) : undefined;
  }
  /** The oldest record's seq (undefined when empty). */
  firstSeq(): number | undefined {
    return this.#size ? this.#seqs[this.#head] : undefined;
  }
  /** The newest record's seq (undefined when empty). */
  lastSeq(): number | undefined {
    return this.#size ? this.seqAt(this.#size - 1) : undefined;
  }

  push(e: Entry): void {
    this.add(e.block, e.idx, e.seq, e.source, e.stream, e.level === undefined ? 0 : LEVEL_CODE.get(e.level)!, e.bytes);
  }

  /** Record `idx` of `block` (level as a LEVEL_CODE), costing `bytes`: evicts the oldest while the bounds ask. */
  add(block: Block, idx: number, seq: number, source: string, stream: string, level: number, bytes: number): void {
    const cap = this.#cap;
    if (this.#seqs.length !== cap) this.#allocate(cap);
    while (this.#size > 0 && (this.#size === cap || this.#bytes + bytes > this.#maxBytes)) this.#evictOldest();
    let k = this.#head + this.#size;
    if (k >= cap) k -= cap;
    this.#blocks[k] = block;
    this.#sources[k] = source;
    this.#streams[k] = stream;
    this.#seqs[k] = seq;
    this.#sizes[k] = bytes;
    this.#idxs[k] = idx;
    this.#levels[k] = level;
    this.#size++;
    this.#bytes += bytes;
  }

  #allocate(cap: number): void {
    this.#blocks = new Array<Block | undefined>(cap).fill(undefined);
    this.#sources = new Array<string>(cap).fill('');
    this.#streams = new Array<string>(cap).fill('');
    this.#seqs = new Float64Array(cap);
    this.#sizes = new Float64Array(cap);
    this.#idxs = new Uint32Array(cap);
    this.#levels = new Uint8Array(cap);
  }

  #evictOldest(): void {
    const k = this.#head;
    // the block goes with its last record (the names are shared strings: left in place)
    this.#blocks[k] = undefined;
    this.#head = k + 1 === this.#cap ? 0 : k + 1;
    this.#size--;
    this.#bytes -= this.#sizes[k]!;
    this.evicted++;
    const seq = this.#seqs[k]!;
    if (seq > this.evictedUpTo) this.evictedUpTo = seq;
  }

  /** The slot of the i-th record from the oldest. */
  #slot(i: number): number {
    const k = this.#head + i;
    return k >= this.#cap ? k - this.#cap : k;
  }

  /** The i-th entry from the oldest (0 <= i < size), made on each call. */
  at(i: number): Entry {
    const k = this.#slot(i);
    return new RingEntry(this.#seqs[k]!, this.#sources[k]!, this.#streams[k]!, levelOfCode(this.#levels[k]!), this.#sizes[k]!, this.#blocks[k]!, this.#idxs[k]!);
  }

  /** The i-th record's seq. */
  seqAt(i: number): number {
    return this.#seqs[this.#slot(i)]!;
  }

  /** The i-th record's cost in bytes (what the byte bound counts). */
  bytesAt(i: number): number {
    return this.#sizes[this.#slot(i)]!;
  }

  /** The i-th record's block and its index there. */
  blockAt(i: number): Block {
    return this.#blocks[this.#slot(i)]!;
  }
  idxAt(i: number): number {
    return this.#idxs[this.#slot(i)]!;
  }

  /** The i-th record as a view for a filter: the same object each call, valid until the next. */
  view(i: number): RecordView {
    const k = this.#slot(i);
    const v = this.#view;
    v.source = this.#sources[k]!;
    v.stream = this.#streams[k]!;
    v.level = levelOfCode(this.#levels[k]!);
    v.block = this.#blocks[k];
    v.idx = this.#idxs[k]!;
    return v;
  }

  /** Index of the first entry with seq > since (size when none). */
  indexAfter(since: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqAt(mid) <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Entries with seq > since, oldest first, at most `limit`. */
  after(since: number, limit = Infinity): Entry[] {
    const out: Entry[] = [];
    for (let i = this.indexAfter(since); i < this.#size && out.length < limit; i++) out.push(this.at(i));
    return out;
  }

  /** The newest `limit` entries, oldest first. */
  tail(limit: number): Entry[] {
    const start = Math.max(0, this.#size - limit);
    const out: Entry[] = [];
    for (let i = start; i < this.#size; i++) out.push(this.at(i));
    return out;
  }

  toArray(): Entry[] {
    return this.tail(this.#size);
  }

  /**
   * How many records of this stream a client resuming after `since` missed
   * because they were evicted: the seqs after `since` up to the last one
   * evicted (the ring holds every record of its stream after it; a seq
   * between that and the first held is another stream's), less a hole of
   * never-used seqs. Exact when the stream's seqs are contiguous (one
   * stream); otherwise estimated from the ring's density of this stream's
   * seqs (other streams interleave).
   */
  missedAfter(since: number): number {
    if (since >= this.evictedUpTo) return 0;
    const first = this.firstSeq();
    // exclusive; the seqs between evictedUpTo and the first record held are other streams' (the ring
    // holds every record of its stream after evictedUpTo)
    const upper = this.evictedUpTo + 1;
    let span = upper - since - 1;
    const lo = Math.max(since + 1, this.holeFrom);
    const hi = Math.min(upper - 1, this.holeTo);
    if (hi >= lo) span -= hi - lo + 1;
    if (span <= 0) return 0;
    if (first === undefined || this.#size < 2) return span;
    const last = this.lastSeq()!;
    // the density over the seqs the ring spans, less the hole: after a crash the ring holds the
    // replayed batch and then records from past the reservation, and the never-used seqs between
    // are nobody's (counted in, they made 20,519 missed records an estimate of 16)
    let spanned = last - first;
    const hlo = Math.max(first + 1, this.holeFrom);
    const hhi = Math.min(last - 1, this.holeTo);
    if (hhi >= hlo) spanned -= hhi - hlo + 1;
    const density = (this.#size - 1) / Math.max(1, spanned);
    return Math.max(1, Math.round(span * Math.min(1, density)));
  }
}
