/**
 * Crash replay for the file source: rebuild the records of the last pushed
 * batch from the checkpoint's `last` (a byte range of one file, by identity),
 * exactly as they were first built, so `restore` can re-publish them with the
 * seqs they had. Also finds a file by device:inode beside its old path (it
 * was rotated away while Sluice was down).
 */
import { constants } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LogRecord } from '../../core/record.js';
import type { CheckpointLast } from './checkpoint.js';
import type { FileSourceConfig } from './config.js';
import { alignStart, fingerprintMatches, parseKey } from './tailer.js';
import { newCounters } from './counters.js';
import { fileOrigin, RecordBuilder } from './builder.js';
import { parseOnly } from '../../parse/batch.js';
import { replayTransforms } from '../../transforms/plan.js';

/** Entries looked at when searching a directory for a file by identity. */
const MAX_DIR_SEARCH = 10_000;

/** The records of bytes [from, to) of the file `last.key` names; null when that file is gone or changed. */
export async function rebuildBatch(cfg: FileSourceConfig, last: CheckpointLast): Promise<LogRecord[] | null> {
  const k = parseKey(last.key);
  if (!k) return null;
  const fh = await openByIdentity(last.path, k.dev, k.ino);
  if (!fh) return null;
  try {
    const st = await fh.stat({ bigint: true });
    if (Number(st.size) < last.to || !(await fingerprintMatches(fh, k.fp))) return null;
    // Scratch counters: the replay must not count lines twice.
    // The origin the batch had: the file's real path, and the link it was reached through.
    const scratch = newCounters();
    const b = new RecordBuilder(cfg, fileOrigin(last.path, last.link), scratch);
    b.regionMinBytes = Infinity; // split here: the batch is parsed on this thread
    const now = Date.now();
    let pos = await alignStart(fh, last.from);
    // Bounded: every round advances or returns.
    while (pos < last.to) {
      const len = Math.min(cfg.read_buffer, last.to - pos);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      if (bytesRead === 0) return null;
      b.ingest(buf.subarray(0, bytesRead), pos, now);
      pos += bytesRead;
    }
    // The batch ended at `to`: its last record is complete there (a partial was idle-flushed, a multiline record was emitted).
    b.flushPartial(now);
    b.flushMultiline(now);
    const records = parseOnly({ source: cfg.name, stream: cfg.stream ?? cfg.name, format: cfg.format, maxLineBytes: cfg.max_line_bytes, dropStage: 'file', counters: scratch }, b.takeItems());
    return replayTransforms(cfg.transforms, records);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Open the file dev:ino at `path`, or beside it (rotated away); null when not found. */
export async function openByIdentity(path: string, dev: string, ino: string): Promise<FileHandle | null> {
  const tryOpen = async (p: string): Promise<FileHandle | null> => {
    let fh: FileHandle;
    try {
      fh = await open(p, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return null;
    }
    const st = await fh.stat({ bigint: true }).catch(() => null);
    if (st && st.isFile() && String(st.dev) === dev && String(st.ino) === ino) return fh;
    await fh.close().catch(() => undefined);
    return null;
  };
  const direct = await tryOpen(path);
  if (direct) return direct;
  const id = dev + ':' + ino;
  const p = (await searchDir(dirname(path), new Set([id]))).get(id);
  return p === undefined ? null : tryOpen(p);
}

/** Find regular files by dev:ino in one directory (bounded); id -> path. */
export async function searchDir(dir: string, ids: Set<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  let n = 0;
  for (const d of entries) {
    if (out.size === ids.size || ++n > MAX_DIR_SEARCH) break;
    if (!d.isFile()) continue;
    const p = join(dir, d.name);
    const st = await stat(p, { bigint: true }).catch(() => null);
    if (!st) continue;
    const id = String(st.dev) + ':' + String(st.ino);
    if (ids.has(id) && !out.has(id)) out.set(id, p);
  }
  return out;
}
