/**
 * The forward sink's disk spool: every sealed batch is appended to a segment
 * file before it is sent, and forgotten only when the central acknowledged it
 * (or `on_full = "drop_oldest"` dropped it, counted).
 *
 * A segment (`seg-<first id>.spool`, up to SEGMENT_BYTES) is a run of frames:
 *   "SLB1" | flags u8 (1 = gzip) | 3 zero | payload length u32 | records u32 |
 *   batch id u64 | created ms f64 | crc32 u32 (of the header before it and the
 *   payload) | payload
 * all big-endian. Batch ids are monotonic across restarts (the Idempotency-Key
 * is built from them, so a resend after a crash carries the same key). The
 * highest id below which every batch is done is kept in `acked.json`;
 * segments all of whose batches are done are deleted.
 *
 * Power loss can leave a segment torn or garbled: at open each frame is
 * checked (magic, bounds, crc); past a bad one the scan looks for the next
 * valid frame, so the good batches of a damaged segment are kept, and the
 * damage is counted (frames and bytes skipped).
 */
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, unlinkSync, writevSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { SlotFile } from '../../core/slot-file.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/private-dir.js';

const MAGIC = 0x534c4231; // "SLB1"
export const HEADER_BYTES = 36;
/** A segment is closed for appends past this size. */
export const SEGMENT_BYTES = 16 * 1024 * 1024;
/** A frame claiming more than this is damage, not a batch. */
const MAX_PAYLOAD = 256 * 1024 * 1024;

interface Segment {
  file: string;
  fd: number;
  size: number;
  /** Its batches not yet done. */
  pending: number;
  /** No more appends (full, damaged, or from an earlier run). */
  sealed: boolean;
  dirty: boolean;
}

export interface SpooledBatch {
  readonly id: number;
  readonly records: number;
  readonly gzip: boolean;
  readonly created: number;
  /** Frame size on disk (header + payload). */
  readonly bytes: number;
  readonly seg: Segment;
  readonly off: number;
  readonly len: number;
}

export interface SpoolOptions {
  fsync: 'batch' | 'interval' | 'off';
  fsyncIntervalMs: number;
  segmentBytes?: number;
}

export interface RecoverReport {
  batches: number;
  records: number;
  corrupt_frames: number;
  corrupt_bytes: number;
}

