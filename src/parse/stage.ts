/**
 * The parse stage: one per daemon, between every source and the pipeline.
 * Sources read and frame; they hand raw batches (parse/batch.ts) to a lane
 * and hear back when each was pushed. The stage decides where a batch is
 * parsed (a parse thread for a backlog, the main thread for a live trickle
 * or when no thread can), commits each lane's batches in the order they
 * were submitted, shares the threads fairly between lanes, paces commits
 * (one thread batch per event-loop turn) and holds queued batches while the
 * pipeline asks for a pause.
 *
 * A lane is one ordered sequence: one file, one container. Its source waits
 * on `lane.pending` for back-pressure (the oldest batch commits before it
 * reads more) and closes the lane when it stops.
 */
import type { Pipeline } from '../core/pipeline.js';
import { batchLength, cursorOf, filterEncoded, isEncoded, type Batch, type EncodedBatch } from '../wire/encoded.js';
import type { LogRecord } from '../core/record.js';
import { TransformPlan } from '../transforms/plan.js';
import type { TransformConfig } from '../transforms/config.js';
import { seqDigits } from '../wire/seq.js';
import { parseCounters } from './detect.js';
import { add, parseInline, type LaneSpec, type RawBatch } from './batch.js';
import type { ParsePool, ParseResult } from './pool.js';
import { give } from './shared-buffers.js';

export type { LaneSpec, RawBatch, StageCounters } from './batch.js';

/** A batch was pushed: its record count, the seq of its last record, and push's answer (false: wait for the pipeline's onDrain). */
export type OnCommit = (records: number, seqLast: number, more: boolean) => void;

/**
 * A batch of less text than this (UTF-16 units or bytes) is parsed on the
 * main thread: the pool pays off for a backlog (full read chunks), not for a
 * live trickle, where a round trip to a rarely used, not yet optimized
 * worker only adds latency (measured at 10k lines/s in 10 ms bursts: append
 * -> SSE p99 8 ms inline, 9 to 31 ms through the pool).
 */
export const THREAD_MIN_SIZE = 64 * 1024;
/** Batches of one lane between submit and commit: past it the source waits (`lane.pending`). */
export const LANE_MAX_PENDING = 8;
/** Batches of all lanes at the threads or queued for them; past it new batches (of lanes with none queued) are parsed inline: memory stays bounded. */
const STAGE_MAX_JOBS = 24;
/** Batches at the pool per thread: enough to keep each busy while the main thread commits. */
const IN_POOL_PER_THREAD = 2;

interface Job {
  raw: RawBatch;
  onCommit: OnCommit;
  digits: number;
  /** The parsed batch, once known (a thread's result, or inline records when no thread could). */
  done: Promise<Batch>;
  start?: () => void;
}

export interface ParseStageOptions {
  /** Batches below this size are parsed inline (default THREAD_MIN_SIZE; tests use 0). */
  threadMinSize?: number;
  /** Where the sources' transform state is saved (transforms/plan.ts); none: kept in memory only. */
  stateDir?: string;
}

export class ParseStage {
  readonly #pipeline: Pipeline;
  readonly #pool: ParsePool | undefined;
  readonly #minSize: number;
  /** Lanes with batches waiting for a thread, served round-robin. */
  readonly #waiting: Lane[] = [];
  #inPool = 0;
  #jobs = 0;
  #paused = false;
  #committedThisTurn = false;
  readonly #turnWaiters: (() => void)[] = [];

  readonly #stateDir: string | undefined;
  /** Each source's transforms, by source name: a source rebuilt by a reload finds its plan (and state) here. */
  readonly #plans = new Map<string, TransformPlan>();

  constructor(pipeline: Pipeline, pool?: ParsePool, opts: ParseStageOptions = {}) {
    this.#pipeline = pipeline;
    this.#pool = pool;
    this.#minSize = opts.threadMinSize ?? THREAD_MIN_SIZE;
    this.#stateDir = opts.stateDir;
  }

