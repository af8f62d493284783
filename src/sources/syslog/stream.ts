/**
 * The TCP and TLS syslog listeners. Each connection has its own frame
 * decoder (framing detected from its first byte and held), its own lane at
 * the parse stage (its records commit in the order it sent them) and one
 * raw batch per read.
 *
 * Back-pressure: while the connection's lane is full or the pipeline asked
 * for a pause, reads gather in one batch (up to GATHER_BYTES), then the
 * socket is paused (`socket.pause()`): the kernel buffers fill and the
 * sender's TCP window closes, nothing is dropped; reading (and the idle
 * timer) resume when there is room.
 *
 * Reads: a plain TCP listener's connections all read into one buffer of
 * its own (core/read-into.ts; TLS reads the usual way), so a read's bytes
 * are only valid during #onData: the frame decoder copies what it holds and
 * the batch copies the frames before it returns.
 *
 * Limits, each counted by reason: `max_connections` per listener (a
 * connection past it is closed at once, `connections_refused`), the idle
 * timeout (`idle_timeout`), the frame cap (`oversize`: the head is kept and
 * the decoder resyncs, the connection stays), a lost octet-count sync
 * (`bad_octet_count`: nothing after it can be framed, so the connection is
 * closed), a failed TLS handshake (`tls_error`).
 */
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { SyslogFrameDecoder } from '../../framing/syslog-frames.js';
import type { Lane } from '../../parse/stage.js';
import { SyslogBatch } from './batch.js';
import { newListenerCounters, type ListenerCounters } from './counters.js';
import { boundOf, countBad, mustWait, peerOf, room, splitListen, syslogOrigin, type ListenerContext, type ListenerStatus, type SyslogListener } from './listener.js';
import type { Origin } from '../../core/record.js';
import { readInto } from '../../core/read-into.js';

/** While the lane or the pipeline is full, reads gather in one batch up to this size; then the socket pauses. */
export const GATHER_BYTES = 256 * 1024;

/** The size of a plain TCP listener's one read buffer (libuv's own per-read size). */
const READ_BYTES = 64 * 1024;

export class StreamListener implements SyslogListener {
  readonly transport: 'tcp' | 'tls';
  readonly listen: string;
  readonly counters: ListenerCounters = newListenerCounters();
  readonly #ctx: ListenerContext;
  readonly #server: net.Server;
  readonly #conns = new Set<SyslogConnection>();
  /** Plain TCP: every connection reads into this one buffer (each read is consumed before the next: read-into.ts). */
  readonly #readBuf: Buffer | undefined;
  #stopping = false;

