/**
 * The Docker source's checkpoint store: one JSON document per source at
 * `${dataDir}/checkpoints/docker-${name}.json` (and its alternate slot
 * `.json.b`, see core/slot-file.ts), rewritten in place right after each
 * accepted batch, so a crash leaves the old or the new document, never a
 * torn one. No fsync: it guards against process crashes (SIGKILL), where the
 * page cache survives; an fsync per batch would cost more than the read.
 *
 * Per container: `key`, the newest engine timestamp among accepted lines (as
 * a sortable key, see framing/docker-mux.ts `Timestamp.key`), and `n`, how many
 * accepted lines carry exactly that timestamp. The engine's `since` filter is
 * inclusive with nanosecond precision, so resuming with `since=key` and
 * skipping the first `n` lines stamped `key` (and any older one) neither loses
 * nor repeats a line, even when several lines share one timestamp (the
 * engine stamps every 16 KiB piece of a long line with the same time).
 *
 * `seq` is the hub's last seq after the last accepted batch: `restore` raises
 * the hub's counter to it so seqs stay monotonic across a restart.
 *
 * Per std stream, `stdout` / `stderr` hold the same pair for that stream
 * alone, and `pending` the timestamp a line still being reassembled started
 * at, when that is older than `key`. The engine cuts lines over 16 KiB into
 * pieces that all carry the first piece's time; while such a line is
 * reassembled on one std stream, lines completed on the other advance `key`
 * past its start. Resuming with `since=key` would then never get its pieces
 * again (the whole line lost), so a resume asks for `since=pending` instead
 * and skips per std stream: lines stamped before that stream's own `key`,
 * and the first `n` stamped exactly it. Documents without the per-std pairs
 * (written before they existed) resume with the container-wide rule.
 *
 * `last` describes the last pushed batch: the container, the position before
 * it (`from`, or `since` when the container had no position yet), its line
 * count, the newest timestamp in it (`to`, to check a re-read) and its seqs.
 * `push()` gives the batch its seqs and this document is written right after,
 * in the same synchronous step; live clients are written to only after that
 * step (sinks/write.ts `wake`), so no client holds a line this document does
 * not cover. After a crash, `restore` re-reads exactly the `last` batch from
 * the engine and re-publishes it with the same seqs (source.ts, replay.ts),
 * so a client resuming by Last-Event-ID sees each line once.
 */
import { join } from 'node:path';
import { SlotFile } from '../../core/slot-file.js';

/** Newest accepted timestamp key on one std stream and how many accepted lines of it carry exactly that key. */
export interface StdPosition {
  key: string;
  n: number;
}

/** Where a container's log was read up to (see the header). */
export interface Position {
  /** Timestamp key (framing/docker-mux.ts) of the newest accepted line. */
  key: string;
  /** Accepted lines stamped exactly `key`. */
  n: number;
  stdout?: StdPosition;
  stderr?: StdPosition;
  /** Start key of a line being reassembled, when older than `key`: resume from here. */
  pending?: string;
}

export interface ContainerCheckpoint extends Position {
  /** Container name when last seen (for humans reading the file). */
  name: string;
}

/** The last pushed batch, for the crash replay. */
export interface DockerCheckpointLast {
  /** Container id. */
  id: string;
  /** Position before the batch; null when there was none. */
  from: Position | null;
  /** Engine `since` used when `from` is null (from = "end"); absent: from the first line. */
  since?: string;
  /** Lines (records) in the batch. */
  count: number;
  /** Position after the batch: the newest timestamp key among its lines (checks a re-read). */
  to: string;
  seqFirst: number;
  seqLast: number;
}

export interface DockerCheckpointDoc {
  version: 1;
  seq: number;
  containers: Record<string, ContainerCheckpoint>;
  last: DockerCheckpointLast | null;
}

export type LoadResult = { kind: 'none' } | { kind: 'ok'; doc: DockerCheckpointDoc } | { kind: 'corrupt'; error: string };

const KEY_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\d{9}$/;
const ID_RE = /^[0-9a-f]{12,64}$/;
const SINCE_RE = /^\d+(\.\d{1,9})?$/;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

const isKey = (v: unknown): v is string => typeof v === 'string' && KEY_RE.test(v);

function parseStd(v: unknown): StdPosition | undefined {
  if (v === undefined) return undefined;
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || !isKey(o.key) || !isCount(o.n)) throw new Error('bad std position');
  return { key: o.key, n: o.n };
}

function parsePosition(e: unknown): Position {
  if (typeof e !== 'object' || e === null) throw new Error('bad position');
  const o = e as Record<string, unknown>;
  if (!isKey(o.key) || !isCount(o.n)) throw new Error('bad position');
  const p: Position = { key: o.key, n: o.n };
  const out = parseStd(o.stdout);
  const err = parseStd(o.stderr);
  if (out) p.stdout = out;
  if (err) p.stderr = err;
  if (o.pending !== undefined) {
    if (!isKey(o.pending) || o.pending >= o.key) throw new Error('bad "pending"');
    p.pending = o.pending;
  }
  return p;
}

