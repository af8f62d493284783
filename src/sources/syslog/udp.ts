/**
 * The UDP syslog listener: one datagram is one message (split on LF when it
 * carries several lines), with a configurable kernel receive buffer
 * (`udp_rcvbuf`, SO_RCVBUF).
 *
 * Datagrams of up to 2 ms (or 64 KiB) from one peer become one raw batch
 * (a batch has one origin; a change of peer starts the next). UDP cannot make
 * a sender wait: while the lane is full or the pipeline paused, batches are
 * held up to HOLD_BYTES, and past that a datagram is dropped and counted
 * `udp_overflow`. What the kernel drops before we read (a full receive
 * buffer) is read from /proc/net/udp every few seconds and counted
 * `kernel`.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { SyslogFrameDecoder } from '../../framing/syslog-frames.js';
import type { RawBatch } from '../../parse/batch.js';
import type { Lane } from '../../parse/stage.js';
import { SyslogBatch } from './batch.js';
import { newListenerCounters, type ListenerCounters } from './counters.js';
import { KernelDrops } from './kernel-drops.js';
import { boundOf, countBad, mustWait, peerOf, room, splitListen, syslogOrigin, type ListenerContext, type ListenerStatus, type SyslogListener } from './listener.js';

/** Bytes of batches held while the lane or the pipeline is full; past it datagrams are dropped (udp_overflow). */
export const HOLD_BYTES = 8 * 1024 * 1024;
/** A batch is handed over at this size at once (a parse thread takes it whole). */
const BATCH_BYTES = 64 * 1024;
/** Otherwise the datagrams of this many milliseconds make one batch (the latency UDP ingest adds). */
const FLUSH_MS = 2;
/** How often the kernel's drop count is read. */
const KERNEL_POLL_MS = 2000;