  constructor(ctx: ListenerContext, transport: 'tcp' | 'tls') {
    this.#ctx = ctx;
    this.transport = transport;
    const { cfg } = ctx;
    if (transport === 'tls') {
      const t = cfg.tls!;
      this.listen = t.listen;
      const ca = t.ca !== undefined ? readFileSync(t.ca) : undefined;
      const server = tls.createServer({
        cert: readFileSync(t.cert),
        key: readFileSync(t.key),
        ca,
        requestCert: ca !== undefined,
        rejectUnauthorized: ca !== undefined,
        handshakeTimeout: cfg.idle_timeout > 0 ? Math.min(cfg.idle_timeout, 30_000) : 30_000,
      });
      server.on('secureConnection', (s) => this.#accept(s));
      server.on('tlsClientError', () => countBad(this.counters, ctx.pipeline, 'tls_error'));
      this.#server = server;
    } else {
      this.listen = cfg.tcp!;
      this.#readBuf = Buffer.allocUnsafe(READ_BYTES);
      this.#server = net.createServer((s) => this.#accept(s));
    }
    this.#server.maxConnections = cfg.max_connections;
    // past maxConnections node closes the socket at once and says so here
    this.#server.on('drop', () => countBad(this.counters, ctx.pipeline, 'max_connections'));
  }

  start(): Promise<void> {
    const { host, port } = splitListen(this.listen);
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host: host || undefined, port }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', () => {
          /* after listen: per-connection errors arrive on the sockets */
        });
        resolve();
      });
    });
  }

  #accept(socket: net.Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    const c = this.counters;
    c.connections++;
    c.connections_active++;
    const conn = new SyslogConnection(socket, this.#ctx, this.transport, c, this.#readBuf, () => {
      this.#conns.delete(conn);
      c.connections_active--;
    });
    this.#conns.add(conn);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all([...this.#conns].map((c) => c.close()));
    await closed;
  }

  status(): ListenerStatus {
    return { transport: this.transport, listen: this.listen, address: boundOf(this.#server.address()), counters: { ...this.counters } };
  }
}

class SyslogConnection {
  readonly #socket: net.Socket;
  readonly #ctx: ListenerContext;
  readonly #c: ListenerCounters;
  readonly #lane: Lane;
  readonly #decoder: SyslogFrameDecoder;
  readonly #batch: SyslogBatch;
  readonly #origin: Origin;
  readonly #idle: number;
  #more = true;
  #paused = false;
  /** Waiting for room: reads gather in #batch. */
  #waiting = false;
  #closed = false;
  readonly #done: Promise<void>;

  constructor(socket: net.Socket, ctx: ListenerContext, transport: 'tcp' | 'tls', c: ListenerCounters, readBuf: Buffer | undefined, onDone: () => void) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#c = c;
    this.#lane = ctx.stage.lane(ctx.spec);
    this.#origin = syslogOrigin(transport, peerOf(socket.remoteAddress, socket.remotePort));
    this.#batch = new SyslogBatch({ checkSyslog: ctx.cfg.format === 'syslog', bad: (r, n) => countBad(c, ctx.pipeline, r, n) });
    this.#decoder = new SyslogFrameDecoder({
      maxFrameBytes: ctx.cfg.max_frame_bytes,
      onFrame: (buf, s, e, truncated, inChunk) => {
        if (truncated) countBad(c, ctx.pipeline, 'oversize');
        this.#batch.frame(buf, s, e, truncated, this.#decoder.mode === 'octet', inChunk);
      },
    });
    this.#idle = ctx.cfg.idle_timeout;
    if (this.#idle > 0) socket.setTimeout(this.#idle);
    socket.on('timeout', () => {
      countBad(c, ctx.pipeline, 'idle_timeout');
      socket.destroy();
    });
    // one reused read buffer where Node allows it (no ArrayBuffer per read for the GC to chase), else 'data'
    if (readBuf === undefined || !readInto(socket, readBuf, (chunk) => this.#onData(chunk))) socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {
      c.socket_error++;
    });
    this.#done = new Promise<void>((resolve) => {
      socket.once('close', () => {
        this.#closed = true;
        // a frame the sender finished without a terminator is still a frame (an octet-counted one cut short is counted)
        const { incomplete, frames } = this.#decoder.counters;
        this.#decoder.end();
        c.frames += this.#decoder.counters.frames - frames;
        countBad(c, ctx.pipeline, 'incomplete', this.#decoder.counters.incomplete - incomplete);
        this.#flush();
        this.#lane.close();
        void this.#lane.settled().then(() => {
          onDone();
          resolve();
        });
      });
    });
  }

  #onData(chunk: Buffer): void {
    const c = this.#c;
    c.bytes += chunk.length;
    const frames = this.#decoder.counters.frames;
    this.#decoder.push(chunk);
    this.#batch.settle();
    c.frames += this.#decoder.counters.frames - frames;
    if (this.#decoder.error !== undefined) {
      countBad(c, this.#ctx.pipeline, this.#decoder.error);
      this.#flush();
      this.#socket.destroy();
      return;
    }
    if (!this.#waiting && !mustWait(this.#lane, this.#more)) {
      this.#flush();
      return;
    }
    // The lane or the pipeline is full: the next reads gather in one batch (fewer, bigger batches for the
    // parse threads) until there is room; past GATHER_BYTES the socket is paused (the sender waits).
    if (!this.#waiting) this.#wait();
    if (!this.#paused && this.#batch.size >= GATHER_BYTES) this.#pause();
  }

  #flush(): void {
    const raw = this.#batch.take(Date.now(), this.#origin);
    if (raw === undefined) return;
    this.#lane.submit(raw, (_n, _seq, more) => {
      if (!more) this.#more = false;
    });
  }

  /** Until the lane and the pipeline have room; then the gathered batch goes and reading resumes. */
  #wait(): void {
    this.#waiting = true;
    void room(this.#lane, this.#ctx.pipeline, () => this.#more).then(() => {
      this.#more = true;
      this.#waiting = false;
      this.#flush();
      if (!this.#paused) return;
      this.#paused = false;
      if (this.#closed) return;
      if (this.#idle > 0) this.#socket.setTimeout(this.#idle);
      this.#socket.resume();
    });
  }

  /** Stop reading; the idle timer does not run meanwhile (we are the slow one). */
  #pause(): void {
    this.#paused = true;
    this.#c.paused++;
    this.#socket.pause();
    this.#socket.setTimeout(0);
  }

  /** Stop: close the socket; resolves when what was read is pushed. */
  close(): Promise<void> {
    this.#socket.destroy();
    return this.#done;
  }
}
