/**
 * One tailed file: its identity (device + inode + a fingerprint of its first
 * bytes), its read position and committed (checkpointed) offset, and the
 * bytes -> lines step for it (`RecordBuilder`, builder.ts, shared with the
 * crash replay so a replayed batch is rebuilt exactly as it was first built). The tailer reads through its own open descriptor, so a file
 * renamed or deleted under it is still read to its end. Scheduling (when to
 * read, push, flush, retire) belongs to source.ts.
 */
import { give, take } from '../../parse/shared-buffers.js';
import { readSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { FileSourceConfig } from './config.js';
import { fileOrigin, RecordBuilder } from './builder.js';
import type { FileCounters } from './counters.js';
import type { Lane } from '../../parse/stage.js';

/** Bytes hashed into a file's fingerprint once it has that many. */
export const FINGERPRINT_BYTES = 256;
/** Below this read offset the fingerprint is verified on every refresh, not only at polls. */
const RECHECK_BELOW = 64 * 1024;
/** Smallest read, so a file that grows between stat and read is not read in crumbs. */
const MIN_READ = 16 * 1024;

/** `len-hash`: a 64-bit hash (hex) of the first `len` bytes. */
export function fingerprintOf(head: Buffer): string {
  return head.length + '-' + createHash('sha256').update(head).digest('hex').slice(0, 16);
}

export interface KeyParts {
  dev: string;
  ino: string;
  /** dev:ino, the identity of an open file. */
  id: string;
  fp: string;
  fpLen: number;
}

/** Split `dev:ino:len-hash`; undefined when malformed. */
export function parseKey(key: string): KeyParts | undefined {
  const m = /^(\d+):(\d+):((\d+)-[0-9a-f]{16})$/.exec(key);
  if (!m) return undefined;
  return { dev: m[1]!, ino: m[2]!, id: m[1] + ':' + m[2], fp: m[3]!, fpLen: Number(m[4]) };
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  // Bounded: each round either reads bytes or stops at EOF.
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/** Does the file behind `fh` start with the bytes fingerprinted as `fp`? */
export async function fingerprintMatches(fh: FileHandle, fp: string): Promise<boolean> {
  const len = Number(fp.slice(0, fp.indexOf('-')));
  const head = await readAt(fh, 0, len);
  return head.length === len && fingerprintOf(head) === fp;
}

/**
 * Where a fresh splitter may start at `pos`: a position that does not follow a
 * '\n' ends an idle-flushed partial line, and a '\n' right there terminates
 * that line (the live splitter swallowed it), so it is skipped.
 */
export async function alignStart(fh: FileHandle, pos: number): Promise<number> {
  if (pos === 0) return 0;
  const two = await readAt(fh, pos - 1, 2);
  return two.length === 2 && two[0] !== 0x0a && two[1] === 0x0a ? pos + 1 : pos;
}

/** A file's names: the path a glob matched, and the real path of the file read (see links.ts FoundFile). */
export interface FileName {
  path: string;
  real: string;
  /** `path` is a symlink to `real`. */
  viaLink: boolean;
}

export interface RefreshResult {
  size: number;
  nlink: number;
  /** Shorter than what was read, or its first bytes changed: read again from 0. */
  truncated: boolean;
}

export class FileTailer {
  readonly dev: string;
  readonly ino: string;
  /** dev:ino: the identity of the open file (unique while it is open). */
  readonly id: string;
  #name: FileName;
  #fp: string;
  #fpLen: number;
  readonly #fh: FileHandle;
  readonly #readBuffer: number;
  readonly #counters: FileCounters;
  readonly builder: RecordBuilder;

  /** Bytes handed to the builder (the next read position). */
  readPos = 0;
  /** Offset just past the last record pushed (what the checkpoint stores). */
  committed = 0;
  /** Size at the last stat. */
  size: number;

  // Scheduling state, owned by source.ts.
  reading = false;
  dirty = false;
  closed = false;
  /** Renamed away or deleted: read to its end, retire after rotate_wait of quiet. */
  gone = false;
  goneAt = 0;
  goneCounted = false;
  /** Last time bytes were read (or the file was opened). */
  lastDataAt: number;
  /** Set by the poll: verify the fingerprint on the next refresh. */
  checkFp = false;
  /** Poll generation of the last read error (no retry before the next poll). */
  errorGen = -1;
  /** Its lane at the parse stage (set when the source registers it): batches commit in the order read. */
  lane: Lane | null = null;
  #skipLf = false;

  private constructor(fh: FileHandle, name: FileName, dev: string, ino: string, size: number, fp: string, cfg: FileSourceConfig, counters: FileCounters) {
    this.#fh = fh;
    this.#name = { ...name };
    this.dev = dev;
    this.ino = ino;
    this.id = dev + ':' + ino;
    this.size = size;
    this.#fp = fp;
    this.#fpLen = Number(fp.slice(0, fp.indexOf('-')));
    this.#readBuffer = cfg.read_buffer;
    this.#counters = counters;
    this.builder = new RecordBuilder(cfg, fileOrigin(name.real, name.viaLink ? name.path : undefined), counters);
    this.lastDataAt = Date.now();
  }

  /**
   * Open the regular file at `name.real` and fingerprint it. Throws the fs error (ENOENT, EACCES, ...),
   * `ELOOP` when the real path is now a symlink, or `ENOTREG`. The caller checks that it is the file it
   * meant (links.ts verifyOpened).
   */
  static async open(name: FileName, cfg: FileSourceConfig, counters: FileCounters): Promise<FileTailer> {
    // O_NONBLOCK: a FIFO swapped in after the scan's stat must not block a threadpool thread (no effect on regular files).
    // O_NOFOLLOW: a real path has no link in it; one that is a link now was swapped in after the check.
    const fh = await open(name.real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) throw Object.assign(new Error(`${name.real}: not a regular file`), { code: 'ENOTREG' });
      const size = Number(st.size);
      const head = await readAt(fh, 0, Math.min(size, FINGERPRINT_BYTES));
      return new FileTailer(fh, name, String(st.dev), String(st.ino), size, fingerprintOf(head), cfg, counters);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  /** The path the glob matched (the link's path when reached through one): rotation is detected by it. */
  get path(): string {
    return this.#name.path;
  }

  /** The real path of the file read: `origin.path`, the status and the checkpoint. */
  get realPath(): string {
    return this.#name.real;
  }

  /** The link's path when the file was reached through one: `origin.link`. */
  get link(): string | undefined {
    return this.#name.viaLink ? this.#name.path : undefined;
  }

  /** The file is known by other names now (renamed within the globs, another link to it). */
  rename(name: FileName): void {
    this.#name = { ...name };
    this.builder.origin = fileOrigin(name.real, this.link);
  }

  /** The path the kernel has for the open descriptor now (Linux /proc/self/fd); null where it cannot tell. */
  openedPath(): Promise<string | null> {
    return readlink(`/proc/self/fd/${this.#fh.fd}`).catch(() => null);
  }

  /** `dev:ino:fingerprint`, as stored in checkpoints. */
  get key(): string {
    return this.id + ':' + this.#fp;
  }

  /** True when the file is still the one a checkpoint key describes (same dev:ino checked by the caller). */
  matchesFingerprint(fp: string): Promise<boolean> {
    return fingerprintMatches(this.#fh, fp);
  }

  /** Start reading at `pos` (a checkpoint offset, 0, or the end). */
  async seek(pos: number): Promise<void> {
    this.builder.reset();
    this.#skipLf = false;
    let p = pos;
    if (pos > 0) {
      // After an idle-flushed partial line, a '\n' that follows terminates it (see alignStart);
      // when that byte is not written yet, the first read checks it.
      const two = await readAt(this.#fh, pos - 1, 2);
      if (two.length >= 1 && two[0] !== 0x0a) {
        if (two.length === 2) p += two[1] === 0x0a ? 1 : 0;
        else this.#skipLf = true;
      }
    }
    this.readPos = p;
    this.committed = p;
  }

  /** Re-stat through the descriptor: size, links, and whether the content was truncated or replaced. */
  async refresh(): Promise<RefreshResult> {
    const st = await this.#fh.stat({ bigint: true });
    const size = Number(st.size);
    const nlink = Number(st.nlink);
    this.size = size;
    let truncated = size < this.readPos;
    // The first bytes are re-checked at each poll, and on every refresh while the offset is small:
    // there a truncated file can regrow past the old offset before we look (copytruncate race).
    const grewFp = this.#fpLen < FINGERPRINT_BYTES && size > this.#fpLen;
    if (!truncated && (this.checkFp || grewFp || (this.readPos > 0 && this.readPos <= RECHECK_BELOW))) {
      this.checkFp = false;
      if (!(await fingerprintMatches(this.#fh, this.#fp))) truncated = true;
      else if (grewFp) await this.#refingerprint(size);
    }
    return { size, nlink, truncated };
  }

  /** After a truncation (and after the caller pushed what was pending): read again from 0. */
  async restartFromZero(): Promise<void> {
    this.builder.reset();
    this.#skipLf = false;
    this.readPos = 0;
    this.committed = 0;
    const st = await this.#fh.stat({ bigint: true });
    this.size = Number(st.size);
    await this.#refingerprint(this.size);
  }

  async #refingerprint(size: number): Promise<void> {
    const head = await readAt(this.#fh, 0, Math.min(size, FINGERPRINT_BYTES));
    this.#fp = fingerprintOf(head);
    this.#fpLen = head.length;
  }

  /** Read one chunk at the read position into the builder; the bytes read (0 at the end). */
  async readChunk(): Promise<number> {
    const want = Math.min(this.#readBuffer, Math.max(MIN_READ, this.size - this.readPos));
    // A read big enough to go to a parse worker lands in shared memory: its runs of lines are posted
    // to the worker as views, not copied (builder.ts #onRegion).
    const b = this.builder;
    // From the pool (parse/shared-buffers.ts): a new SharedArrayBuffer per read is mapped and zeroed.
    const pooled = want >= b.regionMinBytes ? take(want) : undefined;
    const buf = pooled ?? Buffer.allocUnsafe(want);
    // A synchronous pread: regular files are read from the page cache in
    // microseconds, and the promise round trip through the thread pool left the
    // loop idle ~8% of the time at full speed (bench/). A FIFO (opened
    // O_NONBLOCK) answers EAGAIN when empty: nothing to read now.
    let bytesRead: number;
    try {
      bytesRead = readSync(this.#fh.fd, buf, 0, want, this.readPos);
    } catch (err) {
      if (pooled !== undefined) give(pooled);
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
      throw err;
    }
    if (bytesRead === 0) {
      if (pooled !== undefined) give(pooled);
      return 0;
    }
    const now = Date.now();
    let skip = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (buf[0] === 0x0a) skip = 1;
    }
    this.builder.ingest(buf.subarray(skip, bytesRead), this.readPos + skip, now, pooled);
    this.readPos += bytesRead;
    if (this.readPos > this.size) this.size = this.readPos;
    this.lastDataAt = now;
    this.#counters.bytes += bytesRead;
    return bytesRead;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.#fh.close().catch(() => undefined);
  }
}
