/** The forward spool on disk: order, acknowledgement across a reopen, damage kept to the damaged frames, drop_oldest. */
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADER_BYTES, Spool } from './spool.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'sluice-spool-'));
const opts = { fsync: 'off' as const, fsyncIntervalMs: 1000 };
const payload = (i: number, n = 100) => Buffer.from(`batch ${i} `.repeat(n));

describe('Spool', () => {
  it('gives batches back in order; an acknowledged batch is not given back after a reopen; ids go on', () => {
    const d = dir();
    const s = new Spool(d, opts);
    expect(s.open()).toEqual({ batches: 0, records: 0, corrupt_frames: 0, corrupt_bytes: 0 });
    const bs = [0, 1, 2].map((i) => s.append(payload(i), 10 + i, false));
    expect(bs.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(s.read(s.peek()!)).toEqual(payload(0));
    s.ack(s.peek()!);
    expect(s.read(s.peek()!)).toEqual(payload(1));
    expect(s.records).toBe(23);
    s.close();
    const again = new Spool(d, opts);
    expect(again.open()).toMatchObject({ batches: 2, records: 23 });
    expect(again.peek()!.id).toBe(2);
    expect(again.read(again.peek()!)).toEqual(payload(1));
    expect(again.append(payload(9), 1, true).id).toBe(4);
    again.close();
  });

  it('deletes a segment once all its batches are done', () => {
    const d = dir();
    const s = new Spool(d, { ...opts, segmentBytes: 2000 });
    s.open();
    for (let i = 0; i < 6; i++) s.append(payload(i), 1, false); // ~900 bytes each: two per segment
    const segs = () => readdirSync(d).filter((f) => f.endsWith('.spool')).length;
    expect(segs()).toBe(3);
    s.ack(s.peek()!);
    s.ack(s.peek()!);
    expect(segs()).toBe(2);
    s.close();
  });

  it('a torn last frame (power loss) is counted; the good batches before it are kept', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    for (let i = 0; i < 3; i++) s.append(payload(i), 5, false);
    s.close();
    const seg = path.join(d, readdirSync(d).find((f) => f.endsWith('.spool'))!);
    const size = readFileSync(seg).length;
    truncateSync(seg, size - 100);
    const again = new Spool(d, opts);
    const r = again.open();
    expect(r).toMatchObject({ batches: 2, records: 10, corrupt_frames: 1 });
    expect(r.corrupt_bytes).toBe(HEADER_BYTES + payload(2).length - 100);
    expect(again.read(again.peek()!)).toEqual(payload(0));
    again.close();
  });

  it('a garbled frame in the middle is skipped: the frames after it are found again by their checksum', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    const bs = [0, 1, 2].map((i) => s.append(payload(i), 1, false));
    s.close();
    const seg = path.join(d, readdirSync(d).find((f) => f.endsWith('.spool'))!);
    const buf = readFileSync(seg);
    buf[bs[1]!.off + HEADER_BYTES + 7] ^= 0xff; // one payload byte of batch 2
    writeFileSync(seg, buf);
    const again = new Spool(d, opts);
    expect(again.open()).toMatchObject({ batches: 2, corrupt_frames: 1, corrupt_bytes: bs[1]!.bytes });
    const ids: number[] = [];
    for (let b = again.peek(); b !== undefined; b = again.peek()) {
      ids.push(b.id);
      again.ack(b);
    }
    expect(ids).toEqual([1, 3]);
    again.close();
  });

  it('dropOldest frees whole oldest batches, not the one in flight, and says how many records', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    const bs = [0, 1, 2, 3].map((i) => s.append(payload(i), 7, false));
    const max = bs[0]!.bytes * 3;
    // room for one more under max: two must go, the first is in flight
    expect(s.dropOldest(max, bs[0]!.bytes, bs[0])).toEqual({ batches: 2, records: 14 });
    const left: number[] = [];
    for (let b = s.peek(); b !== undefined; b = s.peek()) {
      left.push(b.id);
      s.ack(b);
    }
    expect(left).toEqual([1, 4]);
    s.close();
  });
});
