/**
 * One container's log stream: follow with timestamps from the checkpoint,
 * decode each connection into lines (decode.ts: demux or raw TTY messages,
 * timestamps, 16 KiB pieces merged per std stream), parse each line into a
 * record, push one batch per socket read and commit the checkpoint (the
 * position and the batch itself, for the crash replay) once `push` returned.
 *
 * The stream ends when the container stops (then an unterminated last line
 * is emitted and the tail finishes) or when the connection breaks (engine
 * restart): then partial state is dropped and the stream is reopened with
 * `since` = checkpoint, skipping the lines already accepted, on a backoff of
 * 1 s doubling to 30 s.
 */
import { WakeableSleep } from './sleep.js';
import type { Pipeline } from '../../core/pipeline.js';
import type { Origin } from '../../core/record.js';
import type { Timestamp } from '../../framing/docker-mux.js';
import type { DockerClient } from './client.js';
import type { EngineStream } from './engine-stream.js';
import type { ContainerCheckpoint, DockerCheckpointLast, Position } from './checkpoint.js';
import type { DockerSourceConfig } from './config.js';
import { advance, clonePosition, DockerLines, LogDecoder, ResumeSkip, resumeSince, samePosition, type DockerCounters, type Std } from './decode.js';
import { LANE_MAX_PENDING, THREAD_MIN_SIZE, type Lane } from '../../parse/stage.js';

export { newCounters, type DockerCounters } from './decode.js';

/** What the source knows of a container (from inspect). */
export interface ContainerMeta {
  id: string;
  name: string;
  image: string;
  tty: boolean;
  labels: Record<string, string>;
}

export interface TailerDeps {
  client: DockerClient;
  cfg: DockerSourceConfig;
  pipeline: Pipeline;
  /** This container's lane at the parse stage: its batches are parsed there and commit in order. */
  lane: Lane;
  counters: DockerCounters;
  /** Position to resume from (undefined: from the first line the engine kept, or from `sinceStart`). */
  checkpoint: ContainerCheckpoint | undefined;
  /** Engine `since` value used only when there is no checkpoint (the source's `from = "end"`). */
  sinceStart?: string;
  /**
   * Persist after an accepted batch (synchronous, when the stage pushed it): the container's position
   * (undefined while no line carried a timestamp) and the batch pushed
   * (null when it cannot be re-read exactly, see `#flush`; undefined: none).
   */
  commit(id: string, cp: ContainerCheckpoint | undefined, last: DockerCheckpointLast | null | undefined): void;
  /** Build the origin of records (the source decides which labels go in). */
  origin(meta: ContainerMeta, std: Std): Origin;
}

export type TailState = 'connecting' | 'following' | 'waiting' | 'backoff' | 'stopped';

const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30_000;
/** A read of this much text or more is a backlog's (more is queued behind it): its lines wait for the next reads, */
const FULL_READ = 16 * 1024;
/** up to this much text (a batch the parse threads take), */
const GATHER_SIZE = 4 * THREAD_MIN_SIZE;
/** or for at most this long (ms). */
const GATHER_MS = 5;

export class ContainerTailer {
  readonly meta: ContainerMeta;
  readonly #d: TailerDeps;
  #state: TailState = 'connecting';
  #stopped = false;
  #stream: EngineStream | undefined;
  readonly #sleeper = new WakeableSleep();
  #done: Promise<void> | undefined;
  /** The container was (re)started while we were tailing: reconnect rather than finish when the stream ends. */
  #restarted = false;
  readonly startedAt = Date.now();
  lines = 0;

  /** Committed position (what the checkpoint file says); undefined before the first timestamped line. */
  #ck: Position | undefined;
  /** Position including the batch being built. */
  #cur: Position | undefined;
  /** Skipping the lines already accepted, after a (re)connect. */
  #skip = new ResumeSkip(undefined);
  /** `since` of the current connection when it started without a position. */
  #since: string | undefined;
  /** The batch being built holds a line without a timestamp: it cannot be re-read by position. */
  #untimed = false;

  #batch = new DockerLines();
  /** The position after the last batch handed to the stage (the next batch's `from`). */
  #sent: Position | undefined;
  /** Flushes so far, and the newest whose position is committed: an older one never overwrites it. */
  #gen = 0;
  #ckGen = 0;
  /** False once a push asked to wait: reading pauses until the pipeline drains. */
  #more = true;
  #received = 0;
  #origins: { stdout: Origin; stderr: Origin };
  #decoder: LogDecoder | undefined;

