/**
 * The Docker source's checkpoint store: one JSON document per source at
 * `${dataDir}/checkpoints/docker-${name}.json`, replaced atomically (temporary
 * file + rename) right after each accepted batch, so a crash leaves the old
 * or the new document, never a torn one. No fsync: it guards against process
 * crashes (SIGKILL), where the page cache survives; an fsync per batch would
 * cost more than the read.
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
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerCheckpoint {
  /** Timestamp key (framing/docker-mux.ts) of the newest accepted line. */
  key: string;
  /** Accepted lines stamped exactly `key`. */
  n: number;
  /** Container name when last seen (for humans reading the file). */
  name: string;
}

export interface DockerCheckpointDoc {
  version: 1;
  seq: number;
  containers: Record<string, ContainerCheckpoint>;
}

export type LoadResult = { kind: 'none' } | { kind: 'ok'; doc: DockerCheckpointDoc } | { kind: 'corrupt'; error: string };

const KEY_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\d{9}$/;

function validEntry(e: unknown): e is ContainerCheckpoint {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  return typeof o.key === 'string' && KEY_RE.test(o.key) && Number.isSafeInteger(o.n) && (o.n as number) >= 0 && typeof o.name === 'string';
}

export function parseDockerCheckpoint(text: string): DockerCheckpointDoc {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) throw new Error(`unsupported version ${String(o.version)}`);
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0) throw new Error('bad "seq"');
  if (typeof o.containers !== 'object' || o.containers === null || Array.isArray(o.containers)) throw new Error('bad "containers"');
  const containers: Record<string, ContainerCheckpoint> = {};
  for (const [id, e] of Object.entries(o.containers as Record<string, unknown>)) {
    if (!/^[0-9a-f]{12,64}$/.test(id) || !validEntry(e)) throw new Error(`bad entry for container "${id.slice(0, 64)}"`);
    containers[id] = { key: e.key, n: e.n, name: e.name };
  }
  return { version: 1, seq: o.seq as number, containers };
}

export class DockerCheckpointStore {
  readonly path: string;
  readonly #tmp: string;
  #dirReady = false;
  #doc: DockerCheckpointDoc = { version: 1, seq: 0, containers: {} };

  constructor(dataDir: string, sourceName: string) {
    this.path = join(dataDir, 'checkpoints', `docker-${sourceName}.json`);
    this.#tmp = this.path + '.tmp';
  }

  /** Read the document from disk into memory (a corrupt one is reported and replaced by an empty one). */
  load(): LoadResult {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
      return { kind: 'corrupt', error: (e as Error).message };
    }
    try {
      this.#doc = parseDockerCheckpoint(text);
      return { kind: 'ok', doc: this.#doc };
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

  /** Record a container's position and the hub's seq, and write the document now. */
  commit(id: string, cp: ContainerCheckpoint, seq: number): void {
    this.#doc.containers[id] = cp;
    if (seq > this.#doc.seq) this.#doc.seq = seq;
    this.save();
  }

  /** Forget a destroyed container. */
  remove(id: string): void {
    if (!(id in this.#doc.containers)) return;
    delete this.#doc.containers[id];
    this.save();
  }

  /** Replace the document atomically. Synchronous on purpose: it runs right after `push` returns. */
  save(): void {
    if (!this.#dirReady) {
      mkdirSync(join(this.path, '..'), { recursive: true });
      this.#dirReady = true;
    }
    writeFileSync(this.#tmp, JSON.stringify(this.#doc));
    renameSync(this.#tmp, this.path);
  }
}
