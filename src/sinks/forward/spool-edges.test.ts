/**
 * The forward spool's edges: the frame layout and what makes a frame
 * invalid, the acknowledgement pointer (saved, unreadable, reserved ids),
 * segments sealed and named, a batch read past its segment's end, and the
 * bookkeeping getters the stage's status shows.
 */
import { existsSync, fstatSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { SlotFile } from '../../core/slot-file.js';
import { HEADER_BYTES, readFrame, Spool } from './spool.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'sluice-spool-'));
const opts = { fsync: 'off' as const, fsyncIntervalMs: 1000 };
const payload = (i: number, n = 10) => Buffer.from(`batch ${i} `.repeat(n));
const segs = (d: string) => readdirSync(d).filter((f) => f.endsWith('.spool')).sort();

/** A frame as the spool writes it (header fields big-endian, crc over the header's first 32 bytes and the payload). */
function frame(o: { id?: number; gzip?: boolean; records?: number; created?: number; body?: Buffer; magic?: number; crc?: number; len?: number } = {}): Buffer {
  const body = o.body ?? Buffer.from('{"seq":1}\n');
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32BE(o.magic ?? 0x534c4231, 0);
  h.writeUInt8(o.gzip ? 1 : 0, 4);
  h.writeUInt32BE(o.len ?? body.length, 8);
  h.writeUInt32BE(o.records ?? 1, 12);
  h.writeBigUInt64BE(BigInt(o.id ?? 1), 16);
  h.writeDoubleBE(o.created ?? 1_700_000_000_123, 24);
  h.writeUInt32BE(o.crc ?? crc32(body, crc32(h.subarray(0, 32))), 32);
  return Buffer.concat([h, body]);
}

describe('readFrame', () => {
  it('reads every header field of a valid frame, at any offset', () => {
    const f = frame({ id: 42, gzip: true, records: 7, created: 1_700_000_000_123 });
    expect(readFrame(f, 0)).toEqual({ gzip: true, len: f.length - HEADER_BYTES, records: 7, id: 42, created: 1_700_000_000_123 });
    const two = Buffer.concat([Buffer.from('junk'), frame({ id: 3, gzip: false })]);
    expect(readFrame(two, 4)).toMatchObject({ id: 3, gzip: false });
    // the gzip flag is the low bit of its byte
    const g = frame({ id: 5 });
    g.writeUInt8(2, 4);
    g.writeUInt32BE(crc32(g.subarray(HEADER_BYTES), crc32(g.subarray(0, 32))), 32);
    expect(readFrame(g, 0)?.gzip).toBe(false);
  });

  it('is undefined for a wrong magic, a short header, a payload past the end, a bad crc, or an id below 1', () => {
    const ok = frame();
    expect(readFrame(ok, 0)).toBeDefined();
    expect(readFrame(frame({ magic: 0x534c4232 }), 0)).toBeUndefined();
    expect(readFrame(ok.subarray(0, HEADER_BYTES - 1), 0)).toBeUndefined();
    expect(readFrame(ok.subarray(0, ok.length - 1), 0)).toBeUndefined();
    expect(readFrame(ok, 1)).toBeUndefined();
    expect(readFrame(frame({ crc: 12345 }), 0)).toBeUndefined();
    expect(readFrame(frame({ id: 0 }), 0)).toBeUndefined();
    expect(readFrame(frame({ id: 2 ** 53 + 2 }), 0)).toBeUndefined();
    // a header claiming more than 256 MiB is damage even if the buffer were that long
    const huge = frame({ len: 256 * 1024 * 1024 + 1 });
    expect(readFrame(huge, 0)).toBeUndefined();
    // exactly the header plus the payload, nothing after it, is whole
    expect(readFrame(Buffer.concat([Buffer.alloc(3), ok]), 3)).toBeDefined();
  });
});

describe('readFrame bounds', () => {
  it('a frame with an empty payload is whole at the very end of the buffer; a buffer shorter than a header is not a frame', () => {
    const empty = frame({ body: Buffer.alloc(0), id: 9 });
    expect(empty.length).toBe(HEADER_BYTES);
    expect(readFrame(empty, 0)).toMatchObject({ id: 9, len: 0 });
    expect(readFrame(Buffer.concat([frame({ id: 1 }), empty]), frame({ id: 1 }).length)).toMatchObject({ id: 9 });
    expect(readFrame(empty.subarray(0, 10), 0)).toBeUndefined(); // the magic, then too little to read a length from
  });

  it('a length reaching past the buffer\'s end is not a frame, even when the crc matches the bytes that are there', () => {
    const body = Buffer.from('{"seq":1}\n');
    const h = frame({ body, len: body.length + 5 }).subarray(0, HEADER_BYTES);
    h.writeUInt32BE(crc32(body, crc32(h.subarray(0, 32))), 32);
    expect(readFrame(Buffer.concat([h, body]), 0)).toBeUndefined();
    expect(readFrame(Buffer.concat([Buffer.from('xy'), h, body]), 2)).toBeUndefined();
  });
});

describe('Spool bookkeeping', () => {
  it('writes frames readFrame reads back, in a segment named by its first id', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    const a = s.append(payload(1), 3, true, 1_700_000_000_500);
    const b = s.append(payload(2), 4, false, 1_700_000_000_600);
    s.close();
    expect(segs(d)).toEqual(['seg-0000000000000001.spool']);
    const buf = readFileSync(path.join(d, segs(d)[0]!));
    expect(buf.length).toBe(a.bytes + b.bytes);
    expect(readFrame(buf, a.off)).toEqual({ gzip: true, len: payload(1).length, records: 3, id: 1, created: 1_700_000_000_500 });
    expect(readFrame(buf, b.off)).toEqual({ gzip: false, len: payload(2).length, records: 4, id: 2, created: 1_700_000_000_600 });
    expect(b.off).toBe(a.bytes);
    expect(a).toMatchObject({ id: 1, records: 3, gzip: true, created: 1_700_000_000_500, bytes: HEADER_BYTES + payload(1).length, off: 0, len: payload(1).length });
  });

  it('bytes, batches, records, oldestCreated and after() follow appends and acks', () => {
    const s = new Spool(dir(), opts);
    s.open();
    expect([s.bytes, s.batches, s.records, s.oldestCreated]).toEqual([0, 0, 0, undefined]);
    const a = s.append(payload(1), 3, false, 1000);
    const b = s.append(payload(2), 4, false, 2000);
    const c = s.append(payload(3), 5, false, 3000);
    expect([s.bytes, s.batches, s.records, s.oldestCreated]).toEqual([a.bytes + b.bytes + c.bytes, 3, 12, 1000]);
    expect(s.after(a)).toBe(b);
    expect(s.after(c)).toBeUndefined();
    s.ack(b); // out of order: the one in the middle
    expect(s.after(a)).toBe(c);
    expect(s.after(b)).toBeUndefined(); // no longer pending
    expect([s.bytes, s.batches, s.records, s.oldestCreated]).toEqual([a.bytes + c.bytes, 2, 8, 1000]);
    s.ack(b); // acknowledging twice changes nothing
    expect([s.batches, s.records]).toEqual([2, 8]);
    s.ack(a);
    expect(s.oldestCreated).toBe(3000);
    s.close();
  });

  it('the ack pointer: every id below the oldest pending; with none pending the last appended, not an id reserved for an open batch', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    const a = s.append(payload(1), 1, false);
    const b = s.append(payload(2), 1, false);
    expect(s.lastId).toBe(2);
    const reserved = s.reserveId();
    expect(reserved).toBe(3);
    expect(s.lastId).toBe(2); // reserved, not appended
    s.ack(b);
    s.ack(a);
    s.close();
    const again = new Spool(d, opts);
    expect(again.open().batches).toBe(0);
    expect(again.lastId).toBe(2);
    expect(again.reserveId()).toBe(3);
    // a batch appended under an id reserved earlier raises what comes next
    expect(again.append(payload(9), 1, false, 0, 7).id).toBe(7);
    expect(again.lastId).toBe(7);
    expect(again.reserveId()).toBe(8);
    again.close();
  });

  it('an unreadable ack file: everything on disk is given back (the central absorbs the repeats)', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    for (let i = 0; i < 3; i++) s.append(payload(i), 1, false);
    s.ack(s.peek()!);
    s.close();
    for (const bad of ['{"id":-1,"gen":9}', '{"id":1.5,"gen":9}', '{"id":"2","gen":9}', '{"gen":9}', 'not json']) {
      writeFileSync(path.join(d, 'acked.json'), bad);
      if (existsSync(path.join(d, 'acked.json.b'))) writeFileSync(path.join(d, 'acked.json.b'), bad);
      const again = new Spool(d, opts);
      const r = again.open();
      expect(r.batches).toBe(3);
      expect(again.peek()!.id).toBe(1);
      again.close();
    }
  });

  it('a segment full past segmentBytes is sealed and the next batch starts a new one; one batch larger than it still gets a segment', () => {
    const d = dir();
    const s = new Spool(d, { ...opts, segmentBytes: 3 * (HEADER_BYTES + payload(0).length) });
    s.open();
    for (let i = 0; i < 4; i++) s.append(payload(i), 1, false);
    expect(segs(d)).toEqual(['seg-0000000000000001.spool', 'seg-0000000000000004.spool']);
    s.append(payload(5, 100), 1, false); // alone bigger than a segment
    s.append(payload(6), 1, false);
    expect(segs(d)).toEqual(['seg-0000000000000001.spool', 'seg-0000000000000004.spool', 'seg-0000000000000005.spool', 'seg-0000000000000006.spool']);
    s.close();
  });

  it('a segment sealed with nothing pending is deleted at once; an earlier run\'s segment gets no appends', () => {
    const d = dir();
    const s = new Spool(d, { ...opts, segmentBytes: 2 * (HEADER_BYTES + payload(0).length) });
    s.open();
    s.append(payload(1), 1, false);
    s.append(payload(2), 1, false);
    s.ack(s.peek()!);
    s.ack(s.peek()!); // the open segment is empty but not sealed: kept for appends
    expect(segs(d)).toEqual(['seg-0000000000000001.spool']);
    s.append(payload(3), 1, false); // does not fit: the empty one is sealed and removed
    expect(segs(d)).toEqual(['seg-0000000000000003.spool']);
    s.close();
    const again = new Spool(d, opts);
    again.open();
    again.append(payload(4), 1, false);
    expect(segs(d)).toEqual(['seg-0000000000000003.spool', 'seg-0000000000000004.spool']);
    again.ack(again.peek()!); // batch 3 done: its sealed segment goes
    expect(segs(d)).toEqual(['seg-0000000000000004.spool']);
    again.close();
  });

  it('at open: a segment with every batch acknowledged is removed; files that are not segments are left alone', () => {
    const d = dir();
    const s = new Spool(d, { ...opts, segmentBytes: 1 });
    s.open();
    s.append(payload(1), 1, false);
    s.append(payload(2), 1, false);
    s.close();
    writeFileSync(path.join(d, 'seg-1.spool'), 'not a segment name');
    writeFileSync(path.join(d, 'acked.json'), '{"id":1,"gen":99}');
    const again = new Spool(d, opts);
    expect(again.open()).toMatchObject({ batches: 1, corrupt_frames: 0 });
    expect(readdirSync(d).filter((f) => f.startsWith('seg-')).sort()).toEqual(['seg-0000000000000002.spool', 'seg-1.spool']);
    again.close();
  });

  it('reading a batch whose segment was cut short throws, naming the segment and the batch', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    const b = s.append(payload(1), 1, false);
    truncateSync(path.join(d, segs(d)[0]!), HEADER_BYTES + 5);
    expect(() => s.read(b)).toThrow(/spool segment .*seg-0000000000000001\.spool ends inside batch 1/);
    s.close();
  });

  it('dropOldest drops nothing while there is room, and from the oldest on without one in flight', () => {
    const s = new Spool(dir(), opts);
    s.open();
    const bs = [1, 2, 3].map((i) => s.append(payload(i), i, false));
    const total = bs.reduce((n, b) => n + b.bytes, 0);
    expect(s.dropOldest(total + 10, 10)).toEqual({ batches: 0, records: 0 });
    expect(s.dropOldest(total + 10, 11)).toEqual({ batches: 1, records: 1 });
    expect(s.peek()).toBe(bs[1]);
    expect(s.dropOldest(0, 1)).toEqual({ batches: 2, records: 5 });
    expect(s.batches).toBe(0);
    s.close();
  });
});

