/**
 * Idempotency keys of one HTTP source: which keys were answered, and with
 * what, for `idempotency_window`, across restarts. A small append-only file
 * under data_dir (`ingest/<source>.idempotency`, mode 0600), one JSON line
 * per key (`{"k":sha256(key),"t":ms,"a":answer}`), read back at start (a
 * torn last line from a crash is skipped); rewritten without the expired
 * and evicted entries when it holds twice the live ones. Bounded: at most
 * `maxKeys` in memory and on disk after a rewrite, the oldest forgotten
 * first.
 *
 * The key is written after the records were accepted and before the answer
 * is sent: a crash between the two at worst ingests a retried batch twice;
 * it never answers "accepted" for records that were not. The write is not
 * fsynced (a killed process loses nothing the kernel has; a power cut may
 * lose the last keys).
 */
import crypto from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { mkdirPrivate, PRIVATE_FILE_MODE } from '../../core/private-dir.js';

interface Entry {
  t: number;
  a: Record<string, unknown>;
}

export class IdempotencyStore {
  readonly path: string;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Insertion order is answer order: the first entries are the oldest. */
  readonly #entries = new Map<string, Entry>();
  #fd: number | undefined;
  #lines = 0;
  /** Lines that could not be read back at load (a torn write). */
  skipped = 0;

  constructor(dataDir: string, source: string, windowMs: number, maxKeys: number, now: () => number = Date.now) {
    this.path = path.join(dataDir, 'ingest', `${source}.idempotency`);
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  static hash(key: string): string {
    return crypto.createHash('sha256').update(key).digest('hex');
  }

  /** Read what an earlier run remembered; open the file for appending. */
  open(): void {
    mkdirPrivate(path.dirname(this.path));
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const since = this.#now() - this.#windowMs;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      this.#lines++;
      try {
        const v = JSON.parse(line) as { k?: unknown; t?: unknown; a?: unknown };
        if (typeof v.k !== 'string' || typeof v.t !== 'number' || v.a === null || typeof v.a !== 'object') throw new Error('bad entry');
        if (v.t <= since) continue;
        this.#entries.delete(v.k);
        this.#entries.set(v.k, { t: v.t, a: v.a as Record<string, unknown> });
      } catch {
        this.skipped++;
      }
    }
    this.#evict();
    if (this.#lines > this.#entries.size) this.#rewrite();
    else this.#fd = openSync(this.path, 'a', PRIVATE_FILE_MODE);
  }

  /** The answer given to this key within the window, if any. */
  get(hash: string): Record<string, unknown> | undefined {
    const e = this.#entries.get(hash);
    if (e === undefined) return undefined;
    if (e.t <= this.#now() - this.#windowMs) {
      this.#entries.delete(hash);
      return undefined;
    }
    return e.a;
  }

  /** Remember an answer (written through to the file before this returns). */
  put(hash: string, answer: Record<string, unknown>): void {
    const t = this.#now();
    this.#entries.delete(hash);
    this.#entries.set(hash, { t, a: answer });
    if (this.#fd === undefined) return;
    writeSync(this.#fd, JSON.stringify({ k: hash, t, a: answer }) + '\n');
    this.#lines++;
    this.#evict();
    if (this.#lines >= Math.max(1024, 2 * this.#entries.size)) this.#rewrite();
  }

  /** Forget the expired and, past maxKeys, the oldest. */
  #evict(): void {
    const since = this.#now() - this.#windowMs;
    for (const [k, e] of this.#entries) {
      if (e.t > since && this.#entries.size <= this.#maxKeys) break;
      this.#entries.delete(k);
    }
  }

  /** Write the live entries to a new file and swap it in (a crash leaves the old file or the new one). */
  #rewrite(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    const tmp = `${this.path}.${process.pid}.tmp`;
    let out = '';
    for (const [k, e] of this.#entries) out += JSON.stringify({ k, t: e.t, a: e.a }) + '\n';
    writeFileSync(tmp, out, { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, this.path);
    this.#lines = this.#entries.size;
    this.#fd = openSync(this.path, 'a', PRIVATE_FILE_MODE);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
