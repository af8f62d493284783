/**
 * The pool of shared buffers for raw batches (shared-buffers.ts): what it
 * hands out, what it takes back and what it refuses, and the parse stage
 * giving a batch's buffers back only once the batch is committed: a buffer
 * reused while a thread still reads it would have another batch's bytes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CollectingPipeline } from '../../test/helpers/fake-pipeline.js';
import { ParsePool } from './pool.js';
import { freeSharedBytes, give, sharedBufferStats, sizeFor, take } from './shared-buffers.js';
import { ParseStage, type LaneSpec, type RawBatch } from './stage.js';

describe('shared buffers', () => {
  it('hands out whole SharedArrayBuffers of a power-of-two size from 16 KiB, and exactly `min` past 16 MiB', () => {
    expect(sizeFor(1)).toBe(16 * 1024);
    expect(sizeFor(16 * 1024)).toBe(16 * 1024);
    expect(sizeFor(16 * 1024 + 1)).toBe(32 * 1024);
    expect(sizeFor(16 * 1024 * 1024)).toBe(16 * 1024 * 1024);
    expect(sizeFor(16 * 1024 * 1024 + 1)).toBe(0);
    const b = take(20_000);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([b.byteOffset, b.length, b.buffer.byteLength]).toEqual([0, 32 * 1024, 32 * 1024]);
    const big = take(16 * 1024 * 1024 + 5);
    expect(big.length).toBe(16 * 1024 * 1024 + 5);
    give(b);
  });

  it('a buffer given back is the next one taken of its size, once: given twice it is still handed out once', () => {
    const a = take(100_000); // 128 KiB
    const before = freeSharedBytes();
    give(a);
    give(a); // ignored: it would be handed out twice
    expect(freeSharedBytes()).toBe(before + a.length);
    const reused = sharedBufferStats.reused;
    expect(take(70_000) === a).toBe(true);
    expect(sharedBufferStats.reused).toBe(reused + 1);
    expect(take(70_000) === a).toBe(false);
    expect(freeSharedBytes()).toBe(before);
  });

  it('refuses what it did not hand out whole: a view into one, an ordinary buffer, a Uint8Array (a Buffer that crossed threads), an odd size', () => {
    const before = freeSharedBytes();
    const refused = sharedBufferStats.refused;
    const a = take(16 * 1024);
    give(a.subarray(0, 100));
    give(a.subarray(1));
    give(Buffer.alloc(16 * 1024));
    give(new Uint8Array(new SharedArrayBuffer(16 * 1024)) as Buffer);
    give(Buffer.from(new SharedArrayBuffer(20_000)));
    expect(sharedBufferStats.refused).toBe(refused + 5);
    expect(freeSharedBytes()).toBe(before);
    give(a);
  });

  it('keeps at most 32 free buffers of a size', () => {
    const size = 256 * 1024;
    const held = Array.from({ length: 40 }, () => take(size));
    const before = freeSharedBytes();
    for (const b of held) give(b);
    expect(freeSharedBytes() - before).toBeLessThanOrEqual(32 * size);
    expect(freeSharedBytes() - before).toBe(32 * size);
    // take them back out, so other tests start from a small pool
    for (let i = 0; i < 40; i++) take(size);
  });
});

describe('the parse stage and pooled buffers', () => {
  const pool = new ParsePool(2);
  afterAll(() => pool.close());
  const spec: LaneSpec = { source: 'a', stream: 'main', format: 'plain', maxLineBytes: 1 << 20, dropStage: 'test', counters: { lines: 0, records: 0, parsed_inline: 0, push_errors: 0 } };

  /** Lines `a <i>` as one run in a pooled buffer, the buffer named in `shared` (how the syslog source hands over a read). */
  function pooledRun(from: number, n: number): RawBatch {
    let text = '';
    for (let i = from; i < from + n; i++) text += `a ${i} ${'x'.repeat(i % 7)}\n`;
    const whole = take(Buffer.byteLength(text));
    whole.write(text);
    return { items: [whole.subarray(0, Buffer.byteLength(text))], size: text.length, now: 1_700_000_000_000, origin: { kind: 'test' }, shared: [whole] };
  }

  for (const [name, threadMinSize] of [['at the threads', 0], ['inline', 1 << 30]] as const) {
    it(`${name}: every batch's records are its own although the next batches reuse its buffer once it is committed`, async () => {
      const sink = new CollectingPipeline();
      const stage = new ParseStage(sink, pool, { threadMinSize });
      const lane = stage.lane(spec);
      const reused = sharedBufferStats.reused;
      const committed: number[] = [];
      // many batches in flight at once, each taken from the pool right after the one before was handed over
      for (let k = 0; k < 200; k++) {
        lane.submit(pooledRun(k * 300, 300), (n) => committed.push(n));
        if (k % 20 === 19) await lane.settled();
      }
      await lane.settled();
      expect(committed).toEqual(Array(200).fill(300));
      const want = Array.from({ length: 60_000 }, (_, i) => `a ${i} ${'x'.repeat(i % 7)}`);
      expect(sink.messages).toEqual(want);
      // the mechanism ran: later batches got buffers that earlier ones had
      expect(sharedBufferStats.reused - reused).toBeGreaterThanOrEqual(100);
    });
  }
});