function parseLast(e: unknown): DockerCheckpointLast {
  if (typeof e !== 'object' || e === null) throw new Error('bad "last"');
  const o = e as Record<string, unknown>;
  let from: Position | null = null;
  try {
    if (o.from !== null) from = parsePosition(o.from);
  } catch {
    throw new Error('bad "last"');
  }
  const ok =
    typeof o.id === 'string' && ID_RE.test(o.id) &&
    (o.since === undefined || (typeof o.since === 'string' && SINCE_RE.test(o.since))) &&
    isCount(o.count) && o.count > 0 && isKey(o.to) && isCount(o.seqFirst) && isCount(o.seqLast) &&
    o.seqLast - o.seqFirst + 1 === o.count;
  if (!ok) throw new Error('bad "last"');
  const last: DockerCheckpointLast = { id: o.id as string, from, count: o.count as number, to: o.to as string, seqFirst: o.seqFirst as number, seqLast: o.seqLast as number };
  if (typeof o.since === 'string') last.since = o.since;
  return last;
}

/** Parse and validate a checkpoint document (text or parsed JSON); throws with a reason when it is not one. */
export function parseDockerCheckpoint(text: string | object): DockerCheckpointDoc {
  const raw: unknown = typeof text === 'string' ? JSON.parse(text) : text;
  if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw new Error(`unsupported version ${String(o.version)}`);
  if (!isCount(o.seq)) throw new Error('bad "seq"');
  if (typeof o.containers !== 'object' || o.containers === null || Array.isArray(o.containers)) throw new Error('bad "containers"');
  const containers: Record<string, ContainerCheckpoint> = {};
  for (const [id, e] of Object.entries(o.containers as Record<string, unknown>)) {
    const bad = () => new Error(`bad entry for container "${id.slice(0, 64)}"`);
    if (!ID_RE.test(id) || typeof e !== 'object' || e === null || typeof (e as { name?: unknown }).name !== 'string') throw bad();
    try {
      containers[id] = { ...parsePosition(e), name: (e as { name: string }).name };
    } catch {
      throw bad();
    }
  }
  // Documents written before `last` existed have none: nothing to replay.
  const last = o.last === undefined || o.last === null ? null : parseLast(o.last);
  return { version: 1, seq: o.seq, containers, last };
}

export class DockerCheckpointStore {
  readonly path: string;
  readonly #slots: SlotFile;
  #doc: DockerCheckpointDoc = { version: 1, seq: 0, containers: {}, last: null };

  constructor(dataDir: string, sourceName: string) {
    this.path = join(dataDir, 'checkpoints', `docker-${sourceName}.json`);
    this.#slots = new SlotFile(this.path);
  }

  /** Read the newest valid document into memory (a corrupt one is reported and replaced by an empty one). */
  load(): LoadResult {
    try {
      const doc = this.#slots.load((raw) => parseDockerCheckpoint(raw as object));
      if (!doc) return { kind: 'none' };
      this.#doc = doc;
      return { kind: 'ok', doc };
    } catch (e) {
      return { kind: 'corrupt', error: (e as Error).message };
    }
  }

  get(id: string): ContainerCheckpoint | undefined {
    return this.#doc.containers[id];
  }

  ids(): string[] {
    return Object.keys(this.#doc.containers);
  }

  get seq(): number {
    return this.#doc.seq;
  }

  /** The last pushed batch as loaded or last committed. */
  get last(): DockerCheckpointLast | null {
    return this.#doc.last;
  }

  /**
   * Record a container's position (undefined: none yet), the hub's seq and
   * the batch just pushed (null: one that cannot be replayed; undefined:
   * no batch), and write the document now.
   */
  commit(id: string, cp: ContainerCheckpoint | undefined, seq: number, last?: DockerCheckpointLast | null): void {
    if (cp) this.#doc.containers[id] = cp;
    if (seq > this.#doc.seq) this.#doc.seq = seq;
    if (last !== undefined) this.#doc.last = last;
    this.save();
  }

  /** Forget a destroyed container. */
  remove(id: string): void {
    if (!(id in this.#doc.containers)) return;
    delete this.#doc.containers[id];
    if (this.#doc.last?.id === id) this.#doc.last = null;
    this.save();
  }

  /** Write the document (crash-safe, see SlotFile). Synchronous on purpose: it runs right after `push` returns. */
  save(): void {
    this.#slots.save(this.#doc);
  }

  close(): void {
    this.#slots.close();
  }
}