export class UdpListener implements SyslogListener {
  readonly transport = 'udp' as const;
  readonly listen: string;
  readonly counters: ListenerCounters = newListenerCounters();
  readonly #ctx: ListenerContext;
  readonly #sock: dgram.Socket;
  readonly #lane: Lane;
  readonly #decoder: SyslogFrameDecoder;
  readonly #batch: SyslogBatch;
  /** Peer of the frames in #batch. */
  #peer = '';
  #peerAddr = '';
  #peerPort = -1;
  #timer: NodeJS.Timeout | undefined;
  /** Batches waiting for room, in order. */
  readonly #held: RawBatch[] = [];
  #heldBytes = 0;
  #waiting = false;
  #more = true;
  #kernel: KernelDrops | undefined;
  #kernelBase: number | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ctx: ListenerContext) {
    this.#ctx = ctx;
    this.listen = ctx.cfg.udp!;
    const { host } = splitListen(this.listen);
    const opts: dgram.SocketOptions = { type: isIPv6(host) ? 'udp6' : 'udp4' };
    if (ctx.cfg.udp_rcvbuf > 0) opts.recvBufferSize = ctx.cfg.udp_rcvbuf;
    this.#sock = dgram.createSocket(opts);
    this.#lane = ctx.stage.lane(ctx.spec);
    const c = this.counters;
    this.#batch = new SyslogBatch({ checkSyslog: ctx.cfg.format === 'syslog', bad: (r, n) => countBad(c, ctx.pipeline, r, n) });
    this.#decoder = new SyslogFrameDecoder({
      maxFrameBytes: ctx.cfg.max_frame_bytes,
      mode: 'lf',
      onFrame: (buf, s, e, truncated) => {
        if (truncated) countBad(c, ctx.pipeline, 'oversize');
        this.#batch.frame(buf, s, e, truncated, false);
      },
    });
    this.#sock.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#sock.on('error', () => {
      c.socket_error++;
    });
  }

  start(): Promise<void> {
    const { host, port } = splitListen(this.listen);
    return new Promise((resolve, reject) => {
      this.#sock.once('error', reject);
      this.#sock.bind({ address: host || undefined, port, exclusive: true }, () => {
        this.#sock.off('error', reject);
        const a = this.#sock.address();
        this.#kernel = new KernelDrops(a.port, a.family === 'IPv6' ? 6 : 4);
        this.#kernelBase = this.#kernel.read();
        this.#poll = setInterval(() => this.pollKernel(), KERNEL_POLL_MS);
        this.#poll.unref();
        resolve();
      });
    });
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.counters;
    c.datagrams++;
    c.bytes += msg.length;
    if (this.#heldBytes + this.#batch.size >= HOLD_BYTES) {
      countBad(c, this.#ctx.pipeline, 'udp_overflow');
      return;
    }
    if (rinfo.port !== this.#peerPort || rinfo.address !== this.#peerAddr) {
      this.#take();
      this.#peerAddr = rinfo.address;
      this.#peerPort = rinfo.port;
      this.#peer = peerOf(rinfo.address, rinfo.port);
    }
    // the usual datagram is one message without a terminator inside: no decoder, no copy but the batch's
    let e = msg.length;
    while (e > 0 && (msg[e - 1] === 10 || msg[e - 1] === 13 || msg[e - 1] === 0)) e--;
    if (e > 0 && e <= this.#ctx.cfg.max_frame_bytes && msg.indexOf(10) >= e && msg.indexOf(0) >= e) {
      c.frames++;
      this.#batch.frame(msg, 0, e, false, false);
    } else if (e > 0) {
      const frames = this.#decoder.counters.frames;
      this.#decoder.push(msg);
      this.#decoder.end();
      c.frames += this.#decoder.counters.frames - frames;
    }
    if (this.#batch.size >= BATCH_BYTES) {
      this.#take();
      this.#submit();
    }
    // Datagrams of a few milliseconds make one batch: libuv reads at most 32 per poll, and a batch
    // that small is parsed on the main thread, beside the socket; a bigger one goes to a parse thread.
    if (this.#timer === undefined && this.#batch.frames > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#take();
        this.#submit();
      }, FLUSH_MS);
    }
  }

  /** The frames so far become a held batch. */
  #take(): void {
    const raw = this.#batch.take(Date.now(), syslogOrigin('udp', this.#peer));
    if (raw === undefined) return;
    this.#held.push(raw);
    this.#heldBytes += raw.size;
  }

  /** Hand held batches to the lane while it has room. */
  #submit(): void {
    while (this.#held.length > 0 && !this.#waiting) {
      if (mustWait(this.#lane, this.#more)) {
        this.#waiting = true;
        void room(this.#lane, this.#ctx.pipeline, () => this.#more).then(() => {
          this.#more = true;
          this.#waiting = false;
          this.#submit();
        });
        return;
      }
      const raw = this.#held.shift()!;
      this.#heldBytes -= raw.size;
      this.#lane.submit(raw, (_n, _seq, more) => {
        if (!more) this.#more = false;
      });
    }
  }

  /** Read the kernel's drop count for this socket and count what is new (also called by status()). */
  pollKernel(): void {
    if (this.#kernel === undefined || this.#closed) return;
    const n = this.#kernel.read();
    if (n === undefined) return;
    if (this.#kernelBase === undefined) this.#kernelBase = 0;
    const now = n - this.#kernelBase;
    if (now > this.counters.kernel_drops) countBad(this.counters, this.#ctx.pipeline, 'kernel', now - this.counters.kernel_drops);
  }

  async stop(): Promise<void> {
    if (this.#closed) return;
    this.pollKernel();
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await new Promise<void>((resolve) => this.#sock.close(() => resolve()));
    // what was read is pushed: held batches go to the lane, which no longer waits for a drain once closed
    this.#take();
    this.#lane.close();
    this.#waiting = false;
    this.#more = true;
    for (const raw of this.#held.splice(0)) this.#lane.submit(raw, () => {});
    this.#heldBytes = 0;
    await this.#lane.settled();
  }

  status(): ListenerStatus {
    this.pollKernel();
    let rcvbuf: number | null = null;
    try {
      rcvbuf = this.#closed ? null : this.#sock.getRecvBufferSize();
    } catch {
      /* not bound */
    }
    let address: string | null = null;
    try {
      address = this.#closed ? null : boundOf(this.#sock.address());
    } catch {
      /* not bound */
    }
    return { transport: 'udp', listen: this.listen, address, counters: { ...this.counters }, rcvbuf, held_bytes: this.#heldBytes };
  }
}
