/**
 * The seams between stages (ARCHITECTURE.md §1): what a source sees of the
 * pipeline, and what the daemon sees of a source. A source knows nothing of
 * the hub, the rules or the sinks behind `push`.
 */
import type { LogRecord } from './record.js';
import type { Batch } from '../wire/encoded.js';
import type { ComponentState, Health, LastError } from './health.js';

export interface Pipeline {
  /**
   * Accept a batch (one read's worth) of records. The records are accepted
   * (seq assigned, in the replay ring, fanned out) when this returns; `false`
   * means "stop reading until `onDrain` fires" (the Node stream convention).
   */
  push(batch: Batch): boolean;
  /** Called once when the pipeline can take more after `push` returned false. */
  onDrain(cb: () => void): void;
  /** The last seq the hub assigned (sources store it with their checkpoints). */
  lastSeq(): number;
  /** The seq the next record will most likely get: what a writer reserves digits for (wire/seq.ts). */
  nextSeq(): number;
  /**
   * Crash recovery, only valid from `Source.restore` (before any source
   * starts): re-publish records that already had seqs before the crash (they
   * keep them, so a client resuming by Last-Event-ID sees each once), and
   * raise the hub's counter to at least `seqFloor`.
   */
  replay(batch: LogRecord[], seqFloor: number): void;
  /** Count a drop or a bad-input event: `sluice_dropped_total{stage,reason}`. */
  drop(stage: string, reason: string, n?: number): void;
}

export interface SourceStatus {
  name: string;
  type: string;
  stream: string;
  /** From the source's Health (core/health.ts). */
  state: ComponentState;
  state_since: string;
  last_error: LastError | null;
  counters: Record<string, number>;
  [extra: string]: unknown;
}

export interface Source {
  readonly name: string;
  readonly type: string;
  readonly stream: string;
  /** Its state and last error; the daemon observes it for its log. */
  readonly health: Health;
  /**
   * Optional first phase, run for every source before any `start`: load
   * checkpoints and hand the pipeline what must be replayed.
   */
  restore?(pipeline: Pipeline): Promise<void>;
  /** Begin reading. */
  start(pipeline: Pipeline): Promise<void>;
  /** Stop reading; resolves when every record produced was accepted and checkpoints are flushed. */
  stop(): Promise<void>;
  status(): SourceStatus;
}
