/**
 * A parse worker (src/parse/pool.ts): lines in, wire bytes out. For each
 * line it runs the same parser and the same serializer as the main thread
 * (parseLine, then the record's wire JSON minus `{"seq":N`, which only the
 * hub can write), encodes everything into one buffer and transfers it back
 * with the few per-record values the main thread routes on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseCounters, parseLine } from './detect.js';
import { Records } from './render.js';
import { splitRegion } from '../framing/lines.js';
import type { LogRecord, Origin } from '../core/record.js';
import { middleText } from '../wire/json.js';
import { PARSE_WORKER_MARK, type ParseJob, type ParseResult } from './pool.js';
import { applySteps, compileSteps } from '../transforms/plan.js';
import { checkNdjsonItems, newTally, relayNdjsonBytes, type RecordTally } from '../sources/records/ndjson.js';
import { Relay } from '../sources/records/relay.js';
import type { Step } from '../transforms/stateless.js';
import { compileGates, type Gate } from '../transforms/gates.js';
import { compilePatches, type ExtractPatch } from '../transforms/patch.js';
import { gateRecords } from './gated.js';
import { FORMAT_CODE, NATIVE_COUNTERS, ST, STEP, localZoneIsUtc, nativeParse, type NativeParse } from './native.js';

function snapshotCounters(): Record<string, number> {
  return { ...parseCounters };
}

/** The job's lines in order, each with the time it is given (RawBatch.times): its strings as they are, its byte runs split here. */
function linesOf(job: ParseJob, split: ParseResult['split']): { lines: string[]; forced: (number | undefined)[]; from: number[] } {
  const lines: string[] = [];
  const forced: (number | undefined)[] = [];
  const from: number[] = [];
  job.items.forEach((it, k) => {
    if (typeof it === 'string') {
      lines.push(it);
      forced.push(job.times?.[k]);
      from.push(k);
    } else {
      const r = splitRegion(Buffer.from(it.buffer, it.byteOffset, it.length), job.maxLineBytes, (line) => {
        lines.push(line);
        forced.push(undefined);
        from.push(k);
      });
      split.lines += r.lines;
      split.truncated += r.truncated;
      split.repaired += r.repaired;
    }
  });
  return { lines, forced, from };
}

/** Add a byte run's lines through the JS splitter and parsers. */
function addRegion(recs: Records, bytes: Uint8Array, maxLineBytes: number, split: ParseResult['split']): void {
  const r = splitRegion(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), maxLineBytes, (line) => recs.add(line));
  split.lines += r.lines;
  split.truncated += r.truncated;
  split.repaired += r.repaired;
}

// The native writer's state, one per thread (see native.ts).
const st = new Float64Array(nativeParse?.stateSize ?? 1);
const UTC = localZoneIsUtc();

/** Add a byte run's lines through the native writer, the lines it hands back through JS. */
function addRegionNative(native: NativeParse, recs: Records, bytes: Uint8Array, job: ParseJob, midBytes: Uint8Array, split: ParseResult['split']): number {
  let bailed = 0;
  st[ST.POS] = 0;
  for (;;) {
    // every array goes with each call (the output grows on ROOM; a line handed to JS may grow the
    // per-record arrays): the native side keeps no pointer into them between calls
    st[ST.OFF] = recs.out.off;
    st[ST.IDX] = recs.i;
    const r = native.step(bytes, recs.out.buf, recs.ends, recs.msg, recs.times, recs.levels, midBytes, st);
    recs.out.off = st[ST.OFF]!;
    recs.i = st[ST.IDX]!;
    if (r === STEP.DONE) return bailed;
    if (r === STEP.BAIL) {
      bailed++;
      addRegion(recs, bytes.subarray(st[ST.BAIL_START], st[ST.BAIL_END]), job.maxLineBytes, split);
    } else {
      if (recs.i >= recs.ends.length) recs.growLines(64);
      recs.out.reserve(st[ST.NEED]!);
    }
  }
}

/** A gated job's first pass, written over by the next one (Records.reuse). */
let gatedScratch: Records | undefined;

/** A source's stateless transforms compiled once per thread, by their configs' JSON: steps, and their gates when the chain has them. */
const stepCache = new Map<string, { steps: Step[]; gates: Gate[] | undefined; patches: (ExtractPatch | undefined)[] }>();

