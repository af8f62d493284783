/**
 * Writing a hub subscriber to a socket-like stream (SSE response, TCP
 * socket): take entries from the cursor, write them as zero-copy slices of
 * the shared wire blocks, stop at back-pressure until 'drain'. While blocked,
 * wakes only apply the drop-oldest policy (so a stalled client's losses are
 * counted as they happen); the hub never waits.
 *
 * Past the stream's high-water mark a client may keep writing into its
 * socket's queue up to a slack of its own (`perClient` bytes), out of one
 * budget shared by all clients (`total`): a reader that pauses for some tens of
 * milliseconds (a GC, a scheduler hiccup, a network round trip) then catches
 * up instead of being pushed past its lag bound by one burst. The queued
 * slices keep their blocks alive after the ring evicts them, which is why the
 * budget is shared and bounded: each write takes only what fits in the room
 * left (entries' `bytes` bound what they write), so the bytes queued past the
 * high-water marks never exceed `perClient` for a client nor `total` for all.
 * The one exception: a client below its mark (no 'drain' to wait for) always
 * takes one record, however large, so a record bigger than the room left is
 * delayed, never stranded; it can overshoot by that one record.
 */
import type { Writable } from 'node:stream';
import { Refs, type Subscriber } from '../hub/hub.js';
import { ENTRY_OVERHEAD } from '../hub/entry.js';
import { wireRuns } from '../wire/block.js';

/**
 * Records taken per write. A client that is behind (past its high-water
 * mark, its slack or the shared budget spent) keeps at most one write queued,
 * and each run of records of one block in it is a slice object kept alive
 * until the kernel takes it; at a trickle a block holds a record or two. 128
 * keeps that to ~128 slices per client (measured, bench fan-out: 1,024 took
 * ~140 slices and ~10 KB of heap per client behind, at 10,000 clients); a
 * client that keeps up writes in a loop, so it is not slowed.
 */
const TAKE = 128;

// One flush runs at a time (it is synchronous): every client's flush shares these.
const takeScratch = new Refs();
const bufScratch: Buffer[] = [];

/** The clients' shared write slack. */
export const clientSlack = { perClient: 8 * 1024 * 1024, total: 32 * 1024 * 1024, used: 0 };

/** Size the slack from limits.memory: an eighth of it for all clients, at most 8 MiB each. */
export function configureClientSlack(memory: number): void {
  clientSlack.total = Math.floor(memory / 8);
  clientSlack.perClient = Math.min(8 * 1024 * 1024, clientSlack.total);
}

export interface Pump {
  /** Write what the cursor holds now, until the stream asks to wait (attach and 'drain' call it). */
  flush(): void;
  /**
   * The subscriber's onWake: flush at the end of the current synchronous step (a microtask).
   * The hub wakes subscribers inside a source's `push`, and the source writes the checkpoint
   * past that batch right after `push` returns. Written at once, the batch would be in the
   * kernel before that checkpoint is on disk, and a crash between the two would have the
   * restart read it again under new seqs: a client that got it would get it twice. Written
   * after, a crash before the write leaves the batch as the checkpoint's `last`, which the
   * restart re-publishes with the same seqs (the crash replay).
   */
  wake(): void;
  attach(sub: Subscriber): void;
  close(): void;
  /** Bytes queued in the stream beyond what the kernel took. */
  buffered(): number;
  /** When it last wrote records (epoch ms); a heartbeat written beside it may set it too. */
  lastWrite: number;
}

export function makePump(w: Writable, kind: 'nd' | 'sse', gapFrame: (missed: number) => string): Pump {
  return new StreamPump(w, kind, gapFrame);
}

/**
 * One object per client, its methods on the prototype: with 10,000 SSE
 * clients the closure-per-method shape cost ~1 KB a client (eleven closures
 * and their context; heap snapshot, bench fan-out). `flush` and `wake` are
 * arrow fields because they are handed out as callbacks (the hub's onWake).
 */
