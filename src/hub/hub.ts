/**
 * The hub: assigns `seq`, has each batch encoded once (src/wire), keeps a replay ring
 * per stream (and one over all streams) and wakes subscribers.
 *
 * Subscribers are cursors into the rings, not copies: a subscriber's bounded
 * queue is "at most `maxLag` ring entries behind the head". A client that
 * falls further behind skips its oldest entries (drop oldest), is told so
 * with a `gap` notice, and the skip is counted (`reason="slow_client"`).
 * The hub never waits for a subscriber, and N clients cost N cursors, not N
 * copies of the data (measured: 1,000 SSE clients, see bench/).
 */
import type { LogRecord } from '../core/record.js';
import { LEVEL_CODE } from '../core/record.js';
import { Block, type RecordParts } from '../wire/block.js';
import { isEncoded, type Batch, type EncodedBatch } from '../wire/encoded.js';
import { recordParts } from '../wire/json.js';
import { ENTRY_OVERHEAD, type Entry } from './entry.js';
import { ReplayRing } from './ring.js';
import { Subscriber, type SubscribeOptions, type SubscriberHost } from './subscriber.js';

export type { SubscribeOptions, Notice } from './subscriber.js';
export { Refs, Subscriber } from './subscriber.js';

export interface StreamLimits {
  /** Records kept for resume. */
  replay: number;
  /** Bytes kept for resume. */
  replayBytes: number;
}

export interface HubOptions {
  seqStart: number;
  defaults: StreamLimits;
  streams: Record<string, Partial<StreamLimits>>;
  /** Counts drops: sluice_dropped_total{stage, reason}. */
  drop(stage: string, reason: string, n: number): void;
  /**
   * A resume point past the head waits for it (a cluster's live tail, whose
   * ids are the same on every server: a lagging server must not serve what
   * the client had). Default: clamped to the head (one daemon's seqs; a
   * point past them is from before a lost counter).
   */
  resumeAhead?: boolean;
}

interface StreamState {
  name: string;
  ring: ReplayRing;
  subs: Set<Subscriber>;
  records: number;
}

export class Hub implements SubscriberHost {
  #seq: number;
  #streams = new Map<string, StreamState>();
  #all: ReplayRing;
  #allSubs = new Set<Subscriber>();
  #opts: HubOptions;
  #nextSubId = 1;
  #sealed = false;
  #pendingReplay: LogRecord[] = [];
  #replayFloor = 0;

