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
import type { Subscriber } from '../hub/hub.js';
import { ENTRY_OVERHEAD, type Entry } from '../hub/entry.js';
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
const takeScratch: Entry[] = [];
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
}

export function makePump(w: Writable, kind: 'nd' | 'sse', gapFrame: (missed: number) => string, onWrite?: () => void): Pump {
  let sub: Subscriber | undefined;
  let blocked = false;
  let closed = false;
  let waiting = false; // a 'drain' listener is set
  let held = 0; // bytes of this client's queue past its high-water mark, charged to the shared slack
  const hwm = w.writableHighWaterMark;
  const release = (): void => {
    clientSlack.used -= held;
    held = 0;
  };
  const onDrain = (): void => {
    waiting = false;
    blocked = false;
    release();
    flush();
  };
  const awaitDrain = (): void => {
    if (waiting) return;
    waiting = true;
    w.once('drain', onDrain);
  };
  const block = (): void => {
    blocked = true;
    awaitDrain(); // set already unless a write of someone else's (a heartbeat) filled the queue
  };
  const flush = (): void => {
    if (closed || !sub) return;
    if (blocked) {
      sub.trim();
      return;
    }
    const buf = takeScratch;
    const bufs = bufScratch;
    try {
      for (;;) {
        const queued = w.writableLength;
        // below the high-water mark the stream's queue is its own; past it, what the slack has left
        const room = Math.max(0, hwm - queued) + Math.max(0, Math.min(clientSlack.perClient - held, clientSlack.total - clientSlack.used));
        const below = queued < hwm;
        // at or past the mark a write said false, so 'drain' is coming (its listener is set); an
        // entry costs at least ENTRY_OVERHEAD, which also covers a gap frame
        if (!below && room < ENTRY_OVERHEAD) return block();
        buf.length = 0;
        const notice = sub.take(TAKE, buf, room, below);
        if (!notice && buf.length === 0) {
          if (!below && sub.ready) block(); // what is next does not fit: wait for 'drain'
          return;
        }
        bufs.length = 0;
        if (notice) bufs.push(Buffer.from(gapFrame(notice.missed)));
        wireRuns(buf, kind, bufs);
        onWrite?.();
        const ok = writeAll(w, bufs);
        const over = Math.max(0, w.writableLength - hwm);
        clientSlack.used += over - held;
        held = over;
        if (!ok) awaitDrain();
      }
    } finally {
      // the scratch arrays keep no client's entries or slices alive between flushes
      buf.length = 0;
      bufs.length = 0;
    }
  };
  let wakeQueued = false;
  const onWake = (): void => {
    wakeQueued = false;
    flush();
  };
  return {
    flush,
    wake() {
      if (wakeQueued || closed) return;
      wakeQueued = true;
      queueMicrotask(onWake);
    },
    attach(s) {
      sub = s;
      flush();
    },
    close() {
      closed = true;
      release();
    },
    buffered: () => w.writableLength,
  };
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
