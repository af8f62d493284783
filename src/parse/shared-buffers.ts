/**
 * Shared-memory buffers for the raw batches handed to the parse threads,
 * reused instead of allocated per batch.
 *
 * A batch's bytes go to a thread in a SharedArrayBuffer, so the thread reads
 * them in place (a view of an ordinary buffer posted to a worker clones its
 * whole ArrayBuffer). But a new SharedArrayBuffer is expensive: the memory is
 * mapped and zeroed, and every one is registered for sharing on its first
 * post. Measured on the 2-core bench machine (Node 22): 28 us to allocate
 * 64 KiB, 196 us for 1 MiB, against ~5 us for an ordinary buffer, and a
 * post of a fresh one 8.6 us against 4.5 for one posted before; a syslog TCP
 * connection at 400k lines/s made one of 16-64 KiB per read.
 *
 * Sizes are powers of two from 16 KiB to 16 MiB; each size keeps up to
 * `PER_SIZE` free buffers, all sizes at most `MAX_FREE_BYTES` together, the
 * rest left to the garbage collector. `take(min)` hands out a buffer of at
 * least `min` bytes (the whole SharedArrayBuffer, from 0; its content is
 * whatever the last user left: write before you read). `give(buf)` returns
 * one, and only its taker may, once nothing reads it any more: for a raw
 * batch, when the parse stage has committed it (the thread's answer is in,
 * or the main thread parsed it itself). A buffer given back twice, or one
 * that is not whole (a view into a larger one) or not from here, is ignored.
 */

const MIN_SIZE = 16 * 1024;
const MAX_SIZE = 16 * 1024 * 1024;
const PER_SIZE = 32;
const MAX_FREE_BYTES = 64 * 1024 * 1024;

/** Free buffers by size (index: log2(size) - log2(MIN_SIZE)). */
const free: Buffer[][] = [];
/** Buffers now free: give() of one already here is ignored (it would be handed out twice). */
const isFree = new WeakSet<Buffer>();
let freeBytes = 0;

/** What the pool did (tests, status). */
export const sharedBufferStats = { taken: 0, reused: 0, given: 0, refused: 0 };

function slot(size: number): number {
  return Math.log2(size / MIN_SIZE);
}

/** The size class for `min` bytes: a power of two from MIN_SIZE; 0 above MAX_SIZE (not pooled). */
export function sizeFor(min: number): number {
  if (min > MAX_SIZE) return 0;
  let size = MIN_SIZE;
  while (size < min) size *= 2;
  return size;
}

/** A shared buffer of at least `min` bytes (a pooled size when min <= 16 MiB, else exactly `min`). */
export function take(min: number): Buffer {
  sharedBufferStats.taken++;
  const size = sizeFor(min);
  if (size === 0) return Buffer.from(new SharedArrayBuffer(min));
  const list = free[slot(size)];
  const b = list?.pop();
  if (b !== undefined) {
    isFree.delete(b);
    freeBytes -= size;
    sharedBufferStats.reused++;
    return b;
  }
  return Buffer.from(new SharedArrayBuffer(size));
}

/** Hand `buf` (from take) back once nothing reads it any more. */
export function give(buf: Buffer): void {
  const size = buf.length;
  if (
    !Buffer.isBuffer(buf) || // a Buffer that crossed threads arrives as a plain Uint8Array: not handed out again
    isFree.has(buf) ||
    !(buf.buffer instanceof SharedArrayBuffer) ||
    buf.byteOffset !== 0 ||
    buf.buffer.byteLength !== size ||
    sizeFor(size) !== size ||
    freeBytes + size > MAX_FREE_BYTES
  ) {
    sharedBufferStats.refused++;
    return;
  }
  const i = slot(size);
  const list = (free[i] ??= []);
  if (list.length >= PER_SIZE) {
    sharedBufferStats.refused++;
    return;
  }
  list.push(buf);
  isFree.add(buf);
  freeBytes += size;
  sharedBufferStats.given++;
}

/** Bytes held free now. */
export function freeSharedBytes(): number {
  return freeBytes;
}
