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

  /** The seq to start counting from. */
  load(): number {
    try {
      const j = JSON.parse(readFileSync(this.#file, 'utf8')) as { reserved?: unknown };
      const r = Number(j.reserved);
      this.#reserved = Number.isSafeInteger(r) && r > 0 ? r : 0;
    } catch {
      this.#reserved = 0;
    }
    return this.#reserved;
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