  /**
   * The transforms of a source, for its LaneSpec (undefined when it has none).
   * The same list again (a reload that rebuilt the source for another reason)
   * gets the same plan; a changed list a new one that keeps the state of the
   * stateful transforms that did not change, the old one's other sessions
   * flushed.
   */
  plan(source: string, stream: string, cfgs: readonly TransformConfig[]): TransformPlan | undefined {
    const cur = this.#plans.get(source);
    if (cur !== undefined && cur.stream === stream && JSON.stringify(cur.cfgs) === JSON.stringify(cfgs)) return cur;
    this.#plans.delete(source);
    if (cfgs.length === 0) {
      cur?.close(true);
      return undefined;
    }
    const hooks = { drop: (reason: string, n: number) => this.#pipeline.drop('transform', reason, n), emit: (records: LogRecord[]) => void this.#pipeline.push(records) };
    const plan = new TransformPlan(source, stream, cfgs, hooks, this.#stateDir, cur);
    this.#plans.set(source, plan);
    return plan;
  }

  /** The plans, for status. */
  plans(): ReadonlyMap<string, TransformPlan> {
    return this.#plans;
  }

  /** Close the plans of sources no longer configured (a reload removed them): their open sessions are emitted. */
  retainPlans(sources: ReadonlySet<string>): void {
    for (const [name, p] of this.#plans) {
      if (sources.has(name)) continue;
      p.close(true);
      this.#plans.delete(name);
    }
  }

  /** Shutdown, after the sources stopped: every open session is emitted (`reason = "shutdown"`) and the state saved. */
  close(): void {
    for (const p of this.#plans.values()) p.close(true);
    this.#plans.clear();
  }

  lane(spec: LaneSpec): Lane {
    return new Lane(this, spec);
  }

  get pipeline(): Pipeline {
    return this.#pipeline;
  }

  /** Batches at the threads or queued for them. */
  get jobs(): number {
    return this.#jobs;
  }

  // ------------------------------------------------------------- for lanes

  /** Are there parse threads to send batches to? */
  get threaded(): boolean {
    return this.#pool !== undefined && this.#pool.threads > 0;
  }

  /** Should this batch go to a thread? (A lane with queued batches queues behind them anyway.) */
  wantsThread(raw: RawBatch, spec: LaneSpec): boolean {
    return raw.size >= (spec.threadMinSize ?? this.#minSize) && this.#pool !== undefined && this.#pool.threads > 0 && this.#jobs < STAGE_MAX_JOBS;
  }

  /** Parse `raw` in a thread when its turn at the pool comes; resolves to its encoded batch, or inline records when no thread could. */
  enqueue(lane: Lane, job: Job, spec: LaneSpec): Promise<Batch> {
    this.#jobs++;
    return new Promise<void>((go) => {
      job.start = go;
      lane.queued.push(job);
      if (lane.queued.length === 1) this.#waiting.push(lane);
      this.#dispatch();
    }).then(() => this.#parse(job, spec));
  }

  /** Start waiting jobs, one lane at a time in turn, while the threads have room. */
  #dispatch(): void {
    const room = Math.max(1, (this.#pool?.threads ?? 0) * IN_POOL_PER_THREAD);
    while (this.#inPool < room && this.#waiting.length > 0) {
      const lane = this.#waiting.shift()!;
      const job = lane.queued.shift()!;
      if (lane.queued.length > 0) this.#waiting.push(lane);
      this.#inPool++;
      job.start!();
    }
  }

  async #parse(job: Job, spec: LaneSpec): Promise<Batch> {
    const { raw } = job;
    try {
      const res = await this.#pool!.parse({
        items: raw.items,
        times: raw.times,
        ...(raw.originIdx !== undefined && raw.origins !== undefined ? { origins: raw.origins.map((o) => JSON.stringify(o)), originIdx: raw.originIdx } : {}),
        maxLineBytes: spec.maxLineBytes,
        format: spec.format,
        now: raw.now,
        source: spec.source,
        stream: spec.stream,
        origin: JSON.stringify(raw.origin),
        seqDigits: job.digits,
        ...(spec.transforms !== undefined ? { transforms: spec.transforms.threaded, decoded: spec.transforms.hasMain && !spec.transforms.readsOnly } : {}),
        ...(spec.records === true ? { records: true } : {}),
      });
      if (res.tally !== undefined) raw.tally = res.tally;
      if (res.transformDropped !== undefined) {
        spec.transforms?.countDrops('drop', res.transformDropped);
        add(spec.counters, 'transform_dropped', res.transformDropped);
      }
      if (res.transformCounts !== undefined) spec.transforms?.addThreadedCounts(res.transformCounts);
      if (res.records !== undefined) return this.#decoded(res, res.records, spec);
      return this.#encoded(res, job, spec);
    } catch {
      // no thread could (a worker died, or cannot start): the items are still here (shared or copied, not transferred)
      spec.counters.parsed_inline++;
      return parseInline(spec, raw);
    } finally {
      this.#inPool--;
      this.#jobs--;
      this.#dispatch();
    }
  }

  /** A thread's records handed back decoded (a source with transforms): its counters, then the records. */
  #decoded(res: ParseResult, records: LogRecord[], spec: LaneSpec): LogRecord[] {
    this.#count(res, spec);
    return records;
  }

  #count(res: ParseResult, spec: LaneSpec): void {
    const c = spec.counters;
    for (const k in res.counters) parseCounters[k as keyof typeof parseCounters] += res.counters[k]!;
    if (res.unserializable > 0) this.#pipeline.drop('hub', 'unserializable_fields', res.unserializable);
    add(c, 'lines', res.split.lines);
    add(c, 'truncated', res.split.truncated);
    add(c, 'repaired', res.split.repaired);
    add(c, 'native_lines', res.native.lines);
    add(c, 'native_bailed', res.native.bailed);
  }

  #encoded(res: ParseResult, job: Job, spec: LaneSpec): EncodedBatch {
    this.#count(res, spec);
    const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length);
    return { kind: 'encoded', buf, ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits: job.digits, received: job.raw.now, source: spec.source, stream: spec.stream, origin: job.raw.origin, ...(job.raw.originIdx !== undefined ? { origins: job.raw.origins, originIdx: res.originIdx ?? job.raw.originIdx } : {}), ...(spec.records === true ? { originsInWire: true } : {}) };
  }

  /** Push a parsed batch and report it (its own count on an exception: counted, never silent). */
  commit(batch: Batch, spec: LaneSpec, onCommit: OnCommit): void {
    const plan = spec.transforms;
    let emitted: LogRecord[] | undefined;
    if (plan !== undefined && plan.hasMain) {
      // the stateful transforms, here on the main thread in the lane's order
      if (isEncoded(batch)) {
        // they only read (plan.readsOnly): one view re-pointed at each record in turn, decoding what they
        // read (they keep no record); the dropped records cut out of the bytes
        const t = plan.applyMainViews(batch.ends.length, cursorOf(batch, 0));
        add(spec.counters, 'transform_dropped', t.dropped);
        batch = filterEncoded(batch, t.keep);
        if (t.emitted.length > 0) emitted = t.emitted;
      } else {
        const t = plan.applyMain(batch);
        add(spec.counters, 'transform_dropped', t.dropped);
        batch = t.records;
      }
    }
    const n = batchLength(batch);
    let more = n === 0 ? !this.#paused : this.#push(batch, n, spec);
    // the batch's own seqs are what its source checkpoints (a crash replay re-publishes them)
    const seqLast = this.#pipeline.lastSeq();
    // session summaries that closed on this batch go right after it
    if (emitted !== undefined) more = this.#push(emitted, emitted.length, spec) && more;
    onCommit(n, seqLast, more);
  }

  #push(batch: Batch, n: number, spec: LaneSpec): boolean {
    let more: boolean;
    try {
      more = this.#pipeline.push(batch);
    } catch {
      // Not expected (the hub guards serialization): the batch cannot be taken back from
      // whatever accepted part of it, so it is passed over and counted.
      spec.counters.push_errors += n;
      this.#pipeline.drop(spec.dropStage, 'push_error', n);
      more = true;
    }
    spec.counters.records += n;
    if (!more) this.#pause();
    return more;
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#pipeline.onDrain(() => {
      this.#paused = false;
    });
  }

  /** Resolves when the pipeline takes batches again (at once when it does, or for a closing lane). */
  unpaused(lane: Lane): Promise<void> {
    if (!this.#paused || lane.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        const i = lane.unpauseWaiters.indexOf(done);
        if (i >= 0) lane.unpauseWaiters.splice(i, 1);
        resolve();
      };
      lane.unpauseWaiters.push(done);
      this.#pipeline.onDrain(done);
    });
  }

  /**
   * Thread batches commit one per event-loop turn. Results that queued up
   * while the main thread was busy (a GC, a checkpoint) would otherwise all
   * publish in one turn: thousands of records before any socket could drain,
   * so a live client that keeps up fine would still be pushed past its lag
   * bound. Between two commits the loop's poll phase runs: sockets write,
   * 'drain' fires, pumps catch up. Turns are granted in the order asked.
   */
  nextTurn(): Promise<void> {
    if (!this.#committedThisTurn && this.#turnWaiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#turnWaiters.push(resolve));
  }

  markTurn(): void {
    if (this.#committedThisTurn) return;
    this.#committedThisTurn = true;
    setImmediate(() => {
      this.#committedThisTurn = false;
      this.#turnWaiters.shift()?.();
    });
  }

  /** The seq width a thread reserves for a batch submitted now (wire/seq.ts). */
  digits(): number {
    return seqDigits(this.#pipeline.nextSeq());
  }
}

export class Lane {
  readonly #stage: ParseStage;
  readonly spec: LaneSpec;
  /** Submitted, not yet committed, in order. */
  readonly #jobs: Promise<void>[] = [];
  /** Waiting for a thread (the stage's round-robin). */
  readonly queued: Job[] = [];
  readonly unpauseWaiters: (() => void)[] = [];
  closing = false;

  constructor(stage: ParseStage, spec: LaneSpec) {
    this.#stage = stage;
    this.spec = spec;
  }

  /** Batches submitted and not yet committed. */
  get pending(): number {
    return this.#jobs.length;
  }

  /**
   * Hand over a raw batch; `onCommit` runs once it was pushed. A small batch
   * of a lane with nothing pending is parsed and pushed before this returns.
   */
  submit(raw: RawBatch, onCommit: OnCommit): void {
    const stage = this.#stage;
    if (raw.items.length === 0) return;
    if (this.#jobs.length === 0 && !stage.wantsThread(raw, this.spec)) {
      stage.commit(parseInline(this.spec, raw), this.spec, onCommit);
      giveBack(raw);
      return;
    }
    // a batch behind this lane's earlier ones goes to a thread too, so it commits after them
    const job: Job = { raw, onCommit, digits: stage.digits(), done: undefined as unknown as Promise<Batch> };
    job.done = stage.enqueue(this, job, this.spec);
    const prev = this.#jobs.length > 0 ? this.#jobs[this.#jobs.length - 1]! : Promise.resolve();
    const p: Promise<void> = prev
      .then(() => job.done)
      .then(async (batch) => {
        // a pause asked by an earlier batch holds this one until the pipeline drains (not when closing: read bytes are pushed)
        await stage.unpaused(this);
        await stage.nextTurn();
        try {
          stage.commit(batch, this.spec, onCommit);
        } finally {
          stage.markTurn();
        }
        // parsed (by a thread, or here when it failed) and pushed: nothing reads the items any more
        giveBack(raw);
      })
      .catch(() => {
        // not expected (parsing never throws): the lines cannot be committed, and are counted
        this.spec.counters.push_errors += raw.items.length;
        stage.pipeline.drop(this.spec.dropStage, 'push_error', raw.items.length);
      })
      .finally(() => {
        const i = this.#jobs.indexOf(p);
        if (i >= 0) this.#jobs.splice(i, 1);
      });
    this.#jobs.push(p);
  }

  /** Resolves when the oldest pending batch committed (at once when none is pending). */
  oldest(): Promise<void> {
    return this.#jobs[0] ?? Promise.resolve();
  }

  /** Resolves when every batch submitted so far committed. */
  async settled(): Promise<void> {
    while (this.#jobs.length > 0) await this.#jobs[this.#jobs.length - 1];
  }

  /** The source stops: queued batches no longer wait for a drain (they are pushed). */
  close(): void {
    this.closing = true;
    for (const w of this.unpauseWaiters.splice(0)) w();
  }
}

/** A committed batch's pooled buffers back to the pool (parse/shared-buffers.ts). */
function giveBack(raw: RawBatch): void {
  const shared = raw.shared;
  if (shared === undefined) return;
  raw.shared = undefined;
  for (const b of shared) give(b);
}
