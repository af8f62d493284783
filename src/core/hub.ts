/**
 * The hub: assigns `seq`, serializes each record once, keeps a replay ring
 * per stream (and one over all streams) and wakes subscribers.
 *
 * Subscribers are cursors into the rings, not copies: a subscriber's bounded
 * queue is "at most `maxLag` ring entries behind the head". A client that
 * falls further behind skips its oldest entries (drop oldest), is told so
 * with a `gap` notice, and the skip is counted (`reason="slow_client"`).
 * The hub never waits for a subscriber, and N clients cost N cursors, not N
 * copies of the data (measured: 1,000 SSE clients, see bench/).
 */
import type { Level, LogRecord, WireTail } from './record.js';
import { serializeRecord } from './record.js';
import { ENTRY_OVERHEAD, ReplayRing, type Entry, type RecordView } from './ring.js';
import { Block, entryJson, sizeGuess } from './block.js';

/**
 * A ring entry. Its message is not kept as a string: it is decoded from the
 * entry's wire JSON each time a `q`/`re` filter asks for it (not cached, so
 * the ring's byte accounting stays true). Holding every record's message (a
 * slice of its whole line) for the ring's lifetime made the young-generation
 * scavenger copy ~10k lines per stream over and over; an entry now holds
 * nothing per record but numbers and shared strings.
 */
class RingEntry implements Entry {
  block = undefined as unknown as Block;
  constructor(
    readonly seq: number,
    readonly source: string,
    readonly stream: string,
    readonly level: Level | undefined,
    readonly bytes: number,
    public idx: number,
  ) {}
  get message(): string {
    return String((JSON.parse(entryJson(this)) as { message: unknown }).message);
  }
}

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
}

export interface SubscribeOptions {
  /** One stream, or null for every stream. */
  stream: string | null;
  /** Resume after this seq (Last-Event-ID / ?since=); undefined = live only. */
  since?: number;
  filter?: (r: RecordView) => boolean;
  /** How far (in ring entries) the client may lag before its oldest are dropped; undefined = the ring's reach. */
  maxLag?: number;
  /** `stage` label of this subscriber's drops (sse, tcp, ...). */
  stage: string;
  /** Called synchronously when new entries (or a gap) may be taken. */
  onWake(): void;
}

export type Notice = { kind: 'gap'; missed: number };

export class Subscriber {
  readonly id: number;
  readonly stage: string;
  readonly stream: string | null;
  #hub: Hub;
  #ring: ReplayRing;
  #cursor: number;
  #filter: ((r: RecordView) => boolean) | undefined;
  #maxLag: number;
  #pendingGap = 0;
  #closed = false;
  onWake: () => void;
  dropped = 0;
  sent = 0;

  constructor(hub: Hub, id: number, ring: ReplayRing, o: SubscribeOptions, cursor: number) {
    this.#hub = hub;
    this.id = id;
    this.stage = o.stage;
    this.stream = o.stream;
    this.#ring = ring;
    this.#filter = o.filter;
    this.#maxLag = Math.max(1, o.maxLag ?? Infinity);
    this.onWake = o.onWake;
    this.#cursor = cursor;
    if (cursor < ring.evictedUpTo) {
      // resuming from before what the ring still holds: tell the client, not a drop of ours
      this.#pendingGap = ring.missedAfter(cursor);
      this.#cursor = ring.evictedUpTo;
    }
  }

