/**
 * One container's log stream: follow with timestamps from the checkpoint,
 * demultiplex (non-TTY) or split raw messages (TTY), strip and validate each
 * message's timestamp, merge the engine's 16 KiB partial-line pieces back
 * into one line per std stream, parse each line into a record, push one
 * batch per socket read and commit the checkpoint once `push` returned.
 *
 * Reassembly choice: every engine message (including each 16 KiB piece of a
 * long line) carries its own timestamp prefix, so payload bytes cannot go to
 * a line splitter as-is. The demuxer hands over whole frames; we strip the
 * prefix and feed the rest to a per-std `LineSplitter`, which joins pieces
 * that lack a '\n' and applies the line cap. A line's time is the timestamp
 * of the message it started in (the engine stamps every piece of a line with
 * the first piece's time).
 *
 * The stream ends when the container stops (then an unterminated last line
 * is emitted and the tail finishes) or when the connection breaks (engine
 * restart): then partial state is dropped and the stream is reopened with
 * `since` = checkpoint, skipping the lines already accepted, on a backoff of
 * 1 s doubling to 30 s.
 */
import type { IncomingMessage, ClientRequest } from 'node:http';
import type { Pipeline } from '../../core/pipeline.js';
import type { LogRecord, Origin } from '../../core/record.js';
import { LineSplitter, type LineInfo } from '../../framing/lines.js';
import { DockerDemuxer, RawMessageSplitter, sinceParam, splitTimestamp, type StdNo, type Timestamp } from '../../framing/docker-mux.js';
import { parseLine } from '../../parse/detect.js';
import type { DockerClient } from './client.js';
import type { ContainerCheckpoint } from './checkpoint.js';
import type { DockerSourceConfig } from './config.js';

/** What the source knows of a container (from inspect). */
export interface ContainerMeta {
  id: string;
  name: string;
  image: string;
  tty: boolean;
  labels: Record<string, string>;
}

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
  [k: string]: number;
}

export function newCounters(): DockerCounters {
  return {
    lines: 0, bytes: 0, records: 0, frames: 0, oversize_frames: 0, truncated_lines: 0, bad_frames: 0, truncated_frames: 0,
    skipped_bytes: 0, bad_timestamps: 0, resume_skipped: 0, reconnects: 0, event_reconnects: 0, containers_started: 0,
    containers_stopped: 0, checkpoint_errors: 0,
  };
}

export interface TailerDeps {
  client: DockerClient;
  cfg: DockerSourceConfig;
  pipeline: Pipeline;
  counters: DockerCounters;
  /** Position to resume from (undefined: from the first line the engine kept, or from `sinceStart`). */
  checkpoint: ContainerCheckpoint | undefined;
  /** Engine `since` value used only when there is no checkpoint (the source's `from = "end"`). */
  sinceStart?: string;
  /** Persist the position after an accepted batch (synchronous). */
  commit(id: string, cp: ContainerCheckpoint): void;
  /** Build the origin of records (the source decides which labels go in). */
  origin(meta: ContainerMeta, std: 'stdout' | 'stderr'): Origin;
}

export type TailState = 'connecting' | 'following' | 'waiting' | 'backoff' | 'stopped';

const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30_000;

/** Per std stream: a splitter plus the time of the line being assembled. */
class StdLines {
  readonly splitter: LineSplitter;
  /** Timestamp of the message the pending line started in. */
  lineTs: Timestamp | undefined;
  /** Timestamp of the message being fed (lines that start inside it get it). */
  curTs: Timestamp | undefined;
  offset = 0;
  constructor(maxLineBytes: number, onLine: (s: StdLines, line: string, info: LineInfo) => void) {
    this.splitter = new LineSplitter({ maxLineBytes, onLine: (line, _end, info) => onLine(this, line, info) });
  }
  message(ts: Timestamp | undefined, content: Buffer): void {
    this.curTs = ts;
    if (this.splitter.pendingBytes === 0) this.lineTs = ts;
    this.splitter.push(content, this.offset);
    this.offset += content.length;
  }
}

export class ContainerTailer {
  readonly meta: ContainerMeta;
  readonly #d: TailerDeps;
  #state: TailState = 'connecting';
  #stopped = false;
  #req: ClientRequest | undefined;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;
  /** The container was (re)started while we were tailing: reconnect rather than finish when the stream ends. */
  #restarted = false;
  readonly startedAt = Date.now();
  lines = 0;

  // Committed position (what the checkpoint file says).
  #ckKey: string | undefined;
  #ckN = 0;
  // Position including the batch being built.
  #key: string | undefined;
  #n = 0;
  // Skipping the lines already accepted, after a (re)connect.
  #skipKey: string | undefined;
  #skipLeft = 0;

  #batch: LogRecord[] = [];
  #received = 0;
  #origins: { stdout: Origin; stderr: Origin };
  #out: StdLines;
  #err: StdLines;

