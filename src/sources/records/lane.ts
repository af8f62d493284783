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
 * Back-pressure: when the pipeline answers "wait" the lane is `paused` until
 * the stage sees a drain; the source stops reading (socket) or answers 429
 * (HTTP) meanwhile.
 */
import type { LogRecord } from '../../core/record.js';
import type { Lane, LaneSpec, ParseStage } from '../../parse/stage.js';
import { add } from '../../parse/batch.js';

export class RecordLane {
  readonly #stage: ParseStage;
  readonly #lane: Lane;
  readonly spec: LaneSpec;
  #paused = false;
  readonly #resumed: (() => void)[] = [];

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
  }
}
