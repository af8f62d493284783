/**
 * ReplayRing: the recent records of one stream, bounded by count and by
 * bytes, in seq order, for resume (`Last-Event-ID`, `?since=`) and backfill
 * (`/api/records`). A circular array (no `shift()`), binary search by seq
 * (seqs are increasing but not contiguous within one stream: the counter is
 * per node).
 */
import type { Entry } from './entry.js';

export class ReplayRing {
  /** Allocated at the first push after a resize (empty rings are resized once per stream added at start: 400 streams allocated 400 arrays of up to their total capacity). */
  #buf: (Entry | undefined)[] = [];
  #cap: number;
  #head = 0; // index of the oldest
  #size = 0;
  #bytes = 0;
  #maxBytes: number;
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
    this.#buf = [];
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
    this.#maxBytes = Math.max(1, maxBytes);
    for (const e of entries) this.push(e);
  }

  first(): Entry | undefined {
    return this.#size ? this.#buf[this.#head] : undefined;
  }
  last(): Entry | undefined {
    return this.#size ? this.#buf[(this.#head + this.#size - 1) % this.#buf.length] : undefined;
  }

  push(e: Entry): void {
    const cap = this.#cap;
    if (this.#buf.length !== cap) this.#buf = new Array<Entry | undefined>(cap);
    while (this.#size > 0 && (this.#size === cap || this.#bytes + e.bytes > this.#maxBytes)) this.#evictOldest();
    this.#buf[(this.#head + this.#size) % cap] = e;
    this.#size++;
    this.#bytes += e.bytes;
  }

  #evictOldest(): void {
    const e = this.#buf[this.#head]!;
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#buf.length;
    this.#size--;
    this.#bytes -= e.bytes;
    this.evicted++;
    if (e.seq > this.evictedUpTo) this.evictedUpTo = e.seq;
  }

  /** The i-th entry from the oldest (0 <= i < size). */
  at(i: number): Entry {
    return this.#buf[(this.#head + i) % this.#buf.length]!;
  }

  /** Index of the first entry with seq > since (size when none). */
  indexAfter(since: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).seq <= since) lo = mid + 1;
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
    const first = this.first();
    // exclusive; the seqs between evictedUpTo and the first record held are other streams' (the ring
    // holds every record of its stream after evictedUpTo)
    const upper = this.evictedUpTo + 1;
    let span = upper - since - 1;
    const lo = Math.max(since + 1, this.holeFrom);
    const hi = Math.min(upper - 1, this.holeTo);
    if (hi >= lo) span -= hi - lo + 1;
    if (span <= 0) return 0;
    if (!first || this.#size < 2) return span;
    const last = this.last()!;
    // the density over the seqs the ring spans, less the hole: after a crash the ring holds the
    // replayed batch and then records from past the reservation, and the never-used seqs between
    // are nobody's (counted in, they made 20,519 missed records an estimate of 16)
    let spanned = last.seq - first.seq;
    const hlo = Math.max(first.seq + 1, this.holeFrom);
    const hhi = Math.min(last.seq - 1, this.holeTo);
    if (hhi >= hlo) spanned -= hhi - hlo + 1;
    const density = (this.#size - 1) / Math.max(1, spanned);
    return Math.max(1, Math.round(span * Math.min(1, density)));
  }
}