describe('Spool reopened', () => {
  it('counts what it found (bytes, batches, records, last id) and numbers the next batch after the highest found', () => {
    const d = dir();
    const s = new Spool(d, { ...opts, segmentBytes: 2 * (HEADER_BYTES + payload(0).length) });
    s.open();
    const bs = [1, 2, 3].map((i) => s.append(payload(i), i, false, 1000 + i));
    s.close();
    const again = new Spool(d, opts);
    expect(again.open()).toEqual({ batches: 3, records: 6, corrupt_frames: 0, corrupt_bytes: 0 });
    expect([again.bytes, again.batches, again.records, again.lastId, again.oldestCreated]).toEqual([bs.reduce((n, b) => n + b.bytes, 0), 3, 6, 3, 1001]);
    // given back in id order across segments
    const ids: number[] = [];
    for (let b = again.peek(); b !== undefined; b = again.peek()) {
      ids.push(b.id);
      expect(again.read(b)).toEqual(payload(b.id));
      again.ack(b);
    }
    expect(ids).toEqual([1, 2, 3]);
    expect(again.reserveId()).toBe(4);
    again.close();
  });

  it('one pending batch and nothing acknowledged: the next id is past it, not its own', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    s.append(payload(1), 1, false);
    s.close();
    const again = new Spool(d, opts);
    again.open();
    expect(again.append(payload(2), 1, false).id).toBe(2);
    again.close();
  });

  it('ids reserved one after another; a batch appended under exactly the next id moves the next one on', () => {
    const s = new Spool(dir(), opts);
    s.open();
    expect([s.reserveId(), s.reserveId()]).toEqual([1, 2]);
    expect(s.append(payload(3), 1, false, 0, 3).id).toBe(3);
    expect(s.reserveId()).toBe(4);
    s.close();
  });

  it('only seg-<16 digits>.spool files are segments', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    s.append(payload(1), 1, false);
    s.close();
    const good = readFileSync(path.join(d, 'seg-0000000000000001.spool'));
    // copies under names that are not segments: their frames must not be loaded (ids 1 again)
    writeFileSync(path.join(d, 'xseg-0000000000000001.spool'), good);
    writeFileSync(path.join(d, 'seg-0000000000000001.spool.bak'), good);
    const again = new Spool(d, opts);
    expect(again.open()).toMatchObject({ batches: 1, records: 1 });
    again.close();
  });

  it('the magic inside a damaged frame\'s payload is not taken for a frame: the scan goes on to the next valid one', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    const bs = [Buffer.from('SLB1 SLB1 inside'), payload(2), payload(3)].map((p) => s.append(p, 1, false));
    s.close();
    const seg = path.join(d, 'seg-0000000000000001.spool');
    const buf = readFileSync(seg);
    buf[bs[0]!.off + 1] ^= 0xff; // the first frame's magic
    writeFileSync(seg, buf);
    const again = new Spool(d, opts);
    expect(again.open()).toMatchObject({ batches: 2, corrupt_frames: 1, corrupt_bytes: bs[0]!.bytes });
    again.close();
  });

  it('an older id appended later moves neither the next id nor the last one back', () => {
    const s = new Spool(dir(), opts);
    s.open();
    expect([s.reserveId(), s.reserveId(), s.reserveId()]).toEqual([1, 2, 3]);
    s.append(payload(3), 1, false, 0, 3);
    s.append(payload(2), 1, false, 0, 2);
    expect(s.lastId).toBe(3);
    expect(s.reserveId()).toBe(4);
    s.close();
  });

  it('reopened after an older id was appended later: given back in id order, the last id and the next one from the highest', () => {
    const d = dir();
    const s = new Spool(d, opts);
    s.open();
    s.reserveId();
    s.reserveId();
    s.reserveId();
    s.append(payload(3), 1, false, 0, 3);
    s.append(payload(2), 1, false, 0, 2);
    s.close();
    const again = new Spool(d, opts);
    again.open();
    expect(again.peek()!.id).toBe(2);
    expect(again.after(again.peek()!)!.id).toBe(3);
    expect(again.lastId).toBe(3);
    expect(again.reserveId()).toBe(4);
    again.close();
  });

  it('a negative id in the ack file is unreadable: an empty spool numbers its next batch 1 (an id 0 batch could never be read back)', () => {
    const d = dir();
    writeFileSync(path.join(d, 'acked.json'), '{"id":-1,"gen":9}');
    const s = new Spool(d, opts);
    expect(s.open()).toMatchObject({ batches: 0 });
    expect([s.lastId, s.reserveId()]).toEqual([0, 1]);
    s.close();
  });
});

