/**
 * The file source: lifecycle and wiring. It discovers files (watcher.ts),
 * keeps one FileTailer per open file keyed by device:inode, decides when each
 * is read (fs.watch hints, one shared coarse timer for polls, idle flushes,
 * multiline timeouts and retirement of rotated files), pushes one batch per
 * read chunk and writes the checkpoint synchronously right after each push.
 *
 * Rotation: a file whose path now names another file (rename + create), or
 * that left the globs or was deleted, is "gone": it is read to its end through
 * its open descriptor and closed after `rotate_wait` of quiet; the new file at
 * the path is read from 0. Copytruncate (size below what was read, or the
 * first bytes changed) restarts the file at 0. A file rotated while Sluice was
 * down is found again by device:inode beside its old path and read to its end.
 *
 * Symlinks, /proc and FIFOs: links.ts decides what a matched path may lead
 * to; the scan reports refusals (counted once while they last, reasons in the
 * status), and a file is opened by its real path and must be the inode the
 * scan checked.
 *
 * Exactly-once across a crash: progress.ts keeps the checkpoint and replays
 * the last pushed batch with its seqs at restart.
 */
import { dirname, join } from 'node:path';
import type { Pipeline, Source, SourceStatus } from '../../core/pipeline.js';
import { Health, problemOf } from '../../core/health.js';
import type { FileSourceConfig } from './config.js';
import { FileProgress, linkOf } from './progress.js';
import { linkPolicy, type LinkPolicy } from './links.js';
import { parseKey, type FileTailer } from './tailer.js';
import { newCounters, type FileCounters } from './counters.js';
import { PathWatcher } from './watcher.js';
import { errCode, FileSet } from './discovery.js';
import type { ParsePool } from '../../parse/pool.js';
import { LANE_MAX_PENDING, ParseStage, THREAD_MIN_SIZE, type LaneSpec } from '../../parse/stage.js';

export interface FileSourceOptions {
  /** The daemon's data_dir; checkpoints go to `${dataDir}/checkpoints/file-${name}.json`. */
  dataDir: string;
  /** Base for relative paths in the config; default process.cwd(). */
  cwd?: string;
  /** The daemon's parse stage (src/parse/stage.ts); without it the source makes its own at start, over `parsePool`. */
  stage?: ParseStage;
  /** Parse threads for a stage of its own; without them, lines are parsed inline. */
  parsePool?: ParsePool;
  /** Batches with less text than this are parsed inline even with threads (default: the stage's, or half of read_buffer; tests use 0). */
  poolMinChars?: number;
}

/** Chunks read per turn before yielding to other files and the event loop. */
const MAX_CHUNKS_PER_TURN = 16;

export class FileSource implements Source {
  readonly name: string;
  readonly type = 'file';
  readonly stream: string;
  readonly health: Health;

  readonly #cfg: FileSourceConfig;
  readonly #progress: FileProgress;
  readonly #watcher: PathWatcher;
  readonly #counters: FileCounters = newCounters();
  readonly #tickMs: number;
  readonly #links: LinkPolicy;

  #pipeline: Pipeline | null = null;
  #firstStart = false;
  #paused = false;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  #starting: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #nextPollAt = 0;
  readonly #inflight = new Set<Promise<void>>();
  readonly #files: FileSet;
  readonly #opts: FileSourceOptions;
  #stage: ParseStage | null = null;
  readonly #spec: LaneSpec;
  /** Runs of complete lines this long are handed over as bytes (for a parse thread). */
  readonly #regionMin: number;