function compiledOf(job: ParseJob): { steps: Step[]; gates: Gate[] | undefined; patches: (ExtractPatch | undefined)[] } {
  const key = JSON.stringify(job.transforms);
  let c = stepCache.get(key);
  if (c === undefined) {
    if (stepCache.size >= 64) stepCache.clear();
    const gates = compileGates(job.transforms!);
    stepCache.set(key, (c = { steps: compileSteps(job.transforms!), gates, patches: gates !== undefined ? compilePatches(job.transforms!, gates) : [] }));
  }
  return c;
}

function stepsOf(job: ParseJob): Step[] {
  return compiledOf(job).steps;
}

/** The job's steps with their gates, or undefined when its chain cannot be gated. */
function gatedOf(job: ParseJob): { steps: Step[]; gates: Gate[]; patches: (ExtractPatch | undefined)[] } | undefined {
  const c = compiledOf(job);
  return c.gates !== undefined ? { steps: c.steps, gates: c.gates, patches: c.patches } : undefined;
}

/** An ingested record's middle segment: the job's, or its own when it carries its sender's origin (`origin.from`). */
function ownMid(job: ParseJob, origin: Origin, mid: string): (r: LogRecord) => string {
  return (r) => (r.origin === origin ? mid : middleText(job.source, job.stream, JSON.stringify(r.origin)));
}

/**
 * A job's records as objects, before its stateless transforms: its lines
 * parsed (a source with transforms), or its items checked as NDJSON records
 * (`job.records`: an ingest body's chunk; the tally says which were bad).
 * `midOf`: a record's middle segment when not the job's (per item origins;
 * a forwarded record's origin, which carries its sender's).
 */
function objectsOf(job: ParseJob, split: ParseResult['split'], mid: string, mids: string[] | undefined): { records: LogRecord[]; midOf: (r: LogRecord) => string; originIdxOf?: (r: LogRecord) => number; tally?: RecordTally } {
  const origin = Object.freeze(JSON.parse(job.origin) as Origin);
  if (job.records === true) {
    const records: LogRecord[] = [];
    const tally = newTally();
    const ctx = { source: job.source, stream: job.stream, origin, now: job.now };
    checkNdjsonItems(job.items, ctx, tally, (r) => records.push(r));
    return { records, tally, midOf: ownMid(job, origin, mid) };
  }
  const { lines, forced, from } = linesOf(job, split);
  const origins = job.originIdx !== undefined && job.origins !== undefined ? job.origins.map((o) => JSON.parse(o) as Origin) : undefined;
  const records: LogRecord[] = new Array<LogRecord>(lines.length);
  /** Each record's origin index, when the lines' origins differ (its middle segment follows from it). */
  const idx_ = job.originIdx !== undefined ? new Map<LogRecord, number>() : undefined;
  for (let i = 0; i < lines.length; i++) {
    const p = parseLine(lines[i]!, job.format, job.now);
    const o = origins !== undefined ? origins[job.originIdx![from[i]!]!]! : origin;
    const r: LogRecord = { seq: 0, time: forced[i] ?? p.time ?? job.now, received: job.now, source: job.source, stream: job.stream, origin: o, message: p.message, fields: p.fields };
    if (p.level !== undefined) r.level = p.level;
    if (p.host !== undefined) r.host = p.host;
    if (p.app !== undefined) r.app = p.app;
    records[i] = r;
    idx_?.set(r, job.originIdx![from[i]!]!);
  }
  const midOf = (r: LogRecord): string => {
    const k = idx_?.get(r);
    return k !== undefined && mids !== undefined ? mids[k]! : mid;
  };
  return { records, midOf, ...(idx_ !== undefined ? { originIdxOf: (r: LogRecord) => idx_.get(r) ?? 0 } : {}) };
}

/**
 * A job whose records are objects first (objectsOf): the stateless
 * transforms run over them; the survivors are written like any job's
 * records, or handed back decoded when a stateful transform runs next at
 * commit (`job.decoded`) or a route moved one to another stream (an encoded
 * batch is one stream's).
 */