describe('Spool acks on disk', () => {
  it('the ack file is written only when the pointer moves (not for a batch acked out of order)', () => {
    const s = new Spool(dir(), opts);
    s.open();
    const [a, b] = [s.append(payload(1), 1, false), s.append(payload(2), 1, false)];
    const save = vi.spyOn(SlotFile.prototype, 'save');
    try {
      s.ack(b!); // the oldest is still pending: the pointer stays at 0
      expect(save).not.toHaveBeenCalled();
      s.ack(a!);
      expect(save.mock.calls).toEqual([[{ id: 2 }]]);
    } finally {
      save.mockRestore();
      s.close();
    }
  });

  it('a segment removed once its batches are done has its file descriptor closed', () => {
    const d = dir();
    const s = new Spool(d, { ...opts, segmentBytes: HEADER_BYTES + payload(1).length });
    s.open();
    const first = s.append(payload(1), 1, false);
    s.append(payload(2), 1, false); // seals the first segment
    s.ack(first);
    expect(segs(d)).toEqual(['seg-0000000000000002.spool']);
    let stillOpen = false;
    try {
      // the number may have been given to another file since (the ack file), one with a name
      stillOpen = fstatSync(first.seg.fd).nlink === 0;
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('EBADF');
    }
    expect(stillOpen).toBe(false);
    s.close();
  });
});