  constructor(opts: HubOptions) {
    this.#opts = opts;
    this.#seq = opts.seqStart;
    for (const name of Object.keys(opts.streams)) this.#stream(name);
    this.#all = new ReplayRing(1, 1);
    this.#resizeAll();
    // records before this start are unknown to this process: a client resuming
    // from before it gets a gap (estimated) rather than silence
    this.#all.evictedUpTo = opts.seqStart;
    for (const s of this.#streams.values()) s.ring.evictedUpTo = opts.seqStart;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  #limits(name: string): StreamLimits {
    const o = this.#later.get(name) ?? this.#opts.streams[name] ?? {};
    return { replay: o.replay ?? this.#opts.defaults.replay, replayBytes: o.replayBytes ?? this.#opts.defaults.replayBytes };
  }

  /** Ring limits of streams declared after construction (ensureStream). */
  #later = new Map<string, Partial<StreamLimits>>();

  #stream(name: string): StreamState {
    let s = this.#streams.get(name);
    if (!s) {
      const l = this.#limits(name);
      s = { name, ring: new ReplayRing(l.replay, l.replayBytes), subs: new Set(), records: 0 };
      // what the all-streams ring holds of it (nothing), but never a crash's replayed records of
      // other streams: a stream's records from before this process are unknown unless replayed to it
      s.ring.evictedUpTo = Math.max(this.#all?.evictedUpTo ?? this.#opts.seqStart, this.#opts.seqStart);
      if (this.#all) {
        s.ring.holeFrom = this.#all.holeFrom;
        s.ring.holeTo = this.#all.holeTo;
      }
      this.#streams.set(name, s);
      if (this.#all) this.#resizeAll();
    }
    return s;
  }

  #resizeAll(): void {
    let count = 0;
    let bytes = 0;
    for (const s of this.#streams.values()) {
      count += s.ring.capacity;
      bytes += s.ring.maxBytes;
    }
    if (count === 0) {
      count = this.#opts.defaults.replay;
      bytes = this.#opts.defaults.replayBytes;
    }
    const upTo = this.#all.evictedUpTo;
    this.#all.resize(count, bytes);
    this.#all.evictedUpTo = Math.max(upTo, this.#all.evictedUpTo);
  }

  /**
   * Declare a stream up front (so it is listed before its first record).
   * `limits` size its ring when the stream is new (a stream a reload adds);
   * an existing ring keeps its size.
   */
  ensureStream(name: string, limits?: Partial<StreamLimits>): void {
    if (limits !== undefined && !this.#streams.has(name)) this.#later.set(name, limits);
    this.#stream(name);
  }

  streamNames(): string[] {
    return [...this.#streams.keys()];
  }

  hasStream(name: string): boolean {
    return this.#streams.has(name);
  }

  /** The seq the next published record gets (a writer reserves its width, wire/seq.ts). */
  get nextSeq(): number {
    return this.#seq + 1;
  }

  /**
   * Assign seqs, ring and fan out a batch; returns the first seq assigned.
   * Never blocks on subscribers.
   */
  publish(batch: Batch): number {
    const first = this.#seq + 1;
    if (isEncoded(batch)) this.#publishEncoded(batch, first);
    else this.#publishRecords(batch, true);
    return first;
  }

  /** A parse thread's records: their bytes become the block (wire/block.ts), each record a slot in its stream's ring and the all-streams one. */
  #publishEncoded(b: EncodedBatch, first: number): void {
    const n = b.ends.length;
    if (n === 0) return;
    this.#seq += n;
    const block = Block.fromEncoded(b, first);
    const { source, stream, levels } = b;
    const s = this.#stream(stream);
    const ring = s.ring;
    const all = this.#all;
    const ends = block.ndEnds;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const bytes = ends[i]! - start + ENTRY_OVERHEAD;
      ring.add(block, i, first + i, source, stream, levels[i]!, bytes);
      all.add(block, i, first + i, source, stream, levels[i]!, bytes);
      start = ends[i]!;
    }
    s.records += n;
    for (const sub of this.#allSubs) sub.onWake();
    for (const sub of s.subs) sub.onWake();
  }

  /**
   * A record that cannot be serialized (a bug in a parser's output, say)
   * must not take its batch down with it: it is published with its message
   * and origin only, and counted.
   */
  #serialize(r: LogRecord): RecordParts {
    try {
      return recordParts(r);
    } catch {
      this.#opts.drop('hub', 'unserializable_fields', 1);
      const safe: LogRecord = { ...r, time: Number.isFinite(r.time) ? r.time : r.received, fields: {}, message: String(r.message) };
      try {
        return recordParts(safe);
      } catch {
        return recordParts({ ...safe, time: Date.now(), origin: { kind: String(r.origin?.kind ?? 'unknown') }, host: undefined, app: undefined });
      }
    }
  }

  /** Records to serialize once (seqs assigned here, or kept: a replay), as one block; their streams' subscribers woken. */
  #publishRecords(batch: readonly LogRecord[], assignSeq: boolean): void {
    const n = batch.length;
    if (n === 0) return;
    const parts = new Array<RecordParts>(n);
    const seqs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      if (assignSeq) r.seq = ++this.#seq;
      seqs[i] = r.seq;
      parts[i] = this.#serialize(r);
    }
    const block = Block.fromParts(seqs, parts);
    let start = 0;
    let last: StreamState | undefined;
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      const end = block.ndEnds[i]!;
      if (last === undefined || last.name !== r.stream) last = this.#stream(r.stream);
      const level = r.level === undefined ? 0 : LEVEL_CODE.get(r.level)!;
      const bytes = end - start + ENTRY_OVERHEAD;
      last.ring.add(block, i, r.seq, r.source, r.stream, level, bytes);
      last.records++;
      this.#all.add(block, i, r.seq, r.source, r.stream, level, bytes);
      start = end;
    }
    // woken once every record is in the rings (a subscriber may take at once)
    for (const sub of this.#allSubs) sub.onWake();
    let prev = '';
    for (let i = 0; i < n; i++) {
      const stream = batch[i]!.stream;
      if (stream === prev) continue;
      prev = stream;
      const st = this.#streams.get(stream);
      if (st) for (const sub of st.subs) sub.onWake();
    }
  }

  /**
   * Records whose seqs are given, increasing and above every seq so far (a
   * server's live tail of a cluster, whose ids follow from JetStream's
   * sequence: bus/tail.ts); ringed and fanned out as `publish` does. A batch
   * whose seqs are not so is refused whole (false), counted.
   */
  publishWithSeqs(batch: LogRecord[]): boolean {
    let prev = this.#seq;
    for (const r of batch) {
      if (!(r.seq > prev) || !Number.isSafeInteger(r.seq)) {
        this.#opts.drop('hub', 'seq_out_of_order', batch.length);
        return false;
      }
      prev = r.seq;
    }
    this.#publishRecords(batch, false);
    this.#seq = prev;
    return true;
  }

