/**
 * The forward stage's open batch on disk (`open.journal`): its reserved
 * batch id (u64 BE), then its NDJSON lines as they were added. What a push
 * added is written before `push` returns, because the source checkpoints
 * past those records right after: a SIGKILL loses nothing. The next start
 * seals what the journal holds under the id it reserved, or drops it when
 * that batch already reached the spool (it was sealed before the crash).
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from '../../core/private-dir.js';
import type { RecoverReport, Spool } from './spool.js';

const JOURNAL = 'open.journal';

export class Journal {
  readonly #file: string;
  #fd = -1;
  /** Bytes of the open batch the journal holds. */
  #journaled = 0;

  constructor(dir: string) {
    this.#file = path.join(dir, JOURNAL);
  }

  /** Write what the open batch (`buf[0, len)`, reserved id `id`) gained since the last call: one write per push. */
  tail(buf: Buffer, len: number, id: number): void {
    if (len === 0 || this.#journaled === len) return;
    const fd = this.#open();
    if (this.#journaled === 0) {
      const head = Buffer.alloc(8);
      head.writeBigUInt64BE(BigInt(id));
      writeSync(fd, head, 0, 8, 0);
    }
    writeSync(fd, buf, this.#journaled, len - this.#journaled, 8 + this.#journaled);
    this.#journaled = len;
  }

  /** The open batch was sealed into the spool: the journal is emptied. */
  truncate(): void {
    if (this.#fd < 0 || this.#journaled === 0) return;
    ftruncateSync(this.#fd, 0);
    this.#journaled = 0;
  }

  /** The open batch a crash left: appended to `spool` under its reserved id unless that batch reached it; `r` counts it. */
  recover(spool: Spool, r: RecoverReport): void {
    if (!existsSync(this.#file)) return;
    const buf = readFileSync(this.#file);
    this.#fd = openSync(this.#file, 'r+');
    if (buf.length > 8) {
      const id = Number(buf.readBigUInt64BE(0));
      const end = buf.lastIndexOf(0x0a) + 1;
      // an id up to the spool's last one was sealed (or acknowledged) before the crash
      if (Number.isSafeInteger(id) && id > spool.lastId && end > 8) {
        const lines = buf.subarray(8, end);
        let n = 0;
        for (let i = 0; i < lines.length; i++) if (lines[i] === 0x0a) n++;
        spool.append(lines, n, false, Date.now(), id);
        r.batches++;
        r.records += n;
      }
    }
    ftruncateSync(this.#fd, 0);
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  #open(): number {
    if (this.#fd < 0) this.#fd = openSync(this.#file, 'w', PRIVATE_FILE_MODE);
    return this.#fd;
  }
}
