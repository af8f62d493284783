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
 * Two readers fill the same batches: the native one (udp-native.ts: recvmmsg,
 * the usual datagram copied into the batch in C, one JS call per read) and
 * Node's dgram socket (one callback per datagram), its twin and fallback
 * (`native: false`, or the addon not built). The same datagrams give the
 * same frames and counts either way (udp-native.test.ts).
 *
 * Datagrams of up to FLUSH_MS (or BATCH_BYTES) from one peer make one batch
 * (a batch has one origin; a change of peer starts the next). The bytes in
 * flight (handed on, not yet committed: `ack`) are bounded by `holdBytes`;
 * past it a datagram is dropped and counted `udp_overflow`.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, isIPv6 } from 'node:net';
import { SyslogFrameDecoder } from '../../framing/syslog-frames.js';
import type { RawBatch } from '../../parse/batch.js';
import { parseSyslog3164 } from '../../parse/syslog3164.js';
import { SyslogBatch } from './batch.js';
import type { Reason } from './counters.js';
import { peerOf, syslogOrigin } from './listener.js';
import { DGRAM_BYTES, nativeUdp, nativeUdpState, ST, TAKE, type NativeUdp, type NativeUdpHandle } from './udp-native.js';

/** A batch is handed on at this size at once (a parse thread takes it whole). */
const BATCH_BYTES = 64 * 1024;
/** Otherwise the datagrams of this many milliseconds make one batch (the latency UDP ingest adds). */
const FLUSH_MS = 2;
/** Native reader: reads per turn of the event loop (messages from the listener, acks, are seen between turns). */
const TURNS = 16;
/**
 * Native reader: once a wait for a datagram ends, datagrams gather this long before the read (at
 * most until the open batch is due): ~100 per read at 100k/s instead of one or two, and a wake per
 * millisecond instead of per datagram (see docs/operations.md for what it saved).
 */
const LINGER_US = 1000;
/** Native reader: how long one read waits for a datagram when no batch is open (a close waits at most this). */
const IDLE_MS = 50;

export interface UdpReceiverOptions {
  host: string;
  port: number;
  rcvbuf: number;
  maxFrameBytes: number;
  checkSyslog: boolean;
  holdBytes: number;
  /** Read with the native reader when it is built (else, or false: Node's dgram). */
  native: boolean;
}

/** What bind() resolves with. */
export interface UdpBound {
  address: string;
  port: number;
  family: string;
  rcvbuf: number;
  /** Which reader reads, and why that one. */
  reader: 'native' | 'dgram';
  reader_why: string;
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
  readonly #sock: dgram.Socket | undefined;
  readonly #nat: NativeUdp | undefined;
  #h: NativeUdpHandle | undefined;
  readonly #why: string;
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
  /** Native reader: the state array, the decoder's datagram, the peer's text; when the open batch is due (0: none open). */
  readonly #st: Float64Array;
  readonly #dgram: Buffer;
  readonly #peerText: Buffer;
  #due = 0;
  #closing = false;

  constructor(o: UdpReceiverOptions, ev: UdpReceiverEvents) {
    this.#o = o;
    this.#ev = ev;
    this.#nat = o.native ? nativeUdp : undefined;
    this.#why = o.native ? nativeUdpState : 'udp_native = false';
    if (this.#nat === undefined) {
      const opts: dgram.SocketOptions = { type: isIPv6(o.host) ? 'udp6' : 'udp4' };
      if (o.rcvbuf > 0) opts.recvBufferSize = o.rcvbuf;
      const sock = dgram.createSocket(opts);
      sock.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
      sock.on('error', () => this.#bad('socket_error', 1));
      this.#sock = sock;
    }
    this.#st = new Float64Array(this.#nat?.stateSize ?? 0);
    this.#dgram = Buffer.alloc(this.#nat ? DGRAM_BYTES : 0);
    this.#peerText = Buffer.alloc(this.#nat ? 64 : 0);
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
  }

  /** Bind; resolves with the bound address, the effective receive buffer and the reader. */
  async bind(): Promise<UdpBound> {
    const b = this.#nat !== undefined ? await this.#bindNative(this.#nat) : await this.#bindDgram(this.#sock!);
    // counts that came without a batch (overflow) are reported a few times a second
    this.#report = setInterval(() => {
      if (!this.#dirty) return;
      this.#dirty = false;
      this.#ev.counts(this.#takeCounts());
    }, 250);
    return b;
  }

