/**
 * The parse pool: worker threads that turn lines into wire-ready records
 * (worker.ts), so parsing and serialization (two thirds of a line's CPU,
 * bench/stages.ts) run beside the main thread instead of on it.
 *
 * A job is one read chunk's lines; the pool hands it to the worker with the
 * fewest jobs in flight. Order is the caller's business (the file source
 * commits its jobs in submission order). A worker that dies fails its jobs
 * (the caller parses those lines itself) and is replaced on the next job.
 * With `threads = 0` every job is refused at once and callers parse inline.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { nativeParseState } from './native.js';
import type { Format } from './detect.js';
import type { LogRecord } from '../core/record.js';
import type { RecordTally } from '../sources/records/ndjson.js';
import type { TransformConfig } from '../transforms/config.js';

export interface ParseJob {
  id: number;
  /** In order: a line, or the bytes of a run of complete lines (ending with '\n') for the worker to split. */
  items: (string | Uint8Array)[];
  /** Per item, its origin's index in `origins` (JSON, as `origin`) when the items' origins differ (parse/batch.ts). */
  origins?: string[];
  originIdx?: Uint8Array;
  /** Per item, a string item's time when the source knows it (parse/batch.ts RawBatch.times). */
  times?: (number | undefined)[];
  /** The source's max_line_bytes (how the worker splits byte runs). */
  maxLineBytes: number;
  format: Format;
  /** Event-time default and `received` of every record of the job (epoch ms). */
  now: number;
  source: string;
  stream: string;
  /** JSON of the records' origin, as the wire carries it (the worker writes it into every record as is). */
  origin: string;
  /**
   * When > 0: the number of digits the records' seqs will most likely have
   * (wire/seq.ts: seqDigits of the hub's next seq).
   * Each record is then written whole, `{"seq":` + that many reserved digit
   * bytes + its tail + '\n', one after the other, so that the hub can stamp
   * the seqs in place and publish the buffer itself as the batch's wire block
   * (no copy); when the seqs turn out to have another width it copies the
   * tails as usual. 0: tails only, back to back.
   */
  seqDigits: number;
  /** The source's leading stateless transforms (transforms/plan.ts), run on each parsed record. */
  transforms?: TransformConfig[];
  /** Hand the records back decoded (`ParseResult.records`): a stateful transform runs on them at commit. */
  decoded?: boolean;
  /** The items are NDJSON records (an ingest body's chunks, sources/records/ndjson.ts): checked, not parsed as log lines. */
  records?: boolean;
}

export interface ParseResult {
  id: number;
  /**
   * Record i's wire JSON after `{"seq":N` ends at ends[i]. With seqDigits 0 it
   * starts at ends[i-1] (or 0); with seqDigits D it starts 7 + D bytes after
   * ends[i-1] + 1 (or 0), past its `{"seq":` and D reserved bytes, and a '\n'
   * follows it.
   */
  buf: Uint8Array;
  ends: Uint32Array;
  /** msg[2i], msg[2i+1]: record i's message as a JSON string literal, in buf. */
  msg: Uint32Array;
  times: Float64Array;
  /** 0: no level, else LEVELS[levels[i] - 1]. */
  levels: Uint8Array;
  unserializable: number;
  /** parseCounters deltas (which parser took each line). */
  counters: Record<string, number>;
  /** What splitting the byte runs gave: lines, and of them truncated and repaired ones. */
  split: { lines: number; truncated: number; repaired: number };
  /** Lines the native writer rendered, and lines it handed to the JS parsers (both 0 when it is off). */
  native: { lines: number; bailed: number };
  /** Set instead of the buffers when the job asked for decoded records, or a route moved one to another stream. */
  records?: LogRecord[];
  /** Per record written, its origin's index (ParseJob.originIdx is per line): set when transforms dropped records of a job whose lines' origins differ. */
  originIdx?: Uint8Array;
  /** Records the job's transforms dropped (reason "drop"). */
  transformDropped?: number;
  /** Per stateless transform of the job, records in and out (transforms/plan.ts applySteps). */
  transformCounts?: number[];
  /** A `records` job: which records were good and which bad (by line within the job). */
  tally?: RecordTally;
}

/** The default number of parse threads: one per core, at most 4 (the main thread's share does not grow with them). */
export function defaultParseThreads(): number {
  const n = availableParallelism();
  return n < 2 ? 0 : Math.min(4, n);
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: ParseResult) => void; reject: (e: Error) => void }>;
}

const here = fileURLToPath(import.meta.url);
// Under the test runner this module is TypeScript; the worker then needs the tsx loader.
const isTs = here.endsWith('.ts');
const workerFile = path.join(path.dirname(here), isTs ? 'worker.ts' : 'worker.js');
const WORKER_YOUNG_MB = 8;
const FAILURE_LIMIT = 3;
const RETRY_AFTER_MS = 30_000;

/** Under the test runner: a worker that registers the tsx loader, then imports worker.ts. */
/** workerData key that tells worker.ts it runs in a thread this pool started. */
export const PARSE_WORKER_MARK = 'sluiceParseWorker';

