/**
 * The hub's seq counter across restarts. Seqs are reserved in blocks: the
 * file holds `reserved`, an upper bound of every seq handed out, written
 * (atomically, synchronously) before the counter may pass it. After a crash
 * the counter restarts at `reserved`, so a seq is never reused for another
 * record; after a clean stop `reserved` is the exact last seq.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-dir.js';

const BLOCK = 1_000_000;

export class SeqState {
  #file: string;
  /** The file (`hub-seq.json`), for messages. */
  get path(): string {
    return this.#file;
  }
  #reserved = 0;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    this.#file = path.join(dataDir, 'hub-seq.json');
  }

  /**
   * The seq to start counting from: 0 without a file (a new data_dir). A file
   * that exists but cannot be read or holds no safe integer >= 0 (0: a clean
   * stop before any record) throws:
   * starting over at 0 would hand out seqs that clients already hold (one
   * resuming with `Last-Event-ID` would wait for records it never gets). The
   * file is only ever replaced whole, so this takes an outside hand or a
   * failing disk; the message says what to do.
   */
  load(): number {
    let text: string;
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return (this.#reserved = 0);
      throw new Error(`cannot read ${this.#file}: ${(e as Error).message}`, { cause: e });
    }
    let r: unknown;
    try {
      r = (JSON.parse(text) as { reserved?: unknown } | null)?.reserved;
    } catch {
      r = undefined;
    }
    if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0) {
      throw new Error(
        `${this.#file} holds no usable seq reservation (want {"reserved": <integer >= 0>}, found ${JSON.stringify(text.slice(0, 60))}): ` +
          'restore it, or remove it to count from 0 (clients resuming with an older Last-Event-ID may then miss records)',
      );
    }
    return (this.#reserved = r);
  }

  /** Call after seqs were assigned: reserves the next block before the counter can reach it. */
  ensure(seq: number): void {
    if (seq + BLOCK / 2 > this.#reserved) this.#write(seq + BLOCK);
  }

  /** Clean shutdown: the exact last seq. */
  close(seq: number): void {
    this.#write(seq);
  }

  #write(reserved: number): void {
    this.#reserved = reserved;
    const tmp = this.#file + '.tmp';
    writeFileSync(tmp, JSON.stringify({ reserved }), { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, this.#file);
  }
}