class StreamPump implements Pump {
  #w: Writable;
  #kind: 'nd' | 'sse';
  #gapFrame: (missed: number) => string;
  #hwm: number;
  #sub: Subscriber | undefined = undefined;
  #blocked = false;
  #closed = false;
  #waiting = false; // a 'drain' is awaited
  #listening = false; // our 'drain' listener is on the stream (set once, kept: no once-wrapper per wait)
  #held = 0; // bytes of this client's queue past its high-water mark, charged to the shared slack
  #wakeQueued = false;

  /** When this pump last wrote (epoch ms): the SSE heartbeat pings only quiet clients. */
  lastWrite = Date.now();

  constructor(w: Writable, kind: 'nd' | 'sse', gapFrame: (missed: number) => string) {
    this.#w = w;
    this.#kind = kind;
    this.#gapFrame = gapFrame;
    this.#hwm = w.writableHighWaterMark;
  }

  #release(): void {
    clientSlack.used -= this.#held;
    this.#held = 0;
  }

  #onDrain = (): void => {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#blocked = false;
    this.#release();
    this.flush();
  };

  #awaitDrain(): void {
    if (this.#waiting) return;
    this.#waiting = true;
    if (!this.#listening) {
      this.#listening = true;
      this.#w.on('drain', this.#onDrain);
    }
  }

  #block(): void {
    this.#blocked = true;
    this.#awaitDrain(); // set already unless a write of someone else's (a heartbeat) filled the queue
  }

  flush = (): void => {
    const sub = this.#sub;
    if (this.#closed || !sub) return;
    if (this.#blocked) {
      sub.trim();
      return;
    }
    const w = this.#w;
    const hwm = this.#hwm;
    const buf = takeScratch;
    const bufs = bufScratch;
    try {
      for (;;) {
        const queued = w.writableLength;
        // below the high-water mark the stream's queue is its own; past it, what the slack has left
        const room = Math.max(0, hwm - queued) + Math.max(0, Math.min(clientSlack.perClient - this.#held, clientSlack.total - clientSlack.used));
        const below = queued < hwm;
        // at or past the mark a write said false, so 'drain' is coming (its listener is set); an
        // entry costs at least ENTRY_OVERHEAD, which also covers a gap frame
        if (!below && room < ENTRY_OVERHEAD) return this.#block();
        const notice = sub.takeRefs(TAKE, buf, room, below);
        if (!notice && buf.length === 0) {
          if (!below && sub.ready) this.#block(); // what is next does not fit: wait for 'drain'
          return;
        }
        bufs.length = 0;
        if (notice) bufs.push(Buffer.from(this.#gapFrame(notice.missed)));
        wireRuns(buf.blocks, buf.idxs, this.#kind, bufs);
        this.lastWrite = Date.now();
        const ok = writeAll(w, bufs);
        const over = Math.max(0, w.writableLength - hwm);
        clientSlack.used += over - this.#held;
        this.#held = over;
        if (!ok) this.#awaitDrain();
      }
    } finally {
      // the scratch arrays keep no client's entries or slices alive between flushes
      buf.clear();
      bufs.length = 0;
    }
  };

  wake = (): void => {
    if (this.#wakeQueued || this.#closed) return;
    this.#wakeQueued = true;
    queueMicrotask(this.#wakeTask);
  };

  #wakeTask = (): void => {
    this.#wakeQueued = false;
    this.flush();
  };

  attach(s: Subscriber): void {
    this.#sub = s;
    this.flush();
  }

  close(): void {
    this.#closed = true;
    this.#release();
    if (this.#listening) this.#w.off('drain', this.#onDrain);
    this.#listening = false;
  }

  buffered(): number {
    return this.#w.writableLength;
  }
}

/** Write several buffers as one corked burst; returns false when the stream asks us to wait for 'drain'. */
export function writeAll(w: Writable, bufs: readonly Buffer[]): boolean {
  if (bufs.length === 1) return w.write(bufs[0]);
  w.cork();
  let ok = true;
  for (const b of bufs) ok = w.write(b);
  w.uncork();
  return ok && !w.writableNeedDrain;
}