function objectJob(job: ParseJob, split: ParseResult['split'], mid: string, mids: string[] | undefined): { recs: Records; records?: undefined; dropped: number; counts: number[]; tally?: RecordTally; originIdx?: Uint8Array } | { records: LogRecord[]; dropped: number; counts: number[]; tally?: RecordTally } {
  const steps = job.transforms !== undefined ? stepsOf(job) : [];
  if (job.records === true && steps.length === 0 && job.decoded !== true) return { ...checkedJob(job, mid), dropped: 0, counts: [] };
  const { records, midOf, originIdxOf, tally } = objectsOf(job, split, mid, mids);
  const counts = new Array<number>(2 * steps.length).fill(0);
  const dropped = steps.length > 0 ? applySteps(steps, records, counts) : 0;
  const t = tally !== undefined ? { tally } : {};
  if (job.decoded === true || records.some((r) => r.stream !== job.stream)) return { records, dropped, counts, ...t };
  let chars = 0;
  for (const r of records) chars += r.message.length;
  const recs = new Records(job, mid, records.length, chars);
  for (const r of records) recs.put(r, r.time, midOf(r));
  // the records' origins by index, as the batch will say them (some lines were dropped)
  const o = originIdxOf !== undefined && dropped > 0 ? { originIdx: Uint8Array.from(records, originIdxOf) } : {};
  return { recs, dropped, counts, ...t, ...o };
}

/**
 * An ingest body's chunk with nothing to run over its records: each one
 * written as soon as it is checked. Collecting a chunk's records first kept
 * them all alive across the young generation's collections, which copied and
 * promoted them: the V8 helper threads' GC was a quarter of a central's CPU
 * on forwarded batches (bench/forward.ts).
 */
function checkedJob(job: ParseJob, mid: string): { recs: Records; tally: RecordTally } {
  let lines = 0;
  let bytes = 0;
  for (const it of job.items) {
    bytes += it.length;
    lines++;
    if (typeof it === 'string') continue;
    const b = Buffer.from(it.buffer, it.byteOffset, it.length);
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
  }
  // a record comes out as it came in (its seq room aside) plus this source's middle segment around its own
  // origin: sized for that, not Records' guess for parsed lines (40% over here; the buffer is external
  // memory the main thread's isolate counts until it is evicted from the ring)
  const recs = new Records(job, mid, lines, bytes, 256 + bytes + lines * (mid.length + 64));
  const origin = Object.freeze(JSON.parse(job.origin) as Origin);
  const tally = newTally();
  const ctx = { source: job.source, stream: job.stream, origin, now: job.now };
  const midOf = ownMid(job, origin, mid);
  const good = (r: LogRecord): void => recs.put(r, r.time, midOf(r));
  // a forwarded record is copied in by its bytes, not parsed and written again
  const relay = Relay.for(job.source, job.stream, origin);
  for (const it of job.items) {
    if (typeof it === 'string' || relay === undefined) checkNdjsonItems([it], ctx, tally, good);
    else relayNdjsonBytes(Buffer.from(it.buffer, it.byteOffset, it.length), relay, recs, ctx, tally, good);
  }
  return { recs, tally };
}