  constructor(cfg: FileSourceConfig, opts: FileSourceOptions) {
    this.#cfg = cfg;
    this.name = cfg.name;
    this.stream = cfg.stream ?? cfg.name;
    this.health = new Health('source', cfg.name, 'file');
    this.#progress = new FileProgress(opts.dataDir, cfg.name, this.#counters);
    this.#opts = opts;
    this.#regionMin = opts.poolMinChars ?? Math.min(THREAD_MIN_SIZE, cfg.read_buffer / 2);
    this.#spec = { source: cfg.name, stream: this.stream, format: cfg.format, maxLineBytes: cfg.max_line_bytes, dropStage: 'file', counters: this.#counters, threadMinSize: this.#regionMin };
    this.#links = linkPolicy(cfg, opts.cwd);
    this.#watcher = new PathWatcher({
      paths: cfg.paths,
      exclude: cfg.exclude,
      cwd: opts.cwd,
      links: this.#links,
      ignoreDirs: [dirname(this.#progress.path)],
      onEvent: (dir, type, name) => this.#onWatchEvent(dir, type, name),
    });
    // One coarse timer for the whole source: a quarter of the shortest deadline, within [10ms, 250ms].
    const shortest = Math.min(cfg.poll_interval, cfg.idle_flush || cfg.poll_interval, cfg.rotate_wait || cfg.poll_interval, cfg.multiline?.timeout || cfg.poll_interval);
    this.#tickMs = Math.max(10, Math.min(250, Math.floor(shortest / 4)));
    this.#files = new FileSet({
      cfg,
      watcher: this.#watcher,
      links: this.#links,
      counters: this.#counters,
      firstStart: () => this.#firstStart,
      stopping: () => this.#stopping,
      register: (t) => this.#register(t),
      pump: (t) => this.#pump(t),
      health: this.health,
    });
  }

  /** Where this source keeps its checkpoint. */
  get checkpointPath(): string {
    return this.#progress.path;
  }

  // ------------------------------------------------------------- lifecycle

  /** Re-publish the last batch pushed before a crash, with its seqs (progress.ts). */
  restore(pipeline: Pipeline): Promise<void> {
    return this.#progress.restore(this.#cfg, pipeline);
  }

  start(pipeline: Pipeline): Promise<void> {
    if (this.#pipeline || this.#stopping) return Promise.reject(new Error(`file source "${this.name}" already started or stopped`));
    this.#pipeline = pipeline;
    this.#stage = this.#opts.stage ?? new ParseStage(pipeline, this.#opts.parsePool, { threadMinSize: this.#regionMin });
    this.#spec.transforms = this.#stage.plan(this.name, this.stream, this.#cfg.transforms);
    this.health.set('starting');
    this.#starting = this.#doStart();
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    try {
      const doc = this.#progress.load();
      this.#firstStart = doc === null;
      for (const e of doc?.files ?? []) {
        const k = parseKey(e.key);
        if (k) this.#files.saved.set(k.id, e);
      }
      await this.#files.scan(true);
      await this.#files.recoverRotated();
      // Saved offsets apply to what is there at start; a file that appears later is read from 0
      // (an old entry must not meet a recycled inode that happens to start with the same bytes).
      this.#files.saved.clear();
      // From here on no start is a first start (the checkpoint exists).
      if (this.#stopping) return;
      this.#saveCheckpoint();
      this.#nextPollAt = Date.now() + this.#cfg.poll_interval;
      this.#timer = setInterval(() => this.#tick(), this.#tickMs);
      if (this.health.state === 'starting') this.health.set('running');
    } catch (e) {
      this.health.set('error', problemOf(e));
      throw e;
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#doStop();
    return this.#stopped;
  }

  async #doStop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#files.tailers) t.lane?.close();
    // A start in progress sees the flag and returns early; wait for it so nothing opens behind us.
    if (this.#starting) await this.#starting.catch(() => undefined);
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#watcher.close();
    // Let in-flight scans and reads finish (they push what they read); nothing new starts.
    for (let i = 0; i < 1000 && (this.#files.scanning || this.#inflight.size > 0); i++) {
      if (this.#files.scanning) await this.#files.scanning.catch(() => undefined);
      await Promise.allSettled([...this.#inflight]);
    }
    if (this.#pipeline) {
      // A pending multiline record holds complete lines: emit it. A partial
      // line is not emitted: it stays after the checkpoint and is read again.
      const now = Date.now();
      for (const t of this.#files.tailers) {
        t.builder.flushMultiline(now);
        this.#pushFrom(t);
      }
      for (const t of this.#files.tailers) await this.#settled(t);
      this.#saveCheckpoint();
    }
    this.#progress.close();
    for (const t of this.#files.tailers) {
      await t.close();
      this.#counters.files_closed++;
    }
    this.#files.clear();
    this.health.set('stopped');
  }

  status(): SourceStatus {
    const files = [];
    for (const t of this.#files.tailers) {
      files.push({ path: t.realPath, ...linkOf(t), offset: t.committed, size: t.size, dev: Number(t.dev), ino: Number(t.ino), ...(t.gone ? { rotated: true } : {}) });
    }
    const errors = [...this.#files.errors].map(([path, e]) => ({ path, code: e.code }));
    const refused = [...this.#files.refused].map(([path, r]) => ({ path, code: r.code, reason: r.reason }));
    return {
      name: this.name,
      type: this.type,
      stream: this.stream,
      ...this.health.view(),
      paused: this.#paused,
      counters: { ...this.#counters },
      files,
      ...(errors.length > 0 ? { errors } : {}),
      ...(refused.length > 0 ? { refused } : {}),
      ...(this.#progress.error !== null ? { checkpoint_error: this.#progress.error } : {}),
    };
  }

  // ------------------------------------------------------------- discovery

  #register(t: FileTailer): void {
    t.builder.regionMinBytes = this.#regionMin;
    t.lane = this.#stage!.lane(this.#spec);
    if (this.#stopping) t.lane.close();
    this.#files.tailers.add(t);
    this.#files.byId.set(t.id, t);
    this.#counters.files_opened++;
  }

  #onWatchEvent(dir: string, type: string, name: string | null): void {
    if (this.#stopping || !this.#pipeline) return;
    if (name !== null) {
      const full = join(dir, name);
      const t = this.#files.byPath.get(full);
      if (t) {
        this.#pump(t);
        if (type === 'rename') void this.#files.scan();
        return;
      }
      // Writes to a rotated file arrive under its new name: wake the gone tailers.
      this.#pumpGone();
      if (type === 'rename' || this.#watcher.matches(full)) void this.#files.scan();
      return;
    }
    for (const t of this.#files.tailers) this.#pump(t);
    void this.#files.scan();
  }

  #pumpGone(): void {
    for (const t of this.#files.tailers) if (t.gone) this.#pump(t);
  }

  // ------------------------------------------------------------------ timer

  #tick(): void {
    if (this.#stopping) return;
    const now = Date.now();
    const poll = now >= this.#nextPollAt;
    if (poll) {
      this.#nextPollAt = now + this.#cfg.poll_interval;
      this.#files.pollGen++;
    }
    const scan = poll ? this.#files.scan() : null;
    const idle = this.#cfg.idle_flush;
    const mlTimeout = this.#cfg.multiline?.timeout ?? Infinity;
    for (const t of this.#files.tailers) {
      if (poll) t.checkFp = true;
      const b = t.builder;
      const due =
        poll ||
        t.gone ||
        (b.pendingBytes > 0 && now - t.lastDataAt >= idle) ||
        (b.pendingLines > 0 && now - b.lastLineAt >= mlTimeout);
      if (due) this.#pump(t);
    }
    if (scan !== null) void this.#pollDone(scan);
  }

  /**
   * Count a poll pass once its scan and the reads it started are done and
   * what they read is committed (not while paused: held batches wait for the
   * drain). Tests and operators wait on `polls`, never on a pause.
   */
  async #pollDone(scan: Promise<void>): Promise<void> {
    await scan;
    for (let round = 0; round < 8 && this.#inflight.size > 0; round++) await Promise.all([...this.#inflight]);
    if (!this.#paused) for (const t of this.#files.tailers) await this.#settled(t);
    this.#counters.polls++;
  }

  // ---------------------------------------------------------------- reading

  #canRead(t: FileTailer): boolean {
    return !this.#paused && !this.#stopping && !t.closed && this.#pipeline !== null && t.errorGen !== this.#files.pollGen;
  }

  /** Read `t` if it is not being read; coalesces: a request during a read makes it read again after. */
  #pump(t: FileTailer): void {
    if (t.reading) {
      t.dirty = true;
      return;
    }
    if (!this.#canRead(t)) return;
    t.reading = true;
    t.dirty = false;
    const p: Promise<void> = this.#readSome(t)
      .catch((e: unknown) => {
        if (errCode(e) !== 'EBADF' || !t.closed) {
          this.#counters.read_errors++;
          t.errorGen = this.#files.pollGen;
        }
        return false;
      })
      .then((more) => {
        t.reading = false;
        this.#inflight.delete(p);
        if ((more || t.dirty) && this.#canRead(t)) setImmediate(() => this.#pump(t));
      });
    this.#inflight.add(p);
  }

  /** One turn for one file: re-stat, handle truncation, read up to MAX_CHUNKS_PER_TURN chunks; true if more may remain. */
  async #readSome(t: FileTailer): Promise<boolean> {
    const r = await t.refresh();
    if (this.#stopping || t.closed) return false;
    if (t.gone && !t.goneCounted) {
      t.goneCounted = true;
      if (r.nlink === 0) this.#counters.deletions++;
      else this.#counters.rotations++;
    }
    if (r.truncated) {
      this.health.note('file_truncated', `${t.path} was truncated (copytruncate): reading it again from the start`, { path: t.path });
      // Copytruncate (or the content was replaced): push what was read of the old content, then start over at 0.
      const now = Date.now();
      t.builder.flushPartial(now);
      t.builder.flushMultiline(now);
      this.#pushFrom(t);
      await this.#settled(t);
      await t.restartFromZero();
      this.#counters.truncations++;
      this.#saveCheckpoint();
      if (this.#stopping || t.closed) return false;
    }
    for (let i = 0; i < MAX_CHUNKS_PER_TURN; i++) {
      if (!this.#canRead(t)) return false;
      const n = await t.readChunk();
      if (n === 0) {
        await this.#atEnd(t);
        return false;
      }
      // Push even when stopping: these bytes were read, stop() waits for this.
      this.#pushFrom(t);
      // back-pressure from the parse stage: the oldest batch commits before more is read
      if (t.lane !== null && t.lane.pending >= LANE_MAX_PENDING) await t.lane.oldest();
    }
    return true;
  }

  /** At the end of the file: idle flush, multiline timeout, retirement of a rotated file. */
  async #atEnd(t: FileTailer): Promise<void> {
    const now = Date.now();
    const b = t.builder;
    if (b.pendingBytes > 0 && now - t.lastDataAt >= this.#cfg.idle_flush) b.flushPartial(now);
    const ml = this.#cfg.multiline;
    if (ml && b.pendingLines > 0 && now - b.lastLineAt >= ml.timeout) b.flushMultiline(now);
    const retire = () => t.gone && !this.#stopping && Date.now() - Math.max(t.lastDataAt, t.goneAt) >= this.#cfg.rotate_wait;
    if (retire()) {
      // Nothing will complete its partial line or its multiline record any more.
      b.flushPartial(now);
      b.flushMultiline(now);
      this.#pushFrom(t);
      await this.#settled(t);
      // a scan may have found it back under a watched name meanwhile: then it stays
      if (!retire()) return;
      this.#files.remove(t);
      await t.close();
      this.#counters.files_closed++;
      this.#saveCheckpoint();
      return;
    }
    this.#pushFrom(t);
  }

  // ------------------------------------------------------ push + checkpoint

  /**
   * Hand what `t` framed to its lane as one raw batch; when the stage has
   * pushed it, checkpoint synchronously (batches of one file commit in the
   * order they were read, wherever they were parsed).
   */
  #pushFrom(t: FileTailer): void {
    const b = t.builder;
    if (this.#pipeline === null || t.lane === null || b.items.length === 0) return;
    const to = b.outEnd;
    t.lane.submit(b.takeItems(), (n, seqLast, more) => {
      this.#progress.committed(t, n, seqLast, to, this.#files.tailers);
      if (!more) this.#pause();
    });
  }

  /** Wait until every batch of `t` handed to the stage is committed. */
  async #settled(t: FileTailer): Promise<void> {
    await t.lane?.settled();
  }

  #saveCheckpoint(): void {
    this.#progress.save(this.#files.tailers);
  }

  #pause(): void {
    if (this.#paused || this.#stopping || this.#pipeline === null) return;
    this.#paused = true;
    this.#pipeline.onDrain(() => {
      this.#paused = false;
      if (this.#stopping) return;
      for (const t of this.#files.tailers) this.#pump(t);
    });
  }
}