  constructor(meta: ContainerMeta, deps: TailerDeps) {
    this.meta = meta;
    this.#d = deps;
    if (deps.checkpoint) {
      const { name: _name, ...pos } = deps.checkpoint;
      this.#ck = pos;
      this.#cur = clonePosition(pos);
      this.#sent = clonePosition(pos);
    }
    this.#origins = { stdout: deps.origin(meta, 'stdout'), stderr: deps.origin(meta, 'stderr') };
  }

  get state(): TailState {
    return this.#state;
  }

  /** Text of the newest accepted engine timestamp. */
  get checkpointKey(): string | undefined {
    return this.#ck?.key;
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
    this.#sleeper.wake();
  }

  /** Run until the container stops or `stop()`; never rejects. */
  run(): Promise<void> {
    this.#done ??= this.#loop();
    return this.#done;
  }

  /** Stop reading (records already pushed were accepted; partial lines are re-read next time). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#d.lane.close();
    this.#stream?.destroy();
    this.#sleeper.wake();
    await this.#done;
    await this.#d.lane.settled();
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
        const since = this.#sent ? resumeSince(this.#sent) : this.#d.sinceStart;
        this.#since = since;
        this.#skip = new ResumeSkip(this.#sent);
        const std = this.#d.cfg.std;
        const s = await client.logs(this.meta.id, { follow: true, stdout: std !== 'stderr', stderr: std !== 'stdout', since });
        if (this.#stopped) {
          s.destroy();
          break;
        }
        this.#state = 'following';
        const r = await this.#consume(s);
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
      await this.#sleeper.sleep(backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX);
    }
    this.#reset();
    this.#state = 'stopped';
  }


  /** Read one connection to its end. `clean`: ended on a frame boundary without a socket error. */
  #consume(stream: EngineStream): Promise<{ clean: boolean; gotData: boolean }> {
    this.#stream = stream;
    let gotData = false;
    const decoder = new LogDecoder({
      tty: this.meta.tty,
      cfg: this.#d.cfg,
      counters: this.#d.counters,
      drop: (reason, n) => this.#d.pipeline.drop('docker', reason, n),
      onLine: (std, line, ts, truncated) => this.#line(std, line, ts, truncated),
    });
    this.#decoder = decoder;