  #bindDgram(sock: dgram.Socket): Promise<UdpBound> {
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: this.#o.host || undefined, port: this.#o.port, exclusive: true }, () => {
        sock.off('error', reject);
        const a = sock.address();
        resolve({ address: a.address, port: a.port, family: a.family, rcvbuf: sock.getRecvBufferSize(), reader: 'dgram', reader_why: this.#why });
      });
    });
  }

  async #bindNative(nat: NativeUdp): Promise<UdpBound> {
    // the addresses dgram would bind: every IPv4 interface for no host, a name looked up as IPv4
    const host = this.#o.host === '' ? '0.0.0.0' : isIP(this.#o.host) !== 0 ? this.#o.host : (await lookup(this.#o.host, { family: 4 })).address;
    this.#h = nat.open(host, this.#o.port, this.#o.rcvbuf);
    const a = nat.bound(this.#h);
    const st = this.#st;
    st[ST.MAX_FRAME] = this.#o.maxFrameBytes;
    st[ST.CHECK] = this.#o.checkSyslog ? 1 : 0;
    st[ST.LINGER_US] = LINGER_US;
    setImmediate(this.#pump);
    return { address: a.address, port: a.port, family: a.family === 6 ? 'IPv6' : 'IPv4', rcvbuf: a.rcvbuf, reader: 'native', reader_why: a.forced ? 'loaded; receive buffer set with SO_RCVBUFFORCE' : 'loaded' };
  }

  /**
   * Native reader: read and frame for up to TURNS reads, then let the event loop
   * run (the listener's acks and close) and come back. A turn ends only when
   * every datagram read was taken, so a close never leaves one uncounted.
   */
  readonly #pump = (): void => {
    const nat = this.#nat!;
    const h = this.#h!;
    const st = this.#st;
    const b = this.#batch;
    for (let turn = 0; !this.#closing; ) {
      let now = Date.now();
      if (this.#due !== 0 && now >= this.#due) this.flush();
      if (b.size >= BATCH_BYTES) this.flush();
      const run = b.runFor(0);
      const off0 = b.runLength;
      const frames0 = b.frames;
      st[ST.OFF] = off0;
      st[ST.AVAIL] = this.#o.holdBytes - this.#inFlight - b.size;
      st[ST.FLUSH_AT] = BATCH_BYTES - b.size;
      st[ST.DATAGRAMS] = st[ST.BYTES] = st[ST.FRAMES] = st[ST.OVERFLOW] = 0;
      const r = nat.take(h, run, this.#dgram, this.#peerText, st, this.#due === 0 ? IDLE_MS : Math.max(0, this.#due - now));
      const c = this.#counts;
      if (st[ST.DATAGRAMS] > 0) {
        c.datagrams += st[ST.DATAGRAMS]!;
        c.bytes += st[ST.BYTES]!;
        c.frames += st[ST.FRAMES]!;
        this.#dirty = true;
        if (st[ST.OVERFLOW]! > 0) this.#bad('udp_overflow', st[ST.OVERFLOW]!);
        b.appended(st[ST.OFF]! - off0, st[ST.FRAMES]!);
      }
      switch (r) {
        case TAKE.DONE:
          if (++turn >= TURNS) {
            setImmediate(this.#pump);
            return;
          }
          break;
        case TAKE.PEER:
          this.flush();
          this.#peer = this.#peerText.toString('latin1', 0, st[ST.LEN]);
          break;
        case TAKE.CHECK:
          if (parseSyslog3164(run.toString('utf8', st[ST.MARK_START], st[ST.MARK_END])) === undefined) this.#bad('parse_error', 1);
          break;
        case TAKE.ROOM:
          b.runFor(st[ST.NEED]!);
          break;
        case TAKE.DGRAM:
          this.#decoder.push(this.#dgram.subarray(0, st[ST.LEN]));
          this.#decoder.end();
          b.settle();
          break;
        case TAKE.FULL:
          this.flush();
          break;
        case TAKE.IDLE:
          setImmediate(this.#pump);
          return;
        case TAKE.ERROR:
          this.#bad('socket_error', 1);
          setTimeout(this.#pump, IDLE_MS);
          return;
      }
      if (this.#due === 0 && b.frames > frames0) {
        now = Date.now();
        this.#due = now + FLUSH_MS;
      }
    }
  };

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
      // not c: a change of peer above handed c on with the last batch
      this.#counts.frames++;
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
    this.#due = 0;
    const raw = this.#batch.take(Date.now(), syslogOrigin('udp', this.#peer));
    if (raw === undefined) return;
    this.#inFlight += raw.size;
    this.#dirty = false;
    this.#ev.batch(raw, this.#takeCounts());
  }

  /** Stop reading; what was read is handed on (and the last counts with it). */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#report) clearInterval(this.#report);
    if (this.#sock !== undefined) await new Promise<void>((resolve) => this.#sock!.close(() => resolve()));
    else if (this.#h !== undefined) this.#nat!.close(this.#h);
    this.flush();
    this.#ev.counts(this.#takeCounts());
  }
}
