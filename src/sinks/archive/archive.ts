/**
 * The archive sink (`[[archive]]`): one stream's records appended to a file,
 * as wire NDJSON or as raw lines (the message of each record, which for a
 * `format = "plain"` source is the line as read). A durable stage: each
 * batch is written (one write) before `push` returns.
 *
 * Rotation by size: past `max_size` the file becomes `<path>.1`, `.1`
 * becomes `.2`, ... and the oldest beyond `max_files` is deleted. The file
 * is reopened when it was moved or deleted from outside (logrotate's
 * create mode: checked by inode every `check_interval`; copytruncate needs
 * nothing, the descriptor appends). Below `min_free` free bytes on its disk
 * writing pauses: those records are not written, counted as
 * `sluice_dropped_total{stage="archive",reason="disk_floor"}`.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DurableStage } from '../../core/pipeline-runtime.js';
import { Health, problemOf } from '../../core/health.js';
import type { LogRecord } from '../../core/record.js';
import { PRIVATE_FILE_MODE } from '../../core/private-dir.js';
import { duration, size } from '../../config/units.js';
import { encodedTail } from '../../wire/encoded.js';
import { serializeRecord } from '../../wire/json.js';

export const archiveSchema = z
  .strictObject({
    stream: z.string().min(1).describe('The stream archived.'),
    path: z.string().min(1).describe('The file written (its directory is created); rotated files get .1, .2, ...'),
    format: z.enum(['ndjson', 'raw']).default('ndjson').describe('"ndjson": wire records, one per line; "raw": each record\'s message as a line (the input line itself for a format = "plain" source).'),
    max_size: size('Rotate when the file would grow past this.').default(100 * 1024 * 1024),
    max_files: z.number().int().min(1).max(1000).default(10).describe('Files kept, the current one included; the oldest beyond is deleted.'),
    min_free: size('Free bytes its filesystem must keep; below it writing pauses (records counted as dropped, reason disk_floor).').default(256 * 1024 * 1024),
    check_interval: duration('How often the file\'s inode and the free space are checked.').default(1_000),
  })
  .describe('Write one stream to files: NDJSON records or raw lines, rotated by size.');

export type ArchiveConfig = z.output<typeof archiveSchema>;

export interface ArchiveCounters {
  records: number;
  bytes: number;
  rotations: number;
  reopened: number;
  dropped_disk_floor: number;
  write_errors: number;
}

export class ArchiveStage implements DurableStage {
  readonly name: string;
  readonly counters: ArchiveCounters = { records: 0, bytes: 0, rotations: 0, reopened: 0, dropped_disk_floor: 0, write_errors: 0 };
  readonly #cfg: ArchiveConfig;
  readonly #drop: (stage: string, reason: string, n: number) => void;
  #fd = -1;
  #ino = 0;
  #size = 0;
  #belowFloor = false;
  /** error while its file cannot be written, degraded below min_free. */
  readonly health: Health;
  readonly #timer: NodeJS.Timeout;

  constructor(cfg: ArchiveConfig, deps: { drop(stage: string, reason: string, n: number): void }) {
    this.#cfg = cfg;
    this.name = `archive:${cfg.stream}`;
    this.health = new Health('sink', cfg.stream, 'archive');
    this.#drop = deps.drop;
    mkdirSync(path.dirname(cfg.path), { recursive: true });
    this.#open();
    this.health.set('running');
    this.#check();
    this.#timer = setInterval(() => this.#check(), cfg.check_interval);
    this.#timer.unref();
  }

  push(records: LogRecord[]): boolean {
    const raw = this.#cfg.format === 'raw';
    const parts: Buffer[] = [];
    let n = 0;
    for (const r of records) {
      if (r.stream !== this.#cfg.stream) continue;
      n++;
      if (raw) parts.push(Buffer.from(r.message + '\n'));
      else {
        const t = encodedTail(r);
        parts.push(t !== undefined ? Buffer.concat([Buffer.from('{"seq":' + r.seq), t.buf.subarray(t.start, t.end), NL]) : Buffer.from(serializeRecord(r) + '\n'));
      }
    }
    if (n === 0) return true;
    if (this.#belowFloor) {
      this.counters.dropped_disk_floor += n;
      this.#drop('archive', 'disk_floor', n);
      return true;
    }
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    try {
      if (this.#size > 0 && this.#size + buf.length > this.#cfg.max_size) this.#rotate();
      let off = 0;
      while (off < buf.length) off += writeSync(this.#fd, buf, off, buf.length - off);
      this.#size += buf.length;
      this.counters.records += n;
      this.counters.bytes += buf.length;
      if (this.health.state === 'error') this.health.recover();
    } catch (err) {
      this.counters.write_errors++;
      this.#drop('archive', 'write_error', n);
      const p = problemOf(err);
      this.health.set('error', { code: p.code, message: `cannot write ${this.#cfg.path}: ${p.message}` });
      this.#reopen();
    }
    return true;
  }

  onDrain(cb: () => void): void {
    queueMicrotask(cb); // never full: it writes as it is handed records
  }

  close(): void {
    clearInterval(this.#timer);
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.health.set('stopped');
  }

  status(): Record<string, unknown> {
    return { stream: this.#cfg.stream, path: this.#cfg.path, format: this.#cfg.format, size: this.#size, below_floor: this.#belowFloor, counters: { ...this.counters }, ...this.health.view() };
  }

  #open(): void {
    this.#fd = openSync(this.#cfg.path, 'a', PRIVATE_FILE_MODE);
    const st = fstatSync(this.#fd);
    this.#ino = st.ino;
    this.#size = st.size;
  }

  #reopen(): void {
    try {
      if (this.#fd >= 0) closeSync(this.#fd);
    } catch {
      /* closed */
    }
    this.#fd = -1;
    try {
      this.#open();
    } catch (err) {
      const p = problemOf(err);
      this.health.set('error', { code: p.code, message: `cannot open ${this.#cfg.path}: ${p.message}` });
    }
  }

  /** <path> -> <path>.1 -> ... ; the oldest beyond max_files deleted. */
  #rotate(): void {
    const p = this.#cfg.path;
    const keep = this.#cfg.max_files - 1;
    if (keep === 0) unlinkQuiet(p);
    else {
      unlinkQuiet(`${p}.${keep}`);
      for (let i = keep - 1; i >= 1; i--) renameQuiet(`${p}.${i}`, `${p}.${i + 1}`);
      renameQuiet(p, `${p}.1`);
    }
    closeSync(this.#fd);
    this.#fd = -1;
    this.#open();
    this.counters.rotations++;
  }

  /** Moved or deleted from outside: a new file at the path. The free-space floor. */
  #check(): void {
    let ino = -1;
    try {
      ino = statSync(this.#cfg.path).ino;
    } catch {
      /* gone */
    }
    if (ino !== this.#ino) {
      this.counters.reopened++;
      this.#reopen();
    } else {
      // truncated from outside (copytruncate): appends go on at the new end
      try {
        this.#size = fstatSync(this.#fd).size;
      } catch {
        /* reopened next time */
      }
    }
    try {
      const fs = statfsSync(path.dirname(this.#cfg.path));
      const free = fs.bavail * fs.bsize;
      const below = free < this.#cfg.min_free;
      if (below && !this.#belowFloor) this.health.set('degraded', { code: 'disk_floor', message: `free space ${free} bytes is below min_free (${this.#cfg.min_free}): writing pauses, records are counted as dropped` });
      else if (!below && this.#belowFloor) this.health.recover();
      this.#belowFloor = below;
    } catch {
      /* statfs unsupported: no floor */
    }
  }
}

const NL = Buffer.from('\n');

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* absent */
  }
}

function renameQuiet(a: string, b: string): void {
  try {
    renameSync(a, b);
  } catch {
    /* absent */
  }
}
