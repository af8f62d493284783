/**
 * How a source of already-structured records (socket, HTTP) hands them to
 * the parse stage. Its records need no parsing, and going through a line
 * parser would change them (the JSON parser takes `host`, `msg`, `ts`, ...
 * out of fields and normalizes what it finds), so they are committed as
 * records through the stage (`ParseStage.commit`, the same push, counters,
 * stateful transforms and pause the stage's lanes use), in the order given,
 * at once: nothing is pending, so ordering needs no queue. The source's
 * stateless transforms, which a line lane runs where it parses, run here
 * first (`spec.transforms`, from `ParseStage.plan`).
 *
 * A large NDJSON body (HTTP ingest, a forward batch) goes to the parse
 * threads instead (`commitNdjson`): cut after a '\n' into chunks, each
 * checked and written to wire bytes in a thread like a file's lines, the
 * chunks committed in order on a lane of their own; the main thread only
 * stamps seqs and publishes.
 *
 * Back-pressure: when the pipeline answers "wait" the lane is `paused` until
 * the stage sees a drain; the source stops reading (socket) or answers 429
 * (HTTP) meanwhile.
 */
import type { LogRecord, Origin } from '../../core/record.js';
import type { Lane, LaneSpec, ParseStage, RawBatch } from '../../parse/stage.js';
import { add } from '../../parse/batch.js';
import { give, take } from '../../parse/shared-buffers.js';
import { mergeTally, newTally, type RecordTally } from './ndjson.js';

/** An NDJSON body's chunk for a parse thread: big enough to be worth the trip, small enough that two threads share a forward batch. */
export const NDJSON_CHUNK = 512 * 1024;

export class RecordLane {
  readonly #stage: ParseStage;
  readonly #lane: Lane;
  readonly spec: LaneSpec;
  #paused = false;
  readonly #resumed: (() => void)[] = [];
  /** The lanes of bodies being checked in the threads (closed with this one). */
  readonly #bodies = new Set<Lane>();

  constructor(stage: ParseStage, spec: LaneSpec) {
    this.#stage = stage;
    this.spec = spec;
    this.#lane = stage.lane(spec);
  }

  /** The pipeline asked to wait and has not drained yet. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Push records in order; false when the pipeline asks to wait (they were accepted anyway). */
  commit(records: LogRecord[]): boolean {
    if (records.length === 0) return !this.#paused;
    const plan = this.spec.transforms;
    if (plan !== undefined) add(this.spec.counters, 'transform_dropped', plan.applyThreaded(records));
    let more = true;
    this.#stage.commit(records, this.spec, (_n, _seq, m) => {
      more = m;
    });
    if (!more) this.#pause();
    return more;
  }

  /** Can `commitNdjson` use parse threads? (None configured, or none could start: check inline.) */
  get threaded(): boolean {
    return this.#stage.threaded;
  }

  /**
   * Check NDJSON records (`body`: UTF-8 bytes) in the parse threads and
   * commit the good ones in order; resolves once all are committed, with
   * what was good and bad (line numbers of the whole body). The bytes are
   * copied once into shared memory, so the threads read them in place.
   */
  async commitNdjson(body: Uint8Array, origin: Origin, now: number): Promise<RecordTally> {
    // pooled (parse/shared-buffers.ts): a new SharedArrayBuffer per body costs ~200 us a MiB
    const whole = take(body.length);
    const shared = whole.subarray(0, body.length);
    shared.set(body);
    const lane = this.#stage.lane({ ...this.spec, records: true, threadMinSize: 0 });
    this.#bodies.add(lane);
    const raws: RawBatch[] = [];
    try {
      for (let a = 0; a < shared.length; ) {
        const cut = a + NDJSON_CHUNK >= shared.length ? -1 : shared.indexOf(0x0a, a + NDJSON_CHUNK);
        const b = cut < 0 ? shared.length : cut + 1;
        const raw: RawBatch = { items: [shared.subarray(a, b)], size: b - a, now, origin };
        raws.push(raw);
        lane.submit(raw, (_n, _seq, more) => {
          if (!more) this.#pause();
        });
        a = b;
      }
      await lane.settled();
      // every chunk committed: nothing reads the body any more (not on a throw: a thread may still be)
      give(whole);
    } finally {
      this.#bodies.delete(lane);
    }
    const t = newTally();
    for (const raw of raws) if (raw.tally !== undefined) mergeTally(t, raw.tally);
    return t;
  }

  /** Run `cb` once the lane is no longer paused (at once when it is not). */
  onResume(cb: () => void): void {
    if (!this.#paused) cb();
    else this.#resumed.push(cb);
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    void this.#stage.unpaused(this.#lane).then(() => {
      this.#paused = false;
      for (const cb of this.#resumed.splice(0)) cb();
    });
  }

  /** The source stops: nobody waits for a drain any more. */
  close(): void {
    this.#lane.close();
    for (const l of this.#bodies) l.close();
  }
}
