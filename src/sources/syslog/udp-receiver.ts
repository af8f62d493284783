/**
 * The receiving half of the UDP listener, run in a thread of its own
 * (udp-thread.ts; `UdpReceiver` itself knows nothing of threads): it owns
 * the socket, frames the datagrams (one message each, or one per line when a
 * datagram carries several), and hands batches on with the counts of what
 * it saw.
 *
 * Why a thread: a datagram the kernel cannot queue is lost, and the main
 * thread's pauses (a GC, a burst of fan-out, a busy parse stage) are longer
 * than a receive buffer lasts at 100k datagrams/s; this thread does nothing
 * but read (rsyslog's imudp has its own thread for the same reason).
 *
 * Datagrams of up to FLUSH_MS (or BATCH_BYTES) from one peer make one batch
 * (a batch has one origin; a change of peer starts the next). The bytes in
 * flight (handed on, not yet committed: `ack`) are bounded by `holdBytes`;
 * past it a datagram is dropped and counted `udp_overflow`.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { SyslogFrameDecoder } from '../../framing/syslog-frames.js';
import type { RawBatch } from '../../parse/batch.js';
import { SyslogBatch } from './batch.js';
import type { Reason } from './counters.js';
import { peerOf, syslogOrigin } from './listener.js';

/** A batch is handed on at this size at once (a parse thread takes it whole). */
const BATCH_BYTES = 64 * 1024;
/** Otherwise the datagrams of this many milliseconds make one batch (the latency UDP ingest adds). */
const FLUSH_MS = 2;

export interface UdpReceiverOptions {
  host: string;
  port: number;
  rcvbuf: number;
  maxFrameBytes: number;
  checkSyslog: boolean;
  holdBytes: number;
}

/** What the receiver saw since its last report. */
export interface UdpCounts {
  datagrams: number;
  bytes: number;
  frames: number;
  bad: Partial<Record<Reason, number>>;
}

export interface UdpReceiverEvents {
  batch(raw: RawBatch, counts: UdpCounts): void;
  /** Counts without a batch (e.g. overflow drops while nothing could be handed on). */
  counts(counts: UdpCounts): void;
}

/** No byte `b` in buf[0, e) (Buffer#indexOf answers -1 when there is none at all). */
function noneBefore(buf: Buffer, b: number, e: number): boolean {
  const i = buf.indexOf(b);
  return i === -1 || i >= e;
}

function noCounts(): UdpCounts {
  return { datagrams: 0, bytes: 0, frames: 0, bad: {} };
}

export class UdpReceiver {
  readonly #o: UdpReceiverOptions;
  readonly #ev: UdpReceiverEvents;
  readonly #sock: dgram.Socket;
  readonly #batch: SyslogBatch;
  readonly #decoder: SyslogFrameDecoder;
  #counts = noCounts();
  #dirty = false;
  #inFlight = 0;
  #peer = '';
  #peerAddr = '';
  #peerPort = -1;
  #timer: NodeJS.Timeout | undefined;
  #report: NodeJS.Timeout | undefined;

  constructor(o: UdpReceiverOptions, ev: UdpReceiverEvents) {
    this.#o = o;
    this.#ev = ev;
    const opts: dgram.SocketOptions = { type: isIPv6(o.host) ? 'udp6' : 'udp4' };
    if (o.rcvbuf > 0) opts.recvBufferSize = o.rcvbuf;
    this.#sock = dgram.createSocket(opts);
    this.#batch = new SyslogBatch({ checkSyslog: o.checkSyslog, bad: (r, n) => this.#bad(r, n) });
    this.#decoder = new SyslogFrameDecoder({
      maxFrameBytes: o.maxFrameBytes,
      mode: 'lf',
      onFrame: (buf, s, e, truncated, inChunk) => {
        if (truncated) this.#bad('oversize', 1);
        this.#counts.frames++;
        this.#batch.frame(buf, s, e, truncated, false, inChunk);
      },
    });
    this.#sock.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#sock.on('error', () => this.#bad('socket_error', 1));
  }

  /** Bind; resolves with the bound address and the effective receive buffer. */
  bind(): Promise<{ address: string; port: number; family: string; rcvbuf: number }> {
    return new Promise((resolve, reject) => {
      this.#sock.once('error', reject);
      this.#sock.bind({ address: this.#o.host || undefined, port: this.#o.port, exclusive: true }, () => {
        this.#sock.off('error', reject);
        const a = this.#sock.address();
        // counts that came without a batch (overflow) are reported a few times a second
        this.#report = setInterval(() => {
          if (!this.#dirty) return;
          this.#dirty = false;
          this.#ev.counts(this.#takeCounts());
        }, 250);
        resolve({ address: a.address, port: a.port, family: a.family, rcvbuf: this.#sock.getRecvBufferSize() });
      });
    });
  }

  /** Batches handed on were committed (or dropped): their bytes are no longer in flight. */
  ack(bytes: number): void {
    this.#inFlight -= bytes;
  }

  #bad(r: Reason, n: number): void {
    this.#counts.bad[r] = (this.#counts.bad[r] ?? 0) + n;
    this.#dirty = true;
  }

  #takeCounts(): UdpCounts {
    const c = this.#counts;
    this.#counts = noCounts();
    return c;
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.#counts;
    c.datagrams++;
    c.bytes += msg.length;
    this.#dirty = true;
    if (this.#inFlight + this.#batch.size >= this.#o.holdBytes) {
      this.#bad('udp_overflow', 1);
      return;
    }
    if (rinfo.port !== this.#peerPort || rinfo.address !== this.#peerAddr) {
      this.flush();
      this.#peerAddr = rinfo.address;
      this.#peerPort = rinfo.port;
      this.#peer = peerOf(rinfo.address, rinfo.port);
    }
    // the usual datagram is one message without a terminator inside: no decoder, no copy but the batch's
    let e = msg.length;
    while (e > 0 && (msg[e - 1] === 10 || msg[e - 1] === 13 || msg[e - 1] === 0)) e--;
    if (e > 0 && e <= this.#o.maxFrameBytes && noneBefore(msg, 10, e) && noneBefore(msg, 0, e)) {
      c.frames++;
      this.#batch.frame(msg, 0, e, false, false);
    } else if (e > 0) {
      this.#decoder.push(msg);
      this.#decoder.end();
      this.#batch.settle();
    }
    if (this.#batch.size >= BATCH_BYTES) this.flush();
    else if (this.#timer === undefined && this.#batch.frames > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, FLUSH_MS);
    }
  }

  /** Hand on the frames so far. */
  flush(): void {
    const raw = this.#batch.take(Date.now(), syslogOrigin('udp', this.#peer));
    if (raw === undefined) return;
    this.#inFlight += raw.size;
    this.#dirty = false;
    this.#ev.batch(raw, this.#takeCounts());
  }

  /** Stop reading; what was read is handed on (and the last counts with it). */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#report) clearInterval(this.#report);
    await new Promise<void>((resolve) => this.#sock.close(() => resolve()));
    this.flush();
    this.#ev.counts(this.#takeCounts());
  }
}