    return new Promise((resolve) => {
      let settled = false;
      let scheduled = false;
      // The engine flushes every frame as its own HTTP chunk; engine-stream.ts hands over
      // a socket read's payload at once (node:http emitted a 'data' per chunk, and a batch
      // per 'data' meant one push and one checkpoint write per line). The lines are looked
      // at in a microtask after the read: flushed then (a read of a few lines, a live
      // trickle, goes on at once, in the same turn), unless the read was a big one
      // (FULL_READ of text or more: the engine has more queued, a history or a chatty
      // container), when they wait for the reads behind it, up to GATHER_SIZE of text or
      // GATHER_MS. One socket read is at most 64 KiB, less than the parse stage hands its
      // threads (THREAD_MIN_SIZE): flushed read by read, every Docker line was parsed on
      // the main thread.
      let timer: NodeJS.Timeout | undefined;
      /** The batch's text at the last look: what came since is the last read's. */
      let looked = 0;
      const flushNow = () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        looked = 0;
        this.#flush();
      };
      const finish = (clean: boolean) => {
        if (settled) return;
        settled = true;
        this.#stream = undefined;
        // Complete lines already read are pushed (and checkpointed) before the tail moves on.
        flushNow();
        resolve({ clean, gotData });
      };
      const flushRead = () => {
        if (settled) return;
        flushNow();
        if (!this.#more || this.#d.lane.pending >= LANE_MAX_PENDING) {
          // Back-pressure: stop reading this container's socket until the stage and the pipeline have room.
          stream.pause();
          this.#state = 'waiting';
          void this.#room().then(() => {
            if (settled) return;
            this.#state = 'following';
            stream.resume();
          });
        }
      };
      const look = () => {
        scheduled = false;
        if (settled) return;
        const size = this.#batch.size;
        const read = size - looked;
        looked = size;
        if (read >= FULL_READ && size < GATHER_SIZE) {
          timer ??= setTimeout(flushRead, GATHER_MS);
          return;
        }
        flushRead();
      };
      stream.start({
        data: (buf, start, end) => {
          if (settled) return;
          gotData = true;
          this.#received = Date.now();
          decoder.push(buf.subarray(start, end));
          if (!scheduled) {
            scheduled = true;
            queueMicrotask(look);
          }
        },
        // a body cut short (reset, destroy, bad chunking) is not clean; its partial frame is dropped with the decoder
        end: (complete) => finish(complete ? decoder.end() : false),
      });
    });
  }

  /** A complete line from one std stream. */
  #line(std: Std, line: string, ts: Timestamp | undefined, truncated: boolean): void {
    if (ts) {
      if (this.#skip.skip(std, ts.key)) {
        this.#d.counters.resume_skipped++;
        return;
      }
      this.#cur = advance(this.#cur, std, ts.key);
    } else this.#untimed = true;
    const c = this.#d.counters;
    c.lines++;
    this.lines++;
    if (truncated) {
      c.truncated_lines++;
      this.#d.pipeline.drop('docker', 'line_truncated');
    }
    this.#batch.push(std, line, ts);
  }

  /** Resolves when this lane is below its bound and the pipeline takes batches again. */
  async #room(): Promise<void> {
    while (this.#d.lane.pending >= LANE_MAX_PENDING) await this.#d.lane.oldest();
    if (!this.#more) {
      await new Promise<void>((resolve) => this.#d.pipeline.onDrain(resolve));
      this.#more = true;
    }
  }

  /**
   * Hand the lines of one read to the stage; when it has pushed them,
   * commit the position (with the start of a line still being reassembled,
   * see checkpoint.ts) and the batch (where it started and its seqs) for the
   * crash replay. A position that moved without lines is committed once the
   * batches before it are.
   */
  #flush(): void {
    const cur = this.#cur;
    if (cur) {
      const p = this.#decoder?.pendingStart();
      if (p !== undefined && p < cur.key) cur.pending = p;
      else delete cur.pending;
    }
    const gen = ++this.#gen;
    const pos = cur ? clonePosition(cur) : undefined;
    const lane = this.#d.lane;
    if (this.#batch.length > 0) {
      const count = this.#batch.length;
      const from = this.#sent ? clonePosition(this.#sent) : null;
      // A line without a timestamp cannot be found again by position: no replay for that batch.
      const replayable = !this.#untimed && pos !== undefined;
      const since = !this.#sent ? this.#since : undefined;
      this.#untimed = false;
      this.#sent = pos;
      lane.submit(this.#batch.take(this.#origins, this.#received || Date.now()), (n, seqLast, more) => {
        if (!more) this.#more = false;
        let last: DockerCheckpointLast | null = null;
        if (replayable && n === count) {
          last = { id: this.meta.id, from, count, to: pos.key, seqFirst: seqLast - n + 1, seqLast };
          if (from === null && since !== undefined) last.since = since;
        }
        this.#commitPosition(gen, pos, last);
      });
      return;
    }
    if (samePosition(pos, this.#sent)) return;
    this.#sent = pos;
    if (lane.pending === 0) this.#commitPosition(gen, pos, undefined);
    else void lane.settled().then(() => this.#commitPosition(gen, pos, undefined));
  }

  #commitPosition(gen: number, pos: Position | undefined, last: DockerCheckpointLast | null | undefined): void {
    if (gen < this.#ckGen) return;
    this.#ckGen = gen;
    if (last === undefined && samePosition(pos, this.#ck)) return;
    this.#ck = pos ? clonePosition(pos) : undefined;
    try {
      this.#d.commit(this.meta.id, pos ? { ...clonePosition(pos), name: this.meta.name } : undefined, last);
    } catch {
      this.#d.counters.checkpoint_errors++;
    }
  }

  /** The container stopped and the stream ended cleanly: emit unterminated last lines. */
  #finish(): void {
    this.#received = Date.now();
    this.#decoder?.flushPartial();
    this.#flush();
  }

  /** Drop partial state: the next connection re-reads from the checkpoint. */
  #reset(): void {
    this.#batch = new DockerLines();
    this.#untimed = false;
    // resumes after what was handed to the stage (it is pushed whatever happens to the connection)
    this.#cur = this.#sent ? clonePosition(this.#sent) : undefined;
    this.#decoder = undefined;
  }

  status(): { id: string; name: string; state: TailState; lines: number; since: string; last_time?: string } {
    const o: { id: string; name: string; state: TailState; lines: number; since: string; last_time?: string } = {
      id: this.meta.id,
      name: this.meta.name,
      state: this.#state,
      lines: this.lines,
      since: new Date(this.startedAt).toISOString(),
    };
    const k = this.#ck?.key;
    if (k) o.last_time = `${k.slice(0, 19)}.${k.slice(19)}Z`;
    return o;
  }
}
