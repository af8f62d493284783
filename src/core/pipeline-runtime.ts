/**
 * The pipeline as sources see it: push a batch into the hub (seq, ring,
 * fan-out), then hand it to the durable stages (rules -> store) whose bounded
 * queues may ask sources to pause. `push` returns false while any durable
 * stage is full; `onDrain` callbacks fire when all have room again.
 */
import type { Pipeline } from './pipeline.js';
import type { LogRecord } from './record.js';
import type { Hub } from '../hub/hub.js';
import { batchLength, isEncoded, recordsOf, type Batch, type EncodedBatch } from '../wire/encoded.js';
import type { Metrics } from './metrics.js';

/** A stage after the hub with its own bounded queue (e.g. the rule engine). */
export interface DurableStage {
  readonly name: string;
  push(batch: LogRecord[]): boolean;
  onDrain(cb: () => void): void;
  /**
   * A batch of `n` records up to seq `lastSeq` the stage would not read (the
   * rule engine without a rule): take it as pushed and answer as `push`
   * would, or undefined to have it pushed. The records of a batch from the
   * parse threads are then never decoded when no stage reads them (a record
   * object each: the main thread's largest source of garbage, bench syslog).
   */
  skip?(n: number, lastSeq: number): boolean | undefined;
  /**
   * An encoded batch whose records got the seqs `first`, first+1, ... from
   * the hub: a stage that writes whole wire records (the forward sink) takes
   * their bytes instead of a record each. Answer as `push` would.
   */
  pushEncoded?(batch: EncodedBatch, first: number): boolean;
}

export class PipelineRuntime implements Pipeline {
  #hub: Hub;
  #metrics: Metrics;
  #stages: DurableStage[] = [];
  #full = new Set<DurableStage>();
  #drainCbs: (() => void)[] = [];
  /** Called after every accepted batch (seq reservation, ...). */
  afterPush: (() => void) | undefined;

  constructor(hub: Hub, metrics: Metrics) {
    this.#hub = hub;
    this.#metrics = metrics;
  }

  addStage(s: DurableStage): void {
    this.#stages.push(s);
  }

  removeStage(s: DurableStage): void {
    this.#stages = this.#stages.filter((x) => x !== s);
    this.#full.delete(s);
    this.#maybeDrain();
  }

  push(batch: Batch): boolean {
    if (batchLength(batch) === 0) return this.#full.size === 0;
    const first = this.#hub.publish(batch);
    if (isEncoded(batch)) this.#metrics.records.inc({ stream: batch.stream }, batch.ends.length);
    else this.#countRecords(batch);
    // the durable stages read records: an encoded batch's decode what they read from its bytes (made
    // once, for the first stage that reads them)
    let records: LogRecord[] | undefined;
    const n = batchLength(batch);
    const last = this.#hub.lastSeq;
    for (const s of this.#stages) {
      let ok = s.skip?.(n, last);
      if (ok === undefined) {
        if (s.pushEncoded !== undefined && isEncoded(batch)) ok = s.pushEncoded(batch, first);
        else {
          records ??= isEncoded(batch) ? recordsOf(batch, first) : batch;
          ok = s.push(records);
        }
      }
      if (!ok && !this.#full.has(s)) {
        this.#full.add(s);
        s.onDrain(() => {
          this.#full.delete(s);
          this.#maybeDrain();
        });
      }
    }
    this.afterPush?.();
    return this.#full.size === 0;
  }

  /** sluice_records_total{stream}: a batch is almost always one stream, so count it in one call. */
  #countRecords(batch: LogRecord[]): void {
    const first = batch[0]!.stream;
    if (batch[batch.length - 1]!.stream === first && batch.every((r) => r.stream === first)) {
      this.#metrics.records.inc({ stream: first }, batch.length);
      return;
    }
    const counts = new Map<string, number>();
    for (const r of batch) counts.set(r.stream, (counts.get(r.stream) ?? 0) + 1);
    for (const [stream, n] of counts) this.#metrics.records.inc({ stream }, n);
  }

  #maybeDrain(): void {
    if (this.#full.size > 0 || this.#drainCbs.length === 0) return;
    const cbs = this.#drainCbs;
    this.#drainCbs = [];
    for (const cb of cbs) cb();
  }

  onDrain(cb: () => void): void {
    this.#drainCbs.push(cb);
    if (this.#full.size === 0) queueMicrotask(() => this.#maybeDrain());
  }

  lastSeq(): number {
    return this.#hub.lastSeq;
  }

  nextSeq(): number {
    return this.#hub.nextSeq;
  }

  replay(batch: LogRecord[], seqFloor: number): void {
    this.#hub.replay(batch, seqFloor);
  }

  drop(stage: string, reason: string, n = 1): void {
    this.#metrics.drop(stage, reason, n);
  }
}