/** Run a job; `native` null: JS only (the definition the native writer is tested against). */
export function runJob(job: ParseJob, native: NativeParse | null | undefined = nativeParse): ParseResult {
  const split = { lines: 0, truncated: 0, repaired: 0 };
  // job.origin is the origin's JSON already (as the main thread's serializer writes it)
  const mid = middleText(job.source, job.stream, job.origin);
  // per item origins (RawBatch.origins): their segments, rendered once per job
  const mids = job.originIdx !== undefined && job.origins !== undefined ? job.origins.map((o) => middleText(job.source, job.stream, o)) : undefined;
  const before = snapshotCounters();
  const nat = { lines: 0, bailed: 0 };
  let recs: Records;
  let transformDropped = 0;
  let transformCounts: number[] | undefined;
  let tally: RecordTally | undefined;
  /** Per record written, its origin's index, when transforms dropped lines of several origins. */
  let originIdx: Uint8Array | undefined;
  const transforms = job.transforms !== undefined && job.transforms.length + (job.decoded === true ? 1 : 0) > 0;
  // transforms over the native writer's output, where their gates can tell which records they may change
  const gated = transforms && job.decoded !== true && native !== undefined && native !== null && job.records !== true ? gatedOf(job) : undefined;
  if ((transforms && gated === undefined) || job.records === true) {
    const t = objectJob(job, split, mid, mids);
    if (transforms) {
      transformDropped = t.dropped;
      transformCounts = t.counts;
    }
    tally = t.tally;
    if (t.records !== undefined) {
      const counters: Record<string, number> = {};
      for (const k of Object.keys(before)) counters[k] = parseCounters[k as keyof typeof parseCounters] - before[k]!;
      // empty buffers of their own: each is in the transfer list once
      return { id: job.id, buf: new Uint8Array(0), ends: new Uint32Array(0), msg: new Uint32Array(0), times: new Float64Array(0), levels: new Uint8Array(0), unserializable: 0, counters, split, native: nat, records: t.records, ...(transformCounts !== undefined ? { transformDropped, transformCounts } : {}), ...(tally !== undefined ? { tally } : {}) };
    }
    recs = t.recs;
    originIdx = t.originIdx;
  } else if (native === undefined || native === null) {
    const { lines, forced, from } = linesOf(job, split);
    let chars = 0;
    for (const l of lines) chars += l.length;
    recs = new Records(job, mid, lines.length, chars);
    for (let i = 0; i < lines.length; i++) recs.add(lines[i]!, forced[i], mids?.[job.originIdx![from[i]!]!]);
  } else {
    let n = 0;
    let bytes = 0;
    for (const it of job.items) {
      n += typeof it === 'string' ? 1 : native.count(it);
      bytes += it.length;
    }
    recs = gated !== undefined ? Records.reuse(gatedScratch, job, mid, n, bytes) : new Records(job, mid, n, bytes);
    const midBytes = Buffer.from(mid, 'utf8');
    st.fill(0);
    st[ST.NOW] = job.now;
    st[ST.FORMAT] = FORMAT_CODE[job.format] ?? 0;
    st[ST.MAXLINE] = job.maxLineBytes;
    st[ST.UTC] = UTC ? 1 : 0;
    st[ST.SEQDIGITS] = job.seqDigits;
    for (let k = 0; k < job.items.length; k++) {
      const it = job.items[k]!;
      if (typeof it === 'string') recs.add(it, job.times?.[k], mids?.[job.originIdx![k]!]);
      else nat.bailed += addRegionNative(native, recs, it, job, midBytes, split);
    }
    nat.lines = st[ST.LINES]!;
    split.lines += nat.lines;
    for (const [k, slot] of NATIVE_COUNTERS) parseCounters[k] += st[slot]!;
    if (gated !== undefined) {
      transformCounts = new Array<number>(2 * gated.steps.length).fill(0);
      const first = recs;
      const g = gateRecords(job, first, gated.steps, gated.gates, mid, transformCounts, gated.patches);
      recs = g.recs;
      // the first pass's records are sent as they are when no gate changed one: not reused then
      gatedScratch = recs === first ? undefined : first;
      transformDropped = g.dropped;
      const lines = job.originIdx;
      if (lines !== undefined && g.dropped > 0 && g.kept !== undefined) originIdx = Uint8Array.from(g.kept, (i) => lines[i]!);
    }
  }
  const counters: Record<string, number> = {};
  for (const k of Object.keys(before)) counters[k] = parseCounters[k as keyof typeof parseCounters] - before[k]!;
  const out = recs.out;
  const n = recs.i;
  // The buffer is transferred whole and records may keep it alive (a rule engine's queue): trim it
  // when the guess was far off.
  let buf = out.buf;
  if (out.off < buf.length * 0.6) {
    const exact = Buffer.allocUnsafeSlow(out.off);
    buf.copy(exact, 0, 0, out.off);
    buf = exact;
  }
  const fit = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, len: number): T => (a.length === len ? a : (a.slice(0, len) as T));
  return {
    id: job.id,
    buf: new Uint8Array(buf.buffer, 0, out.off),
    ends: fit(recs.ends, n),
    msg: fit(recs.msg, 2 * n),
    times: fit(recs.times, n),
    levels: fit(recs.levels, n),
    unserializable: recs.unserializable,
    counters,
    split,
    native: nat,
    ...(transformCounts !== undefined ? { transformDropped, transformCounts } : {}),
    ...(tally !== undefined ? { tally } : {}),
    ...(originIdx !== undefined ? { originIdx } : {}),
  };
}

// Only in a thread the pool started: imported in any other worker thread (a test runner's), this
// module must not answer that thread's messages.
if (parentPort && (workerData as Record<string, unknown> | null)?.[PARSE_WORKER_MARK] === true) {
  const port = parentPort;
  port.on('message', (job: ParseJob) => {
    const res = runJob(job);
    port.postMessage(res, [res.buf.buffer, res.ends.buffer, res.msg.buffer, res.times.buffer, res.levels.buffer] as ArrayBuffer[]);
  });
}
