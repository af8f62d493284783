/**
 * What every source hands the parse stage (stage.ts): a raw batch, lines
 * not yet parsed, and the inline parse of one on the main thread (a live
 * trickle, a batch no parse thread could take, a crash replay). A parse
 * thread gives the same records byte for byte (worker.ts; pool.test.ts and
 * native.test.ts hold both to it).
 */
import { splitRegion } from '../framing/lines.js';
import type { LogRecord, Origin } from '../core/record.js';
import { parseLine, type Format } from './detect.js';
import type { TransformPlan } from '../transforms/plan.js';
import { checkNdjsonItems, newTally, type RecordTally } from '../sources/records/ndjson.js';

export interface RawBatch {
  /** In order: a line, or the bytes of a run of complete lines (ending with '\n'; shared memory crosses threads without a copy). */
  items: (string | Uint8Array)[];
  /** Its text: string lengths plus byte counts (what decides between a parse thread and inline). */
  size: number;
  /** When it was read (the records' `received`, and their time when a line has none), epoch ms. */
  now: number;
  origin: Origin;
  /**
   * When the items do not all share `origin` (Docker: a container's stdout
   * and stderr): per item, its origin's index in `origins`. Only for batches
   * of string items (one record each).
   */
  origins?: Origin[];
  originIdx?: Uint8Array;
  /**
   * Per item, the record's time when the source knows it better than the
   * line (Docker's engine timestamp): it wins over a time in the line.
   * Only for string items.
   */
  times?: (number | undefined)[];
  /** A records lane's batch (LaneSpec.records): which records were good and which bad, set where it was parsed. */
  tally?: RecordTally;
  /**
   * Whole buffers from parse/shared-buffers.ts that the items are views of:
   * the stage gives them back once the batch is committed (nothing reads
   * the items after that), so the next batch reuses them.
   */
  shared?: Buffer[];
}

/** A lane's fixed part: whose records these are and how their lines are read. */
export interface LaneSpec {
  source: string;
  stream: string;
  format: Format;
  maxLineBytes: number;
  /** `stage` label of this lane's drops (file, docker, ...). */
  dropStage: string;
  counters: StageCounters;
  /** Batches with less text go inline (default: the stage's). */
  threadMinSize?: number;
  /** The source's transforms (transforms/plan.ts; from ParseStage.plan): its records are decoded, transformed, then encoded. */
  transforms?: TransformPlan;
  /**
   * The batches' items are NDJSON records (an ingest body's chunks,
   * sources/records/ndjson.ts), checked as records rather than parsed as
   * log lines; each batch's tally is left in `RawBatch.tally`.
   */
  records?: boolean;
}

/** What the stage adds to a source's counters (monotonic; the optional ones only for sources that hand over byte runs). */
export interface StageCounters {
  /** Lines split from byte runs here or in a parse thread (a source counts the lines it split itself). */
  lines: number;
  truncated?: number;
  repaired?: number;
  records: number;
  /** Batches no parse thread could take (a worker died, or cannot start), parsed on the main thread. */
  parsed_inline: number;
  /** Records the pipeline refused with an exception (a bug downstream): counted, never silent. */
  push_errors: number;
  /** Records the source's transforms dropped (by reason in sluice_dropped_total{stage="transform"}). */
  transform_dropped?: number;
  /** Lines the native writer rendered, and lines it handed to the JS parsers. */
  native_lines?: number;
  native_bailed?: number;
}

export function textSize(items: readonly (string | Uint8Array)[]): number {
  let n = 0;
  for (const it of items) n += it.length;
  return n;
}

/** Parse a raw batch on this thread, and run the source's stateless transforms over it (the stateful ones run at commit). */
export function parseInline(spec: LaneSpec, raw: RawBatch): LogRecord[] {
  const out = parseOnly(spec, raw);
  const plan = spec.transforms;
  if (plan !== undefined) add(spec.counters, 'transform_dropped', plan.applyThreaded(out));
  return out;
}

/** Parse a raw batch on this thread, no transform run (what a crash replay re-reads). */
export function parseOnly(spec: LaneSpec, raw: RawBatch): LogRecord[] {
  const out: LogRecord[] = [];
  const c = spec.counters;
  const { now, origin, times, origins, originIdx } = raw;
  if (spec.records === true) {
    const ctx = { source: spec.source, stream: spec.stream, origin, now };
    raw.tally = newTally();
    checkNdjsonItems(raw.items, ctx, raw.tally, (r) => out.push(r));
    return out;
  }
  for (let k = 0; k < raw.items.length; k++) {
    const it = raw.items[k]!;
    if (typeof it === 'string') out.push(record(spec, it, now, originIdx !== undefined ? origins![originIdx[k]!]! : origin, times?.[k]));
    else {
      const bytes = Buffer.isBuffer(it) ? it : Buffer.from(it.buffer, it.byteOffset, it.length);
      const n = splitRegion(bytes, spec.maxLineBytes, (line) => out.push(record(spec, line, now, origin, undefined)));
      add(c, 'lines', n.lines);
      add(c, 'truncated', n.truncated);
      add(c, 'repaired', n.repaired);
    }
  }
  return out;
}

function record(spec: LaneSpec, text: string, now: number, origin: Origin, time: number | undefined): LogRecord {
  const p = parseLine(text, spec.format, now);
  const r: LogRecord = { seq: 0, time: time ?? p.time ?? now, received: now, source: spec.source, stream: spec.stream, origin, message: p.message, fields: p.fields };
  if (p.level !== undefined) r.level = p.level;
  if (p.host !== undefined) r.host = p.host;
  if (p.app !== undefined) r.app = p.app;
  return r;
}

/** Add to a counter, creating an optional one only when there is something to count. */
export function add(c: StageCounters, k: keyof StageCounters, n: number): void {
  if (n !== 0) c[k] = (c[k] ?? 0) + n;
}