export class Spool {
  readonly dir: string;
  readonly #opts: SpoolOptions;
  readonly #acked: SlotFile;
  /** Pending batches, oldest first. */
  readonly #queue: SpooledBatch[] = [];
  readonly #segments: Segment[] = [];
  #ackedId = 0;
  #nextId = 1;
  /** The highest id appended (a reserved id counts once its batch is appended). */
  #lastId = 0;
  #bytes = 0;
  #records = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(dir: string, opts: SpoolOptions) {
    this.dir = dir;
    this.#opts = opts;
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    this.#acked = new SlotFile(path.join(dir, 'acked.json'));
  }

  /** Bytes of pending batches on disk. */
  get bytes(): number {
    return this.#bytes;
  }
  get batches(): number {
    return this.#queue.length;
  }
  get records(): number {
    return this.#records;
  }
  /** When the oldest pending batch was sealed (epoch ms), or undefined. */
  get oldestCreated(): number | undefined {
    return this.#queue[0]?.created;
  }

  /** Load what an earlier run left: every valid pending batch, in id order; damage skipped and counted. */
  open(): RecoverReport {
    const report: RecoverReport = { batches: 0, records: 0, corrupt_frames: 0, corrupt_bytes: 0 };
    try {
      this.#ackedId = this.#acked.load((j) => {
        const id = (j as { id?: unknown }).id;
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new Error('bad acked id');
        return id;
      }) ?? 0;
    } catch {
      this.#ackedId = 0; // unreadable: resend what is on disk (the central's idempotency absorbs repeats)
    }
    this.#nextId = this.#ackedId + 1;
    this.#lastId = this.#ackedId;
    const files = readdirSync(this.dir).filter((f) => /^seg-\d{16}\.spool$/.test(f)).sort();
    for (const f of files) {
      const file = path.join(this.dir, f);
      const buf = readFileSync(file);
      const seg: Segment = { file, fd: openSync(file, 'r+'), size: buf.length, pending: 0, sealed: true, dirty: false };
      let off = 0;
      while (off < buf.length) {
        const frame = readFrame(buf, off);
        if (frame === undefined) {
          // damage: count the bytes up to the next valid frame (or the end) and go on from there
          const next = nextFrame(buf, off + 1);
          report.corrupt_frames++;
          report.corrupt_bytes += next - off;
          off = next;
          continue;
        }
        if (frame.id >= this.#nextId) this.#nextId = frame.id + 1;
        if (frame.id > this.#lastId) this.#lastId = frame.id;
        if (frame.id > this.#ackedId) {
          const b: SpooledBatch = { id: frame.id, records: frame.records, gzip: frame.gzip, created: frame.created, bytes: HEADER_BYTES + frame.len, seg, off, len: frame.len };
          this.#queue.push(b);
          seg.pending++;
          this.#bytes += b.bytes;
          this.#records += b.records;
          report.batches++;
          report.records += b.records;
        }
        off += HEADER_BYTES + frame.len;
      }
      if (seg.pending === 0) this.#remove(seg);
      else this.#segments.push(seg);
    }
    this.#queue.sort((a, b) => a.id - b.id);
    if (this.#opts.fsync === 'interval') {
      this.#timer = setInterval(() => this.#syncDirty(), this.#opts.fsyncIntervalMs);
      this.#timer.unref();
    }
    return report;
  }

  /** The id the next batch gets, taken now (the forward stage names its open batch's journal with it). */
  reserveId(): number {
    return this.#nextId++;
  }

  /** The highest id of a batch that reached the spool (or the acknowledged one, when none is left). */
  get lastId(): number {
    return this.#lastId;
  }

  /** Append a sealed batch (synchronous: it is on its way to the disk when this returns); `id` one reserved before. */
  append(payload: Buffer, records: number, gzip: boolean, created = Date.now(), id = this.reserveId()): SpooledBatch {
    const seg = this.#writable(payload.length, id);
    if (id >= this.#nextId) this.#nextId = id + 1;
    if (id > this.#lastId) this.#lastId = id;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt8(gzip ? 1 : 0, 4);
    header.writeUInt32BE(payload.length, 8);
    header.writeUInt32BE(records, 12);
    header.writeBigUInt64BE(BigInt(id), 16);
    header.writeDoubleBE(created, 24);
    header.writeUInt32BE(crc32(payload, crc32(header.subarray(0, 32))), 32);
    const off = seg.size;
    writevSync(seg.fd, [header, payload], off);
    seg.size += HEADER_BYTES + payload.length;
    seg.pending++;
    seg.dirty = true;
    if (this.#opts.fsync === 'batch') {
      fsyncSync(seg.fd);
      seg.dirty = false;
    }
    const b: SpooledBatch = { id, records, gzip, created, bytes: HEADER_BYTES + payload.length, seg, off, len: payload.length };
    this.#queue.push(b);
    this.#bytes += b.bytes;
    this.#records += records;
    return b;
  }

  /** The oldest pending batch. */
  peek(): SpooledBatch | undefined {
    return this.#queue[0];
  }

  /** The pending batch right after `b` (the sender prepares it while `b` is on its way). */
  after(b: SpooledBatch): SpooledBatch | undefined {
    const i = this.#queue.indexOf(b);
    return i < 0 ? undefined : this.#queue[i + 1];
  }

  /** A batch's payload, read back from its segment. */
  read(b: SpooledBatch): Buffer {
    const out = Buffer.allocUnsafe(b.len);
    let got = 0;
    while (got < b.len) {
      const n = readSync(b.seg.fd, out, got, b.len - got, b.off + HEADER_BYTES + got);
      if (n === 0) throw new Error(`spool segment ${b.seg.file} ends inside batch ${b.id}`);
      got += n;
    }
    return out;
  }

  /** The central acknowledged `b` (or it went to the dead-letter file): forget it. */
  ack(b: SpooledBatch): void {
    const i = this.#queue.indexOf(b);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    this.#done(b);
  }

  /**
   * Drop whole oldest batches (not `keep`, the one in flight) until `need`
   * more bytes fit under `max`; returns what was dropped.
   */
  dropOldest(max: number, need: number, keep?: SpooledBatch): { batches: number; records: number } {
    let batches = 0;
    let records = 0;
    for (let i = 0; i < this.#queue.length && this.#bytes + need > max; ) {
      const b = this.#queue[i]!;
      if (b === keep) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      this.#done(b);
      batches++;
      records += b.records;
    }
    return { batches, records };
  }

  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#segments) {
      if (s.dirty) fsyncSync(s.fd);
      closeSync(s.fd);
    }
    this.#segments.length = 0;
    this.#acked.close();
  }

  #done(b: SpooledBatch): void {
    this.#bytes -= b.bytes;
    this.#records -= b.records;
    const seg = b.seg;
    seg.pending--;
    if (seg.pending === 0 && seg.sealed) {
      this.#segments.splice(this.#segments.indexOf(seg), 1);
      this.#remove(seg);
    }
    // the ack pointer: every id below the oldest pending one is done (ids lost to damage included);
    // with none pending, the last appended (not a reserved id whose batch is still open)
    const acked = this.#queue.length > 0 ? this.#queue[0]!.id - 1 : this.#lastId;
    if (acked !== this.#ackedId) {
      this.#ackedId = acked;
      this.#acked.save({ id: acked });
    }
  }

  #writable(len: number, id: number): Segment {
    const max = this.#opts.segmentBytes ?? SEGMENT_BYTES;
    const cur = this.#segments[this.#segments.length - 1];
    if (cur !== undefined && !cur.sealed && cur.size + HEADER_BYTES + len <= Math.max(max, HEADER_BYTES + len)) return cur;
    if (cur !== undefined && !cur.sealed) {
      cur.sealed = true;
      if (cur.pending === 0) {
        this.#segments.pop();
        this.#remove(cur);
      }
    }
    const file = path.join(this.dir, `seg-${String(id).padStart(16, '0')}.spool`);
    const seg: Segment = { file, fd: openSync(file, 'w+', PRIVATE_FILE_MODE), size: 0, pending: 0, sealed: false, dirty: false };
    this.#segments.push(seg);
    return seg;
  }

  #remove(seg: Segment): void {
    try {
      closeSync(seg.fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(seg.file);
    } catch {
      /* gone already */
    }
  }

  #syncDirty(): void {
    for (const s of this.#segments) {
      if (!s.dirty) continue;
      s.dirty = false;
      fsync(s.fd, () => undefined);
    }
  }
}