  /**
   * Nothing at or below `seq` will be published (a live tail starting
   * there): later records are above it, and a client resuming from before it
   * is told of a gap when there were records before it (`missedBefore`; one
   * at the head stays at the head: it missed nothing).
   */
  startAfter(seq: number, missedBefore = true): void {
    if (seq <= this.#seq) return;
    // a live subscriber (at the head) missed nothing: it stays at the head
    for (const sub of this.subscribers()) sub.headMoved(this.#seq, seq);
    this.#seq = seq;
    if (!missedBefore) return;
    for (const ring of [this.#all, ...[...this.#streams.values()].map((x) => x.ring)]) ring.evictedUpTo = Math.max(ring.evictedUpTo, seq);
  }

  /** Crash recovery: records that keep their pre-crash seqs (see Pipeline.replay). */
  replay(batch: LogRecord[], seqFloor: number): void {
    if (this.#sealed) throw new Error('hub.replay after seal');
    for (const r of batch) this.#pendingReplay.push(r);
    if (seqFloor > this.#replayFloor) this.#replayFloor = seqFloor;
  }

  /** End of the restore phase: ring the replayed records in seq order and move the counter past them. */
  seal(): void {
    if (this.#sealed) return;
    this.#sealed = true;
    const recs = this.#pendingReplay.sort((a, b) => a.seq - b.seq);
    this.#pendingReplay = [];
    if (recs.length > 0) {
      // the replayed records are in the rings again: a resume from before them is not a gap, in the
      // all-streams ring and in each stream's that got some; a stream that got none keeps its
      // floor, so its client resuming from before it is told of a gap rather than left silent
      this.#all.evictedUpTo = Math.min(this.#all.evictedUpTo, recs[0]!.seq - 1);
      const firstOf = new Map<string, number>();
      for (const r of recs) if (!firstOf.has(r.stream)) firstOf.set(r.stream, r.seq);
      for (const [name, first] of firstOf) {
        const ring = this.#stream(name).ring;
        ring.evictedUpTo = Math.min(ring.evictedUpTo, first - 1);
      }
    }
    this.#publishRecords(recs, false);
    const maxSeq = recs.length ? recs[recs.length - 1]!.seq : 0;
    // after a crash the counter restarts at its reservation: the seqs between the
    // last one the sources checkpointed and the reservation were never used
    const lastUsed = Math.max(this.#replayFloor, maxSeq);
    if (lastUsed > 0 && lastUsed < this.#seq) {
      for (const ring of [this.#all, ...[...this.#streams.values()].map((x) => x.ring)]) {
        ring.holeFrom = lastUsed + 1;
        ring.holeTo = this.#seq;
      }
    }
    this.#seq = Math.max(this.#seq, lastUsed);
  }

  subscribe(o: SubscribeOptions): Subscriber {
    let ring: ReplayRing;
    let set: Set<Subscriber>;
    if (o.stream === null) {
      ring = this.#all;
      set = this.#allSubs;
    } else {
      const s = this.#stream(o.stream);
      ring = s.ring;
      set = s.subs;
    }
    // live-only starts at the head; a resume starts at `since` (clamped to the head)
    const cursor = o.since === undefined ? this.#seq : this.#opts.resumeAhead ? o.since : Math.min(o.since, this.#seq);
    const sub = new Subscriber(this, this.#nextSubId++, ring, o, cursor);
    set.add(sub);
    return sub;
  }

  unsubscribe(sub: Subscriber): void {
    if (sub.stream === null) this.#allSubs.delete(sub);
    else this.#streams.get(sub.stream)?.subs.delete(sub);
  }

  countDrop(stage: string, reason: string, n: number): void {
    this.#opts.drop(stage, reason, n);
  }

  /** Backfill: entries after `since` (or the newest `limit` when since is undefined). */
  records(stream: string | null, since: number | undefined, limit: number): Entry[] {
    const ring = stream === null ? this.#all : this.#streams.get(stream)?.ring;
    if (!ring) return [];
    return since === undefined ? ring.tail(limit) : ring.after(since, limit);
  }

  subscribers(): Subscriber[] {
    const out = [...this.#allSubs];
    for (const s of this.#streams.values()) out.push(...s.subs);
    return out;
  }

  streamInfo(): { name: string; records: number; ring: { size: number; bytes: number; capacity: number; maxBytes: number; firstSeq: number | null; lastSeq: number | null }; clients: number }[] {
    return [...this.#streams.values()].map((s) => ({
      name: s.name,
      records: s.records,
      ring: {
        size: s.ring.size,
        bytes: s.ring.bytes,
        capacity: s.ring.capacity,
        maxBytes: s.ring.maxBytes,
        firstSeq: s.ring.firstSeq() ?? null,
        lastSeq: s.ring.lastSeq() ?? null,
      },
      clients: s.subs.size,
    }));
  }

  allClients(): number {
    return this.#allSubs.size;
  }

  ringBytes(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.ring.bytes;
    return n;
  }
}
