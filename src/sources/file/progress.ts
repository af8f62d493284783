/**
 * The file source's progress on disk: its checkpoint read once at start, the
 * crash replay of the last pushed batch, and the save after every commit.
 *
 * Exactly-once across a crash: the checkpoint's `last` names the byte range
 * and seqs of the last pushed batch; `restore` rebuilds those records from the
 * file (replay.ts) and re-publishes them with their seqs (`pipeline.replay`),
 * so a client resuming by Last-Event-ID sees each record once.
 */
import type { Pipeline } from '../../core/pipeline.js';
import { CheckpointStore, type CheckpointDoc, type CheckpointEntry, type CheckpointLast, type LoadResult } from './checkpoint.js';
import type { FileSourceConfig } from './config.js';
import type { FileCounters } from './counters.js';
import { rebuildBatch } from './replay.js';
import type { FileTailer } from './tailer.js';

/** `{ link }` when `t` was reached through a symlink: the checkpoint keeps it to rebuild the origin. */
export function linkOf(t: FileTailer): { link?: string } {
  return t.link !== undefined ? { link: t.link } : {};
}

export class FileProgress {
  readonly #store: CheckpointStore;
  readonly #counters: FileCounters;
  #loaded: LoadResult | null = null;
  #last: CheckpointLast | null = null;
  /** The last load or save failure, for the status (`checkpoint_error`). */
  error: string | null = null;

  constructor(dataDir: string, name: string, counters: FileCounters) {
    this.#store = new CheckpointStore(dataDir, name);
    this.#counters = counters;
  }

  /** Where the checkpoint is kept. */
  get path(): string {
    return this.#store.path;
  }

  /** Re-publish the last pushed batch with its seqs (before start); skipped and counted when the file no longer holds it. */
  async restore(cfg: FileSourceConfig, pipeline: Pipeline): Promise<void> {
    this.#loaded = this.#store.load();
    if (this.#loaded.kind !== 'ok') return;
    const last = this.#loaded.doc.last;
    if (last === null) return;
    const want = last.seqLast - last.seqFirst + 1;
    const records = await rebuildBatch(cfg, last).catch(() => null);
    if (records === null) {
      this.#counters.replay_skipped++;
      pipeline.replay([], last.seqLast);
    } else if (records.length !== want) {
      this.#counters.replay_mismatch++;
      pipeline.replay([], last.seqLast);
    } else {
      for (let i = 0; i < records.length; i++) records[i]!.seq = last.seqFirst + i;
      pipeline.replay(records, last.seqLast);
      this.#counters.replayed += records.length;
    }
  }

  /** The saved document at start (read once, also by `restore`); null when there is none or it is corrupt (counted, reported). */
  load(): CheckpointDoc | null {
    const loaded = this.#loaded ?? this.#store.load();
    this.#loaded = loaded;
    if (loaded.kind === 'corrupt') {
      this.#counters.checkpoint_errors++;
      this.error = loaded.error;
    }
    const doc = loaded.kind === 'ok' ? loaded.doc : null;
    this.#last = doc?.last ?? null;
    return doc;
  }

  /** `t`'s batch of `n` records ending at `seqLast` and at byte `to` was pushed: it becomes the last batch, and the offsets are saved. */
  committed(t: FileTailer, n: number, seqLast: number, to: number, tailers: Iterable<FileTailer>): void {
    const from = t.committed;
    t.committed = to;
    if (n > 0) this.#last = { key: t.key, path: t.realPath, ...linkOf(t), from, to, seqFirst: seqLast - n + 1, seqLast };
    this.save(tailers);
  }

  /** Write every open file's committed offset and the last batch (synchronously; a failure is counted and kept for the status). */
  save(tailers: Iterable<FileTailer>): void {
    const files: CheckpointEntry[] = [];
    for (const t of tailers) files.push({ key: t.key, path: t.realPath, ...linkOf(t), offset: t.committed });
    try {
      this.#store.save({ version: 1, files, last: this.#last });
    } catch (e) {
      this.#counters.checkpoint_errors++;
      this.error = (e as Error).message;
    }
  }

  close(): void {
    this.#store.close();
  }
}
