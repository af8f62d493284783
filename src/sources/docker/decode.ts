/**
 * One log connection's bytes to lines, shared by the live tail (tailer.ts)
 * and the crash replay (replay.ts) so both cut and stamp lines identically:
 * demultiplex (non-TTY) or split raw messages (TTY), strip and validate each
 * message's timestamp, merge the engine's 16 KiB partial-line pieces back
 * into one line per std stream, and report each complete line with the
 * timestamp of the message it started in. Also the resume skip and the
 * lines' raw batch for the parse stage.
 *
 * Reassembly choice: every engine message (including each 16 KiB piece of a
 * long line) carries its own timestamp prefix, so payload bytes cannot go to
 * a line splitter as-is. The demuxer hands over whole frames; we strip the
 * prefix and feed the rest to a per-std `LineSplitter`, which joins pieces
 * that lack a '\n' and applies the line cap. A line's time is the timestamp
 * of the message it started in (the engine stamps every piece of a line with
 * the first piece's time).
 */
import type { Origin } from '../../core/record.js';
import type { LaneSpec, RawBatch } from '../../parse/batch.js';
import { LineSplitter, type LineInfo } from '../../framing/lines.js';
import { DockerDemuxer, RawMessageSplitter, sinceParam, splitTimestamp, type StdNo, type Timestamp } from '../../framing/docker-mux.js';
import type { Position, StdPosition } from './checkpoint.js';
import type { DockerSourceConfig } from './config.js';

/** Counters shared by every tail of a source (status() and /metrics). */
export interface DockerCounters {
  lines: number;
  bytes: number;
  records: number;
  frames: number;
  oversize_frames: number;
  truncated_lines: number;
  bad_frames: number;
  truncated_frames: number;
  skipped_bytes: number;
  bad_timestamps: number;
  resume_skipped: number;
  reconnects: number;
  event_reconnects: number;
  containers_started: number;
  containers_stopped: number;
  checkpoint_errors: number;
  replayed: number;
  replay_skipped: number;
  replay_mismatch: number;
  /** Batches no parse thread could take, parsed on the main thread; records the pipeline refused with an exception. */
  parsed_inline: number;
  push_errors: number;
  [k: string]: number;
}

export function newCounters(): DockerCounters {
  return {
    lines: 0, bytes: 0, records: 0, frames: 0, oversize_frames: 0, truncated_lines: 0, bad_frames: 0, truncated_frames: 0,
    skipped_bytes: 0, bad_timestamps: 0, resume_skipped: 0, reconnects: 0, event_reconnects: 0, containers_started: 0,
    containers_stopped: 0, checkpoint_errors: 0, replayed: 0, replay_skipped: 0, replay_mismatch: 0, parsed_inline: 0, push_errors: 0,
  };
}

export type Std = 'stdout' | 'stderr';

/** A complete line: its std stream, text, the timestamp of the message it started in, and whether it was cut at the cap. */
export type LineHandler = (std: Std, line: string, ts: Timestamp | undefined, truncated: boolean) => void;

/** Per std stream: a splitter plus the time of the line being assembled. */
class StdLines {
  readonly splitter: LineSplitter;
  /** Timestamp of the message the pending line started in. */
  lineTs: Timestamp | undefined;
  /** Timestamp of the message being fed (lines that start inside it get it). */
  curTs: Timestamp | undefined;
  offset = 0;
  constructor(std: Std, maxLineBytes: number, onLine: LineHandler) {
    this.splitter = new LineSplitter({
      maxLineBytes,
      onLine: (line: string, _end: number, info: LineInfo) => {
        const ts = this.lineTs;
        this.lineTs = this.curTs;
        onLine(std, line, ts, info.truncated);
      },
    });
  }
  message(ts: Timestamp | undefined, content: Buffer): void {
    this.curTs = ts;
    if (this.splitter.pendingBytes === 0) this.lineTs = ts;
    this.splitter.push(content, this.offset);
    this.offset += content.length;
  }
}