  get cursor(): number {
    return this.#cursor;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** Entries behind the head (before filtering). */
  get lag(): number {
    return this.#ring.size - this.#ring.indexAfter(this.#cursor);
  }

  /**
   * Take up to `max` entries after the cursor (filtered), preceded by a gap
   * notice when entries were evicted or skipped since the last take.
   */
  take(max: number, out: Entry[]): Notice | undefined {
    const ring = this.#ring;
    let i = this.#trim();
    const size = ring.size;
    let notice: Notice | undefined;
    if (this.#pendingGap > 0) {
      notice = { kind: 'gap', missed: this.#pendingGap };
      this.#pendingGap = 0;
    }
    const filter = this.#filter;
    for (; i < size && out.length < max; i++) {
      const e = ring.at(i);
      this.#cursor = e.seq;
      if (filter === undefined || filter(e)) out.push(e);
    }
    this.sent += out.length;
    return notice;
  }

  /**
   * Apply the drop-oldest policy now: skip what the ring evicted past the
   * cursor and what lies beyond maxLag, count it, and queue a gap notice.
   * Sinks call it on wake while their socket is blocked, so a stalled
   * client's losses are counted when they happen. Returns the ring index of
   * the next entry to send.
   */
  trim(): void {
    this.#trim();
  }

  #trim(): number {
    const ring = this.#ring;
    if (this.#cursor < ring.evictedUpTo) {
      // the ring evicted past us: those records are gone for this client
      const missed = ring.missedAfter(this.#cursor);
      if (missed > 0) {
        this.#pendingGap += missed;
        this.#countDrop(missed);
      }
      this.#cursor = ring.evictedUpTo;
    }
    const i = ring.indexAfter(this.#cursor);
    const size = ring.size;
    if (size - i <= this.#maxLag) return i;
    // drop oldest: skip to maxLag behind the head
    const skipTo = size - this.#maxLag;
    const skipped = this.#countMatching(ring, i, skipTo);
    if (skipped > 0) {
      this.#pendingGap += skipped;
      this.#countDrop(skipped);
    }
    this.#cursor = ring.at(skipTo - 1).seq;
    return skipTo;
  }

  #countMatching(ring: ReplayRing, from: number, to: number): number {
    if (!this.#filter) return to - from;
    let n = 0;
    for (let i = from; i < to; i++) if (this.#filter(ring.at(i))) n++;
    return n;
  }

  #countDrop(n: number): void {
    this.dropped += n;
    this.#hub.countDrop(this.stage, 'slow_client', n);
  }

  /** True when take() would return something now. */
  get ready(): boolean {
    return this.#pendingGap > 0 || this.#cursor < this.#ring.evictedUpTo || (this.#ring.last()?.seq ?? 0) > this.#cursor;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.unsubscribe(this);
  }

  /** Async iteration for consumers that prefer it (tests, CLI); sinks use take() directly. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Entry | Notice> {
    let wake: (() => void) | undefined;
    const prev = this.onWake;
    this.onWake = () => {
      prev();
      const w = wake;
      wake = undefined;
      w?.();
    };
    try {
      const buf: Entry[] = [];
      while (!this.#closed) {
        buf.length = 0;
        const n = this.take(256, buf);
        if (n) yield n;
        for (const e of buf) yield e;
        if (!n && buf.length === 0) await new Promise<void>((r) => (wake = r));
      }
    } finally {
      this.close();
    }
  }
}


interface StreamState {
  name: string;
  ring: ReplayRing;
  subs: Set<Subscriber>;
  records: number;
}

export class Hub {
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
      s.ring.evictedUpTo = this.#all?.evictedUpTo ?? this.#opts.seqStart;
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

  /** Assign seqs, ring and fan out a batch. Never blocks on subscribers. */
  publish(batch: LogRecord[]): void {
    if (batch.length === 0) return;
    const entries = this.#entries(batch, true);
    let last: StreamState | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const stream = e.stream;
      const s = last !== undefined && last.name === stream ? last : (last = this.#stream(stream));
      s.ring.push(e);
      s.records++;
      this.#all.push(e);
    }
    this.#wake(batch);
  }

  /**
   * A record that cannot be serialized (a bug in a parser's output, say)
   * must not take its batch down with it: it is published with its message
   * and origin only, and counted.
   */
  #serialize(r: LogRecord): string {
    try {
      return serializeRecord(r);
    } catch {
      this.#opts.drop('hub', 'unserializable_fields', 1);
      const safe: LogRecord = { ...r, time: Number.isFinite(r.time) ? r.time : r.received, fields: {}, message: String(r.message) };
      try {
        return serializeRecord(safe);
      } catch {
        return serializeRecord({ ...safe, time: Date.now(), origin: { kind: String(r.origin?.kind ?? 'unknown') }, host: undefined, app: undefined });
      }
    }
  }

  /** Serialize a batch once: per-record JSON plus the batch's shared wire block. */
  #entries(batch: LogRecord[], assignSeq: boolean): Entry[] {
    const entries = new Array<Entry>(batch.length);
    const parts = new Array<string | WireTail>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (assignSeq) r.seq = ++this.#seq;
      // a parse worker's record is already serialized (all but its seq)
      const w = r.wire;
      const part = w === undefined ? this.#serialize(r) : w;
      parts[i] = part;
      const bytes = sizeGuess(part) + ENTRY_OVERHEAD;
      entries[i] = w?.asEntry !== undefined ? w.asEntry(bytes, i) : new RingEntry(r.seq, r.source, r.stream, r.level, bytes, i);
    }
    const block = new Block(entries, parts);
    for (let i = 0; i < entries.length; i++) entries[i]!.block = block;
    return entries;
  }

  #wake(batch: LogRecord[]): void {
    for (const sub of this.#allSubs) sub.onWake();
    let prev = '';
    for (const r of batch) {
      if (r.stream === prev) continue;
      prev = r.stream;
      const s = this.#streams.get(r.stream);
      if (s) for (const sub of s.subs) sub.onWake();
    }
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
      // the replayed records are in the ring again: a resume from before them is not a gap
      const firstSeq = recs[0]!.seq;
      const known = Math.min(this.#all.evictedUpTo, firstSeq - 1);
      this.#all.evictedUpTo = known;
      for (const s of this.#streams.values()) s.ring.evictedUpTo = Math.min(s.ring.evictedUpTo, known);
    }
    for (const e of this.#entries(recs, false)) {
      const s = this.#stream(e.stream);
      s.ring.push(e);
      s.records++;
      this.#all.push(e);
    }
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
    const cursor = o.since === undefined ? this.#seq : Math.min(o.since, this.#seq);
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
        firstSeq: s.ring.first()?.seq ?? null,
        lastSeq: s.ring.last()?.seq ?? null,
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