function tsBootstrap(): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(workerFile).href)}); });`;
}

export interface ParsePoolStatus {
  threads: number;
  /** Workers running now. */
  running: number;
  jobs: number;
  /** Workers that failed to start or died; their jobs were parsed by the caller. */
  failures: number;
  last_error?: string;
  /** The native writer: `loaded`, or why the JS parsers do all the work. */
  native: string;
}

export class ParsePool {
  #slots: (Slot | null)[] = [];
  #nextId = 1;
  #closed = false;
  #failures = 0;
  /** Failures since the last job a worker answered; past FAILURE_LIMIT no worker is started before `#retryAt`. */
  #failStreak = 0;
  #retryAt = 0;
  #jobs = 0;
  #lastError: string | undefined;
  readonly #onError: (message: string) => void;

  /** `onError` hears of every worker that fails to start or dies (the daemon logs it). */
  constructor(threads: number, onError: (message: string) => void = () => undefined) {
    this.#onError = onError;
    this.resize(threads);
  }

  status(): ParsePoolStatus {
    return {
      threads: this.#slots.length,
      running: this.#slots.filter((s) => s !== null).length,
      jobs: this.#jobs,
      failures: this.#failures,
      native: nativeParseState,
      ...(this.#lastError !== undefined ? { last_error: this.#lastError } : {}),
    };
  }

  get threads(): number {
    return this.#slots.length;
  }

  /** Change the number of threads (started at once); workers beyond it finish their jobs and exit. */
  resize(threads: number): void {
    const n = Math.max(0, Math.floor(threads));
    while (this.#slots.length > n) {
      const s = this.#slots.pop();
      if (s) this.#retire(s);
    }
    // Started now, not at the first job: a worker takes a few hundred ms to load, which the
    // first lines would otherwise wait for (measured: append -> SSE p99 375 ms instead of 6).
    while (this.#slots.length < n) {
      const i = this.#slots.length;
      this.#slots.push(null);
      try {
        this.#slots[i] = this.#spawn(i);
      } catch (e) {
        this.#failed(e as Error); // retried at the next job
      }
    }
  }

  /** Parse a job's lines; rejects when no worker can (threads = 0, closed, a worker died). */
  parse(job: Omit<ParseJob, 'id'>): Promise<ParseResult> {
    if (this.#closed || this.#slots.length === 0) return Promise.reject(new Error('parse pool: no threads'));
    let best = 0;
    let bestLoad = Infinity;
    for (let i = 0; i < this.#slots.length; i++) {
      const load = this.#slots[i]?.pending.size ?? 0;
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    let slot: Slot;
    if (this.#slots[best] === null && Date.now() < this.#retryAt) return Promise.reject(new Error('parse pool: workers failing, retrying later'));
    try {
      slot = this.#slots[best] ?? (this.#slots[best] = this.#spawn(best));
    } catch (e) {
      this.#failed(e as Error);
      return Promise.reject(e as Error);
    }
    const id = this.#nextId++;
    this.#jobs++;
    return new Promise<ParseResult>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...job, id } satisfies ParseJob);
    });
  }

  /** Fault injection (tests): worker `index` dies as a crash would (its jobs fail, the next job starts a new one). */
  async crash(index: number): Promise<void> {
    await this.#slots[index]?.worker.terminate();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.filter((s): s is Slot => s !== null);
    this.#slots = [];
    await Promise.all(slots.map((s) => this.#retire(s)));
  }

  #spawn(index: number): Slot {
    const worker = new Worker(isTs ? tsBootstrap() : workerFile, {
      eval: isTs,
      name: `sluice-parse-${index}`,
      workerData: { [PARSE_WORKER_MARK]: true },
      // A worker keeps nothing between jobs: a small young generation keeps its heap (and the RSS) small
      // at no measurable cost (bench: 8 MB vs 48 MB, the same throughput, ~70 MB less RSS per worker).
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    // the pool must never keep the process alive on its own
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (res: ParseResult) => {
      const p = slot.pending.get(res.id);
      if (!p) return;
      slot.pending.delete(res.id);
      this.#failStreak = 0;
      p.resolve(res);
    });
    const fail = (err: Error): void => {
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots[i] = null; // replaced on the next job
      if (slot.pending.size > 0 || i >= 0) this.#failed(err);
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', (e) => fail(e));
    worker.on('exit', (code) => fail(new Error(`parse worker exited with code ${code}`)));
    return slot;
  }

  #failed(err: Error): void {
    this.#failures++;
    this.#lastError = err.message;
    // a worker that cannot start at all must not be retried (and logged) for every batch
    if (++this.#failStreak >= FAILURE_LIMIT) this.#retryAt = Date.now() + RETRY_AFTER_MS;
    this.#onError(
      `parse worker failed (its lines are parsed on the main thread): ${err.message}` +
        (this.#failStreak >= FAILURE_LIMIT ? `; ${this.#failStreak} failures in a row, next try in ${RETRY_AFTER_MS / 1000} s` : ''),
    );
  }

  async #retire(s: Slot): Promise<void> {
    // let its jobs finish (bounded), then stop it
    for (let i = 0; i < 200 && s.pending.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    for (const p of s.pending.values()) p.reject(new Error('parse pool: worker stopped'));
    s.pending.clear();
    s.worker.removeAllListeners('exit');
    await s.worker.terminate();
  }
}
