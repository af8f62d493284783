/**
 * What the ring holds once it let records go: a block whose records were all
 * evicted is no longer reachable from the ring, so its bytes (a parse
 * thread's whole output buffer) go with the next collection, not when the
 * slot happens to be written again.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Block } from '../wire/block.js';
import { recordParts } from '../wire/json.js';
import type { LogRecord } from '../core/record.js';
import { ReplayRing } from './ring.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const rec = (message: string): LogRecord => ({ seq: 0, time: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' }, message, fields: {} });

/** A block of `n` records, filled into the ring at seqs from `first`, each costing `bytes`; returns a weak reference to the block. */
function fill(ring: ReplayRing, first: number, n: number, bytes: number): WeakRef<Block> {
  const seqs = Array.from({ length: n }, (_, i) => first + i);
  const block = Block.fromParts(
    seqs,
    seqs.map((s) => recordParts(rec(`m${s}`))),
  );
  for (let i = 0; i < n; i++) ring.add(block, i, first + i, 's', 'a', 3, bytes);
  return new WeakRef(block);
}

describe('ReplayRing memory', () => {
  it('drops its reference to a block once every record of it was evicted (by bytes, the slots not reused)', async () => {
    // room for 100 records, 100 bytes: five records of 20 bytes fill the byte bound
    const ring = new ReplayRing(100, 100);
    const old = fill(ring, 1, 5, 20);
    const kept = fill(ring, 6, 1, 100); // evicts all five by bytes; their slots stay unwritten
    expect(ring.size).toBe(1);
    expect(ring.firstSeq()).toBe(6);
    // collected only when nothing reaches it: a WeakRef is cleared after the turn it was read in
    await new Promise((r) => setImmediate(r));
    gc();
    expect(old.deref()).toBeUndefined();
    expect(kept.deref()).toBeDefined();
    expect(ring.at(0).block).toBe(kept.deref());
    expect(ring.at(0).message).toBe('m6');
  });
});