  constructor(meta: ContainerMeta, deps: TailerDeps) {
    this.meta = meta;
    this.#d = deps;
    this.#ckKey = this.#key = deps.checkpoint?.key;
    this.#ckN = this.#n = deps.checkpoint?.n ?? 0;
    this.#origins = { stdout: deps.origin(meta, 'stdout'), stderr: deps.origin(meta, 'stderr') };
    const max = deps.cfg.max_line_bytes;
    const onLine = (s: StdLines, line: string, info: LineInfo) => this.#line(s === this.#err ? 'stderr' : 'stdout', s, line, info);
    this.#out = new StdLines(max, onLine);
    this.#err = new StdLines(max, onLine);
  }

  get state(): TailState {
    return this.#state;
  }

  /** Text of the newest accepted engine timestamp. */
  get checkpointKey(): string | undefined {
    return this.#ckKey;
  }

  rename(name: string): void {
    this.meta.name = name;
    this.#origins = { stdout: this.#d.origin(this.meta, 'stdout'), stderr: this.#d.origin(this.meta, 'stderr') };
  }

  /** The engine reported a start for this container: when the current stream ends, follow the new run. */
  restarted(): void {
    this.#restarted = true;
  }

  /** Cut a backoff short (the engine is reachable again). */
  poke(): void {
    this.#wake?.();
  }

  /** Run until the container stops or `stop()`; never rejects. */
  run(): Promise<void> {
    this.#done ??= this.#loop();
    return this.#done;
  }

