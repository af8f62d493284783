/** Write several buffers as one corked burst; returns false when the stream asks us to wait for 'drain'. */
import type { Writable } from 'node:stream';

export function writeAll(w: Writable, bufs: readonly Buffer[]): boolean {
  if (bufs.length === 1) return w.write(bufs[0]);
  w.cork();
  let ok = true;
  for (const b of bufs) ok = w.write(b);
  w.uncork();
  return ok && !w.writableNeedDrain;
}
