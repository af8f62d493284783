/**
 * The framed Unix socket source (`type = "socket"`): lifecycle, connections
 * and what each frame becomes. frames.ts cuts the byte stream into frames;
 * records are checked by sources/records/record.ts and committed through
 * the parse stage (sources/records/lane.ts).
 *
 * Per frame: tag 1 is one record, tag 2 an array of records, tag 3 the
 * producer's own status `{"dropped":{reason:n}}`, added to
 * `sluice_dropped_total{stage="producer",reason}`. Bad JSON skips the frame
 * and a bad record skips that record (counted, the connection stays); an
 * unknown tag or an oversize frame closes the connection (counted): nothing
 * after it can be framed.
 *
 * Where coder's boundary log proxy drops a batch when its buffer is full,
 * this source stops reading instead: while the pipeline pushes back every
 * connection is paused, the producer's writes block in the kernel, and
 * nothing is lost. At start a stale socket file is removed only when it is a
 * socket nobody answers on; a regular file, or a live socket, is refused.
 */
import net from 'node:net';
import { chmodSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import type { Pipeline, Source, SourceStatus } from '../../core/pipeline.js';
import { Health, problemOf } from '../../core/health.js';
import type { LogRecord, Origin } from '../../core/record.js';
import { defineError, SluiceError } from '../../core/errors.js';
import type { ParseStage, StageCounters } from '../../parse/stage.js';
import { RecordLane } from '../records/lane.js';
import { checkRecord, mayRewritePrototype, parseRecord, type RecordContext } from '../records/record.js';
import type { SocketSourceConfig } from './config.js';
import { FrameDecoder, TAGS } from './frames.js';

export const SOCKET_ERR = {
  PATH_TAKEN: defineError('SLUICE_ERR_SOCKET_PATH_TAKEN', 500, 'the socket path is taken'),
} as const;

/** Distinct producer drop reasons kept as labels; more are counted as "other" (a producer cannot grow the metric without bound). */
const MAX_PRODUCER_REASONS = 32;
const PRODUCER_REASON = /^[A-Za-z0-9_.-]{1,64}$/;

/** Bad input, by reason (each also counted as `sluice_dropped_total{stage="socket",reason}`). */
export const SOCKET_ERRORS = ['bad_json', 'no_message', 'bad_record', 'bad_status', 'oversize', 'unknown_tag', 'too_many_connections', 'truncated_frame', 'connection_error'] as const;
type ErrorReason = (typeof SOCKET_ERRORS)[number];

export interface SocketCounters extends StageCounters, Record<ErrorReason, number> {
  connections_opened: number;
  connections_closed: number;
  bytes: number;
  frames: number;
  status_frames: number;
  producer_dropped: number;
  /** Frames whose payload was not valid UTF-8 (decoded with U+FFFD in place of the bad bytes). */
  repaired_utf8: number;
  /** Times reads were paused because the pipeline pushed back. */
  paused: number;
  stale_removed: number;
}

function newCounters(): SocketCounters {
  const c = { connections_opened: 0, connections_closed: 0, bytes: 0, frames: 0, status_frames: 0, producer_dropped: 0, repaired_utf8: 0, paused: 0, stale_removed: 0, lines: 0, records: 0, parsed_inline: 0, push_errors: 0 } as SocketCounters;
  for (const r of SOCKET_ERRORS) c[r] = 0;
  return c;
}

export interface SocketSourceOptions {
  stage: ParseStage;
}

export class SocketSource implements Source {
  readonly name: string;
  readonly type = 'socket';
  readonly stream: string;
  readonly health: Health;
  readonly #cfg: SocketSourceConfig;
  readonly #stage: ParseStage;
  readonly #path: string;
  readonly #counters = newCounters();
  readonly #conns = new Set<net.Socket>();
  readonly #producerReasons = new Set<string>();
  readonly #origin: Origin;
  #lane: RecordLane | undefined;
  #pipeline: Pipeline | undefined;
  #server: net.Server | undefined;
  /** The socket file we created (to remove only ours at stop). */
  #ino: number | undefined;

  constructor(cfg: SocketSourceConfig, opts: SocketSourceOptions) {
    this.#cfg = cfg;
    this.name = cfg.name;
    this.stream = cfg.stream ?? cfg.name;
    this.health = new Health('source', cfg.name, 'socket');
    this.#stage = opts.stage;
    this.#path = path.resolve(cfg.path);
    this.#origin = Object.freeze({ kind: 'socket', path: this.#path });
  }

  async start(pipeline: Pipeline): Promise<void> {
    this.#pipeline = pipeline;
    this.health.set('starting');
    this.#lane = new RecordLane(this.#stage, { source: this.name, stream: this.stream, format: 'json', maxLineBytes: this.#cfg.max_frame_bytes, dropStage: 'socket', counters: this.#counters, transforms: this.#stage.plan(this.name, this.stream, this.#cfg.transforms) });
    try {
      await this.#clearStale();
      const server = net.createServer((c) => this.#onConnection(c));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.health.set('degraded', problemOf(err)));
      this.#server = server;
      chmodSync(this.#path, this.#cfg.mode);
      this.#ino = lstatSync(this.#path).ino;
      this.health.set('running');
      this.health.note('listening', `listening on ${this.#path}`, { path: this.#path });
    } catch (err) {
      this.health.set('error', problemOf(err));
      throw err;
    }
  }

  /** Remove a socket file left by a process that is gone; refuse anything else at the path. */
  async #clearStale(): Promise<void> {
    let st: Stats;
    try {
      st = lstatSync(this.#path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (!st.isSocket()) {
      const kind = st.isFile() ? 'a regular file' : st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'not a socket';
      throw new SluiceError(SOCKET_ERR.PATH_TAKEN, `path ${this.#path} exists and is ${kind}; refusing to remove it (point path elsewhere or remove it yourself)`);
    }
    if (await answers(this.#path)) throw new SluiceError(SOCKET_ERR.PATH_TAKEN, `path ${this.#path}: another process is listening on it; refusing to take it over`);
    unlinkSync(this.#path);
    this.#counters.stale_removed++;
  }

  #onConnection(sock: net.Socket): void {
    const c = this.#counters;
    if (this.health.state !== 'running' && this.health.state !== 'degraded') {
      sock.destroy();
      return;
    }
    if (this.#conns.size >= this.#cfg.max_connections) {
      this.#bad('too_many_connections');
      sock.destroy();
      return;
    }
    this.#conns.add(sock);
    c.connections_opened++;
    const dec = new FrameDecoder(this.#cfg.max_frame_bytes);
    if (this.#lane!.paused) sock.pause();
    sock.on('data', (chunk: Buffer) => this.#onData(sock, dec, chunk));
    sock.on('error', () => this.#bad('connection_error'));
    sock.on('close', () => {
      this.#conns.delete(sock);
      c.connections_closed++;
      // a producer that went away in the middle of a frame: its bytes cannot make a frame any more
      if (!dec.failed && dec.buffered > 0) this.#bad('truncated_frame');
    });
  }

  #onData(sock: net.Socket, dec: FrameDecoder, chunk: Buffer): void {
    const c = this.#counters;
    c.bytes += chunk.length;
    const now = Date.now();
    const ctx: RecordContext = { source: this.name, stream: this.stream, origin: this.#origin, now };
    const records: LogRecord[] = [];
    for (const ev of dec.push(chunk)) {
      if (ev.kind === 'error') {
        this.#bad(ev.reason);
        sock.destroy();
        break;
      }
      c.frames++;
      const p = ev.payload;
      if (!isUtf8(p)) c.repaired_utf8++;
      const text = p.toString('utf8');
      if (ev.tag === TAGS.record) {
        const r = parseRecord(text, ctx);
        if (r.ok) records.push(r.record);
        else this.#bad(r.reason);
      } else if (ev.tag === TAGS.array) {
        let arr: unknown;
        try {
          arr = JSON.parse(text);
        } catch {
          this.#bad('bad_json');
          continue;
        }
        if (!Array.isArray(arr)) {
          this.#bad('bad_record');
          continue;
        }
        const keysSafe = !mayRewritePrototype(text);
        for (const v of arr) {
          const r = checkRecord(v, ctx, keysSafe);
          if (r.ok) records.push(r.record);
          else this.#bad(r.reason);
        }
      } else this.#status(text);
    }
    if (records.length > 0) {
      c.lines += records.length;
      if (!this.#lane!.commit(records)) this.#pauseReads();
    }
  }

  /** Tag 3: the producer's own drops, added to sluice_dropped_total{stage="producer"}. */
  #status(text: string): void {
    const c = this.#counters;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.#bad('bad_json');
      return;
    }
    const dropped = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>).dropped : undefined;
    if (dropped === null || typeof dropped !== 'object' || Array.isArray(dropped)) {
      this.#bad('bad_status');
      return;
    }
    c.status_frames++;
    for (const [reason, n] of Object.entries(dropped as Record<string, unknown>)) {
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
        this.#bad('bad_status');
        continue;
      }
      if (n === 0) continue;
      let label = PRODUCER_REASON.test(reason) ? reason : 'other';
      if (label !== 'other' && !this.#producerReasons.has(label)) {
        if (this.#producerReasons.size >= MAX_PRODUCER_REASONS) label = 'other';
        else this.#producerReasons.add(label);
      }
      c.producer_dropped += n;
      this.#pipeline!.drop('producer', label, n);
    }
  }

  #bad(reason: ErrorReason): void {
    this.#counters[reason]++;
    this.#pipeline?.drop('socket', reason, 1);
  }

  /** The pipeline pushed back: stop reading every connection until it drains (producers block, nothing is dropped). */
  #pauseReads(): void {
    this.#counters.paused++;
    for (const s of this.#conns) s.pause();
    this.#lane!.onResume(() => {
      if (this.health.state !== 'running' && this.health.state !== 'degraded') return;
      for (const s of this.#conns) s.resume();
    });
  }

  async stop(): Promise<void> {
    if (this.health.state === 'stopped') return;
    this.health.set('stopped');
    const server = this.#server;
    this.#server = undefined;
    // records are committed as they are read: once reading stops, everything read was accepted
    for (const s of this.#conns) s.destroy();
    this.#conns.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    this.#lane?.close();
    try {
      if (this.#ino !== undefined && lstatSync(this.#path).ino === this.#ino) unlinkSync(this.#path);
    } catch {
      // already gone
    }
    this.#ino = undefined;
  }

  status(): SourceStatus {
    const st: SourceStatus = {
      name: this.name,
      type: this.type,
      stream: this.stream,
      ...this.health.view(),
      counters: { ...this.#counters },
      path: this.#path,
      connections: this.#conns.size,
      paused: this.#lane?.paused ?? false,
    };
    return st;
  }
}

/** Does a process answer on this Unix socket? (A refused or failed connect: nobody.) */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}
