/**
 * A subscriber: a cursor into a replay ring, not a copy of it. Its bounded
 * queue is "at most `maxLag` ring entries behind the head"; a subscriber
 * that falls further behind skips its oldest entries (drop oldest), is told
 * so with a `gap` notice, and the skip is counted (`reason="slow_client"`).
 */
import type { Entry, RecordView } from './entry.js';
import type { ReplayRing } from './ring.js';
import type { Block } from '../wire/block.js';

/** What a subscriber needs of its hub. */
export interface SubscriberHost {
  countDrop(stage: string, reason: string, n: number): void;
  unsubscribe(sub: Subscriber): void;
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

/** Where #take puts what it takes: record i of the ring. */
interface TakeOut {
  readonly length: number;
  put(ring: ReplayRing, i: number): void;
}

/**
 * Taken records as (block, index) pairs in reused arrays: what a pump
 * writes (wire/block.ts wireRuns). One per writer, cleared by each take.
 */
export class Refs implements TakeOut {
  readonly blocks: Block[] = [];
  readonly idxs: number[] = [];

  get length(): number {
    return this.blocks.length;
  }

  clear(): void {
    this.blocks.length = 0;
    this.idxs.length = 0;
  }

  put(ring: ReplayRing, i: number): void {
    this.blocks.push(ring.blockAt(i));
    this.idxs.push(ring.idxAt(i));
  }
}

export class Subscriber {
  readonly id: number;
  readonly stage: string;
  readonly stream: string | null;
  #hub: SubscriberHost;
  #ring: ReplayRing;
  #cursor: number;
  #filter: ((r: RecordView) => boolean) | undefined;
  #maxLag: number;
  #pendingGap = 0;
  #closed = false;
  onWake: () => void;
  dropped = 0;
  sent = 0;

  constructor(hub: SubscriberHost, id: number, ring: ReplayRing, o: SubscribeOptions, cursor: number) {
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

  /** The hub's head moved from `from` to `to` with nothing between (Hub.startAfter): a subscriber at `from` is at `to`. */
  headMoved(from: number, to: number): void {
    if (this.#cursor === from) this.#cursor = to;
  }

  /** Entries behind the head (before filtering). */
  get lag(): number {
    return this.#ring.size - this.#ring.indexAfter(this.#cursor);
  }

  /**
   * Take up to `max` entries after the cursor (filtered), preceded by a gap
   * notice when entries were evicted or skipped since the last take.
   * `maxBytes` bounds the taken entries' `bytes` (an upper bound on what each
   * writes); with `atLeastOne` the first matching entry is taken even when it
   * alone exceeds it (a writer with nothing queued must not be stranded by a
   * record larger than its budget). Makes an Entry per record: pumps use
   * `takeRefs`, which makes none.
   */
  take(max: number, out: Entry[], maxBytes = Infinity, atLeastOne = true): Notice | undefined {
    return this.#take(max, maxBytes, atLeastOne, {
      get length() {
        return out.length;
      },
      put: (ring, i) => out.push(ring.at(i)),
    });
  }

  /** take(), the records as (block, index) pairs into `out` (cleared first): no object per record. */
  takeRefs(max: number, out: Refs, maxBytes = Infinity, atLeastOne = true): Notice | undefined {
    out.clear();
    return this.#take(max, maxBytes, atLeastOne, out);
  }

  #take(max: number, maxBytes: number, atLeastOne: boolean, out: TakeOut): Notice | undefined {
    const ring = this.#ring;
    let i = this.#trim();
    const size = ring.size;
    let notice: Notice | undefined;
    if (this.#pendingGap > 0) {
      notice = { kind: 'gap', missed: this.#pendingGap };
      this.#pendingGap = 0;
    }
    const filter = this.#filter;
    let bytes = 0;
    let n = out.length;
    for (; i < size && n < max; i++) {
      if (filter === undefined || filter(ring.view(i))) {
        bytes += ring.bytesAt(i);
        if (bytes > maxBytes && (n > 0 || !atLeastOne)) break;
        out.put(ring, i);
        n++;
      }
      this.#cursor = ring.seqAt(i);
    }
    this.sent += n;
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
    this.#cursor = ring.seqAt(skipTo - 1);
    return skipTo;
  }

  #countMatching(ring: ReplayRing, from: number, to: number): number {
    if (!this.#filter) return to - from;
    let n = 0;
    for (let i = from; i < to; i++) if (this.#filter(ring.view(i))) n++;
    return n;
  }

  #countDrop(n: number): void {
    this.dropped += n;
    this.#hub.countDrop(this.stage, 'slow_client', n);
  }

  /** True when take() would return something now. */
  get ready(): boolean {
    return this.#pendingGap > 0 || this.#cursor < this.#ring.evictedUpTo || (this.#ring.lastSeq() ?? 0) > this.#cursor;
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