export interface DecoderOptions {
  tty: boolean;
  cfg: Pick<DockerSourceConfig, 'max_line_bytes' | 'max_frame_bytes'>;
  /** Counters to add framing anomalies and volume to (a scratch set for replays). */
  counters: DockerCounters;
  /** Count a drop (`sluice_dropped_total{stage="docker"}`). */
  drop(reason: string, n: number): void;
  onLine: LineHandler;
}

/** Decoder for one connection: `push` each chunk, `end` when it closes. */
export class LogDecoder {
  readonly #out: StdLines;
  readonly #err: StdLines;
  readonly push: (chunk: Buffer) => void;
  /** The connection ended; false when it ended inside a frame. */
  readonly end: () => boolean;

  constructor(o: DecoderOptions) {
    const c = o.counters;
    this.#out = new StdLines('stdout', o.cfg.max_line_bytes, o.onLine);
    this.#err = new StdLines('stderr', o.cfg.max_line_bytes, o.onLine);
    if (o.tty) {
      const raw = new RawMessageSplitter({ onMessage: (ts, content) => this.#out.message(ts, content) });
      let prev = { ...raw.counters };
      this.push = (chunk) => {
        raw.push(chunk);
        const k = raw.counters;
        c.frames += k.messages - prev.messages;
        c.bytes += k.bytes - prev.bytes;
        c.bad_timestamps += k.bad_timestamps - prev.bad_timestamps;
        prev = { ...k };
      };
      this.end = () => {
        raw.end();
        return true;
      };
      return;
    }
    const demux = new DockerDemuxer({
      maxFrameBytes: o.cfg.max_frame_bytes,
      timestamps: true,
      onFrame: (std: StdNo, payload: Buffer) => {
        const { ts, start } = splitTimestamp(payload);
        if (!ts) c.bad_timestamps++;
        (std === 2 ? this.#err : this.#out).message(ts, start === 0 ? payload : payload.subarray(start));
      },
    });
    let prev = { ...demux.counters };
    const delta = () => {
      const k = demux.counters;
      c.frames += k.frames - prev.frames;
      c.bytes += k.bytes - prev.bytes;
      if (k.oversize_frames !== prev.oversize_frames) {
        c.oversize_frames += k.oversize_frames - prev.oversize_frames;
        o.drop('oversize_frame', k.oversize_frames - prev.oversize_frames);
      }
      if (k.bad_frames !== prev.bad_frames) {
        c.bad_frames += k.bad_frames - prev.bad_frames;
        o.drop('bad_frame', k.bad_frames - prev.bad_frames);
      }
      if (k.truncated_frames !== prev.truncated_frames) {
        c.truncated_frames += k.truncated_frames - prev.truncated_frames;
        o.drop('truncated_frame', k.truncated_frames - prev.truncated_frames);
      }
      c.skipped_bytes += k.skipped_bytes - prev.skipped_bytes;
      prev = { ...k };
    };
    this.push = (chunk) => {
      demux.push(chunk);
      delta();
    };
    this.end = () => {
      const ok = demux.end();
      delta();
      return ok;
    };
  }

  /** Start key of the oldest line being reassembled (held without its '\n' yet), if any. */
  pendingStart(): string | undefined {
    let k: string | undefined;
    for (const s of [this.#out, this.#err]) {
      const t = s.splitter.pendingBytes > 0 ? s.lineTs?.key : undefined;
      if (t !== undefined && (k === undefined || t < k)) k = t;
    }
    return k;
  }

  /** The stream is over for good (the container stopped): emit unterminated last lines. */
  flushPartial(): void {
    this.#out.splitter.flushPartial();
    this.#err.splitter.flushPartial();
  }
}

/** The engine `since` to resume from `pos`: where a line still being reassembled started, else the newest accepted line. */
export function resumeSince(pos: Position): string {
  return sinceParam(pos.pending !== undefined && pos.pending < pos.key ? pos.pending : pos.key);
}

/**
 * Skip what an earlier connection already delivered (`since` is inclusive).
 * With per-std positions: on each std stream, lines stamped before that
 * stream's newest accepted key and the first `n` stamped exactly it (a
 * resume from `pending` re-sends the other stream's newer lines). Without
 * them (older checkpoints): lines stamped before `key` and the first `n`
 * stamped `key`, whatever their stream.
 */
export class ResumeSkip {
  readonly #all: { key: string; left: number } | undefined;
  readonly #std: Record<Std, { key: string; left: number } | undefined> | undefined;
  constructor(pos: Position | undefined) {
    if (!pos) return;
    if (pos.stdout || pos.stderr) {
      const f = (p: StdPosition | undefined) => (p ? { key: p.key, left: p.n } : undefined);
      this.#std = { stdout: f(pos.stdout), stderr: f(pos.stderr) };
    } else this.#all = { key: pos.key, left: pos.n };
  }
  /** True when the line stamped `k` on `std` was delivered before. */
  skip(std: Std, k: string): boolean {
    const p = this.#std ? this.#std[std] : this.#all;
    if (p === undefined) return false;
    if (k < p.key) return true;
    if (k === p.key && p.left > 0) {
      p.left--;
      return true;
    }
    return false;
  }
}

/** Advance `pos` (or start one) with an accepted line stamped `k` on `std`. */
export function advance(pos: Position | undefined, std: Std, k: string): Position {
  if (!pos) return { key: k, n: 1, [std]: { key: k, n: 1 } };
  if (k > pos.key) {
    pos.key = k;
    pos.n = 1;
  } else if (k === pos.key) pos.n++;
  const s = pos[std];
  if (!s) pos[std] = { key: k, n: 1 };
  else if (k > s.key) {
    s.key = k;
    s.n = 1;
  } else if (k === s.key) s.n++;
  return pos;
}

/** A deep copy (positions are small; one per batch). */
export function clonePosition(p: Position): Position {
  const c: Position = { key: p.key, n: p.n };
  if (p.stdout) c.stdout = { ...p.stdout };
  if (p.stderr) c.stderr = { ...p.stderr };
  if (p.pending !== undefined) c.pending = p.pending;
  return c;
}

export function samePosition(a: Position | undefined, b: Position | undefined): boolean {
  if (!a || !b) return a === b;
  const eq = (x?: StdPosition, y?: StdPosition) => (!x || !y ? x === y : x.key === y.key && x.n === y.n);
  return a.key === b.key && a.n === b.n && a.pending === b.pending && eq(a.stdout, b.stdout) && eq(a.stderr, b.stderr);
}

/** The parse stage's view of a Docker source (src/parse/stage.ts): its lines are strings, one record each. */
export function laneSpec(cfg: DockerSourceConfig, counters: DockerCounters): LaneSpec {
  return { source: cfg.name, stream: cfg.stream ?? cfg.name, format: cfg.format, maxLineBytes: cfg.max_line_bytes, dropStage: 'docker', counters };
}

/**
 * One read's lines as a raw batch for the parse stage: each line's std
 * stream picks its origin, and the engine's timestamp is the record's time
 * (it wins over a time in the line; a line without one gets the line's
 * time, else when it was read).
 */
export class DockerLines {
  items: string[] = [];
  #times: (number | undefined)[] = [];
  #std: number[] = [];
  #size = 0;

  get length(): number {
    return this.items.length;
  }

  /** The lines' text so far (UTF-16 units). */
  get size(): number {
    return this.#size;
  }

  push(std: Std, line: string, ts: Timestamp | undefined): void {
    this.items.push(line);
    this.#times.push(ts?.ms);
    this.#std.push(std === 'stderr' ? 1 : 0);
    this.#size += line.length;
  }

  /** Take the lines as one raw batch (origins: [stdout's, stderr's]). */
  take(origins: { stdout: Origin; stderr: Origin }, received: number): RawBatch {
    const raw: RawBatch = {
      items: this.items,
      size: this.#size,
      now: received,
      origin: origins.stdout,
      origins: [origins.stdout, origins.stderr],
      originIdx: Uint8Array.from(this.#std),
      times: this.#times,
    };
    this.items = [];
    this.#times = [];
    this.#std = [];
    this.#size = 0;
    return raw;
  }
}
