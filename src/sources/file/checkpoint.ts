/**
 * The file source's checkpoint store: one JSON document per source at
 * `${dataDir}/checkpoints/file-${name}.json` (and its alternate slot
 * `.json.b`, see core/slot-file.ts) so a crash leaves either the old or the
 * new document, never a torn one. No fsync: the checkpoint guards
 * against a process crash (SIGKILL), and is written after every accepted
 * batch, where an fsync per batch would cost more than the read itself.
 *
 * `files` holds, per open file, the offset just past the last record pushed.
 * `last` describes the last pushed batch (its byte range and seqs) so that a
 * restart can re-publish exactly that batch with the same seqs (see
 * progress.ts `restore`).
 */
import { join } from 'node:path';
import { SlotFile } from '../../core/slot-file.js';

export interface CheckpointEntry {
  /** `dev:ino:fingerprint` (see tailer.ts `fileKey`). */
  key: string;
  /** The real path of the file. */
  path: string;
  /** The symlink it was reached through, if any (its `origin.link`). */
  link?: string;
  offset: number;
}

export interface CheckpointLast {
  key: string;
  /** The real path of the file, and the link it was reached through: the batch's origin. */
  path: string;
  link?: string;
  /** Byte range [from, to) of the file that produced the batch. */
  from: number;
  to: number;
  seqFirst: number;
  seqLast: number;
}

export interface CheckpointDoc {
  version: 1;
  files: CheckpointEntry[];
  last: CheckpointLast | null;
}

export type LoadResult =
  | { kind: 'none' }
  | { kind: 'ok'; doc: CheckpointDoc }
  | { kind: 'corrupt'; error: string };

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isOptStr = (v: unknown): boolean => v === undefined || isStr(v);

function validEntry(e: unknown): e is CheckpointEntry {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  return isStr(o.key) && isStr(o.path) && isOptStr(o.link) && isNum(o.offset);
}

function validLast(e: unknown): e is CheckpointLast {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  return (
    isStr(o.key) && isStr(o.path) && isOptStr(o.link) && isNum(o.from) && isNum(o.to) && o.to >= o.from &&
    isNum(o.seqFirst) && isNum(o.seqLast) && o.seqLast + 1 >= o.seqFirst
  );
}

/** Parse and validate a checkpoint document; throws with a reason when it is not one. */
export function parseCheckpoint(text: string | object): CheckpointDoc {
  const raw: unknown = typeof text === 'string' ? JSON.parse(text) : text;
  if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw new Error(`unsupported version ${String(o.version)}`);
  if (!Array.isArray(o.files) || !o.files.every(validEntry)) throw new Error('bad "files"');
  if (o.last !== null && o.last !== undefined && !validLast(o.last)) throw new Error('bad "last"');
  return { version: 1, files: o.files, last: (o.last as CheckpointLast | null | undefined) ?? null };
}

export class CheckpointStore {
  readonly path: string;
  readonly #slots: SlotFile;

  constructor(dataDir: string, sourceName: string) {
    this.path = join(dataDir, 'checkpoints', `file-${sourceName}.json`);
    this.#slots = new SlotFile(this.path);
  }

  load(): LoadResult {
    try {
      const doc = this.#slots.load((raw) => parseCheckpoint(raw as object));
      return doc ? { kind: 'ok', doc } : { kind: 'none' };
    } catch (e) {
      return { kind: 'corrupt', error: (e as Error).message };
    }
  }

  /** Write the document (crash-safe, see SlotFile). Synchronous on purpose: it runs right after `push` returns. */
  save(doc: CheckpointDoc): void {
    this.#slots.save(doc);
  }

  close(): void {
    this.#slots.close();
  }
}