  /** Stop reading (records already pushed were accepted; partial lines are re-read next time). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#req?.destroy();
    this.#wake?.();
    await this.#done;
  }

  async #loop(): Promise<void> {
    const { client, counters } = this.#d;
    let backoff = BACKOFF_MIN;
    let first = true;
    // Bounded by stop(): every iteration either finishes or sleeps a backoff.
    while (!this.#stopped) {
      if (!first) counters.reconnects++;
      first = false;
      this.#restarted = false;
      let clean = false;
      let gotData = false;
      try {
        this.#state = 'connecting';
        const since = this.#ckKey !== undefined ? sinceParam(this.#ckKey) : this.#d.sinceStart;
        this.#skipKey = this.#ckKey;
        this.#skipLeft = this.#ckN;
        const std = this.#d.cfg.std;
        const s = await client.logs(this.meta.id, { follow: true, stdout: std !== 'stderr', stderr: std !== 'stdout', since });
        if (this.#stopped) {
          s.req.destroy();
          break;
        }
        this.#state = 'following';
        const r = await this.#consume(s.req, s.res);
        clean = r.clean;
        gotData = r.gotData;
      } catch {
        // Connect error (engine down, 404 once removed): decided below by inspect.
      }
      if (this.#stopped) break;
      let running: boolean | undefined;
      try {
        const info = await client.inspect(this.meta.id);
        running = info ? info.State.Running : false;
      } catch {
        running = undefined; // engine unreachable: keep trying
      }
      if (running === false && !this.#restarted) {
        // The container stopped: the stream carried everything; emit an unterminated last line.
        if (clean) this.#finish();
        break;
      }
      this.#reset();
      if (gotData) backoff = BACKOFF_MIN;
      if (running === true && clean) {
        // Stream ended while the container runs (restart between stop and start): reconnect at once.
        continue;
      }
      this.#state = 'backoff';
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX);
    }
    this.#reset();
    this.#state = 'stopped';
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    }).then(() => {
      this.#wake = undefined;
    });
  }

  /** Read one connection to its end. `clean`: ended on a frame boundary without a socket error. */
  #consume(req: ClientRequest, res: IncomingMessage): Promise<{ clean: boolean; gotData: boolean }> {
    this.#req = req;
    const c = this.#d.counters;
    let gotData = false;
    let feed: (chunk: Buffer) => void;
    let end: () => boolean;
    if (this.meta.tty) {
      const raw = new RawMessageSplitter({ onMessage: (ts, content) => this.#out.message(ts, content) });
      let prev = { ...raw.counters };
      feed = (chunk) => {
        raw.push(chunk);
        const k = raw.counters;
        c.frames += k.messages - prev.messages;
        c.bytes += k.bytes - prev.bytes;
        c.bad_timestamps += k.bad_timestamps - prev.bad_timestamps;
        prev = { ...k };
      };
      end = () => {
        raw.end();
        return true;
      };
    } else {
      const demux = new DockerDemuxer({
        maxFrameBytes: this.#d.cfg.max_frame_bytes,
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
        const p = this.#d.pipeline;
        c.frames += k.frames - prev.frames;
        c.bytes += k.bytes - prev.bytes;
        if (k.oversize_frames !== prev.oversize_frames) {
          c.oversize_frames += k.oversize_frames - prev.oversize_frames;
          p.drop('docker', 'oversize_frame', k.oversize_frames - prev.oversize_frames);
        }
        if (k.bad_frames !== prev.bad_frames) {
          c.bad_frames += k.bad_frames - prev.bad_frames;
          p.drop('docker', 'bad_frame', k.bad_frames - prev.bad_frames);
        }
        if (k.truncated_frames !== prev.truncated_frames) {
          c.truncated_frames += k.truncated_frames - prev.truncated_frames;
          p.drop('docker', 'truncated_frame', k.truncated_frames - prev.truncated_frames);
        }
        c.skipped_bytes += k.skipped_bytes - prev.skipped_bytes;
        prev = { ...k };
      };
      feed = (chunk) => {
        demux.push(chunk);
        delta();
      };
      end = () => {
        const ok = demux.end();
        delta();
        return ok;
      };
    }

    return new Promise((resolve) => {
      let settled = false;
      let scheduled = false;
      const finish = (clean: boolean) => {
        if (settled) return;
        settled = true;
        this.#req = undefined;
        res.removeAllListeners('data');
        // Complete lines already read are pushed (and checkpointed) before the tail moves on.
        this.#flush();
        resolve({ clean, gotData });
      };
      // The engine flushes every frame as its own HTTP chunk and node:http emits one
      // 'data' per chunk, so a batch per 'data' meant one push and one checkpoint
      // write per line (~2.5k lines/s). Every 'data' of one socket read is emitted
      // synchronously by the HTTP parser: a microtask flushes them as one batch.
      const flushRead = () => {
        scheduled = false;
        if (settled) return;
        if (!this.#flush()) {
          // Back-pressure: stop reading this container's socket until the pipeline drains.
          res.pause();
          this.#state = 'waiting';
          this.#d.pipeline.onDrain(() => {
            if (settled) return;
            this.#state = 'following';
            res.resume();
          });
        }
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        gotData = true;
        this.#received = Date.now();
        feed(chunk);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flushRead);
        }
      });
      res.once('end', () => finish(end()));
      res.once('error', () => finish(false));
      res.once('aborted', () => finish(false));
      res.once('close', () => finish(false));
      req.once('error', () => finish(false));
    });
  }

  /** A complete line from one std stream. */
  #line(std: 'stdout' | 'stderr', s: StdLines, line: string, info: LineInfo): void {
    const ts = s.lineTs;
    s.lineTs = s.curTs;
    if (ts) {
      const k = ts.key;
      // Skip what an earlier connection already delivered (since= is inclusive).
      if (this.#skipKey !== undefined) {
        if (k < this.#skipKey) {
          this.#d.counters.resume_skipped++;
          return;
        }
        if (k === this.#skipKey && this.#skipLeft > 0) {
          this.#skipLeft--;
          this.#d.counters.resume_skipped++;
          return;
        }
      }
      if (this.#key === undefined || k > this.#key) {
        this.#key = k;
        this.#n = 1;
      } else if (k === this.#key) this.#n++;
    }
    const c = this.#d.counters;
    c.lines++;
    this.lines++;
    if (info.truncated) {
      c.truncated_lines++;
      this.#d.pipeline.drop('docker', 'line_truncated');
    }
    const received = this.#received || Date.now();
    const p = parseLine(line, this.#d.cfg.format, received);
    const rec: LogRecord = {
      seq: 0,
      time: ts ? ts.ms : (p.time ?? received),
      received,
      source: this.#d.cfg.name,
      stream: this.#d.cfg.stream ?? this.#d.cfg.name,
      origin: this.#origins[std],
      message: p.message,
      fields: p.fields,
    };
    if (p.level !== undefined) rec.level = p.level;
    if (p.host !== undefined) rec.host = p.host;
    if (p.app !== undefined) rec.app = p.app;
    this.#batch.push(rec);
  }

  /** Push the batch built from one read; commit the checkpoint once accepted. Returns push()'s answer. */
  #flush(): boolean {
    let more = true;
    const batch = this.#batch;
    if (batch.length > 0) {
      this.#batch = [];
      this.#d.counters.records += batch.length;
      more = this.#d.pipeline.push(batch);
    }
    if (this.#key !== this.#ckKey || this.#n !== this.#ckN) {
      this.#ckKey = this.#key;
      this.#ckN = this.#n;
      try {
        this.#d.commit(this.meta.id, { key: this.#key!, n: this.#n, name: this.meta.name });
      } catch {
        this.#d.counters.checkpoint_errors++;
      }
    }
    return more;
  }

  /** The container stopped and the stream ended cleanly: emit unterminated last lines. */
  #finish(): void {
    this.#received = Date.now();
    this.#out.splitter.flushPartial();
    this.#err.splitter.flushPartial();
    this.#flush();
  }

  /** Drop partial state: the next connection re-reads from the checkpoint. */
  #reset(): void {
    this.#batch = [];
    this.#key = this.#ckKey;
    this.#n = this.#ckN;
    for (const s of [this.#out, this.#err]) {
      s.splitter.reset();
      s.offset = 0;
      s.lineTs = s.curTs = undefined;
    }
  }

  status(): { id: string; name: string; state: TailState; lines: number; since: string; last_time?: string } {
    const o: { id: string; name: string; state: TailState; lines: number; since: string; last_time?: string } = {
      id: this.meta.id,
      name: this.meta.name,
      state: this.#state,
      lines: this.lines,
      since: new Date(this.startedAt).toISOString(),
    };
    if (this.#ckKey) o.last_time = `${this.#ckKey.slice(0, 19)}.${this.#ckKey.slice(19)}Z`;
    return o;
  }
}