interface Frame {
  gzip: boolean;
  len: number;
  records: number;
  id: number;
  created: number;
}

/** The frame at `off`, or undefined when it is not a whole, valid frame. */
export function readFrame(buf: Buffer, off: number): Frame | undefined {
  if (off + HEADER_BYTES > buf.length || buf.readUInt32BE(off) !== MAGIC) return undefined;
  const len = buf.readUInt32BE(off + 8);
  if (len > MAX_PAYLOAD || off + HEADER_BYTES + len > buf.length) return undefined;
  const crc = crc32(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len), crc32(buf.subarray(off, off + 32)));
  if (crc !== buf.readUInt32BE(off + 32)) return undefined;
  const id = Number(buf.readBigUInt64BE(off + 16));
  if (!Number.isSafeInteger(id) || id < 1) return undefined;
  return { gzip: (buf.readUInt8(off + 4) & 1) === 1, len, records: buf.readUInt32BE(off + 12), id, created: buf.readDoubleBE(off + 24) };
}

/** Where the next valid frame at or after `from` starts (the buffer's end when none). */
function nextFrame(buf: Buffer, from: number): number {
  const magic = Buffer.from('SLB1');
  for (let i = buf.indexOf(magic, from); i >= 0; i = buf.indexOf(magic, i + 1)) if (readFrame(buf, i) !== undefined) return i;
  return buf.length;
}
