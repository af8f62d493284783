/**
 * Writing a hub subscriber to a socket-like stream (SSE response, TCP
 * socket): take entries from the cursor, write them as zero-copy slices of
 * the shared wire blocks, stop at back-pressure until 'drain'. While blocked,
 * wakes only apply the drop-oldest policy (so a stalled client's losses are
 * counted as they happen); the hub never waits.
 */
import type { Writable } from 'node:stream';
import type { Subscriber } from '../core/hub.js';
import type { Entry } from '../core/ring.js';
import { wireRuns } from '../core/block.js';

const TAKE = 1024;

export interface Pump {
  /** The subscriber's onWake. */
  flush(): void;
  attach(sub: Subscriber): void;
  close(): void;
}

export function makePump(w: Writable, kind: 'nd' | 'sse', gapFrame: (missed: number) => string, onWrite?: () => void): Pump {
  let sub: Subscriber | undefined;
  let blocked = false;
  let closed = false;
  const buf: Entry[] = [];
  const bufs: Buffer[] = [];
  const flush = (): void => {
    if (closed || !sub) return;
    if (blocked) {
      sub.trim();
      return;
    }
    for (;;) {
      buf.length = 0;
      const notice = sub.take(TAKE, buf);
      if (!notice && buf.length === 0) return;
      bufs.length = 0;
      if (notice) bufs.push(Buffer.from(gapFrame(notice.missed)));
      wireRuns(buf, kind, bufs);
      onWrite?.();
      if (!writeAll(w, bufs)) {
        blocked = true;
        w.once('drain', () => {
          blocked = false;
          flush();
        });
        return;
      }
    }
  };
  return {
    flush,
    attach(s) {
      sub = s;
      flush();
    },
    close() {
      closed = true;
    },
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
