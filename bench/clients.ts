/**
 * The measuring ends of the benches: a newline-counting TCP client (connects
 * to a Sluice stream port) and server (rsyslog's omfwd connects to it), and a
 * minimal SSE client on node:http. Counting works on raw Buffers with
 * `indexOf(10)` so the bench process stays far cheaper than what it measures;
 * optional verification reads every line's `seq=NNNNNNNNNN` into a bitmap to
 * report missing, duplicate and unnumbered lines.
 */

import http from 'node:http';
import net from 'node:net';
import { SEQ_DIGITS, SEQ_MARK } from './gen.js';
import { linkSync } from 'node:fs';
import { atMeasuringPriority, nowMs, sleep } from './util.js';
import { readInto } from '../src/core/read-into.js';

const NL = 10;
const MARK = Buffer.from(SEQ_MARK);

export interface VerifyReport {
  expected: number;
  seen: number;
  missing: number;
  duplicates: number;
  /** Lines without a readable seq= number (e.g. a split or truncated line). */
  unnumbered: number;
  outOfRange: number;
  firstMissing: number[];
}

/**
 * Counts newline-terminated records over one or more connections. Each
 * connection gets its own `feeder()` (its own partial-line carry when
 * verifying); totals are shared.
 */
export class LineCounter {
  lines = 0;
  bytes = 0;
  /** Epoch ms of the first byte, of the latest byte, and of the feed that reached `target`. */
  firstAt = 0;
  lastAt = 0;
  doneAt = 0;
  target = Infinity;
  #bitmap: Uint8Array | null = null;
  #dups = 0;
  #unnumbered = 0;
  #outOfRange = 0;

  constructor(opts: { target?: number; verify?: boolean } = {}) {
    if (opts.target !== undefined) this.target = opts.target;
    if (opts.verify && Number.isFinite(this.target)) this.#bitmap = new Uint8Array(this.target + 1);
  }

  feeder(): (chunk: Buffer) => void {
    let carry: Buffer | null = null;
    return (chunk: Buffer) => {
      const t = nowMs();
      if (this.firstAt === 0) this.firstAt = t;
      this.lastAt = t;
      this.bytes += chunk.length;
      if (this.#bitmap) {
        const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
        const rest = this.#verifyLines(buf);
        carry = rest < buf.length ? Buffer.from(buf.subarray(rest)) : null;
      } else {
        let n = 0;
        let i = chunk.indexOf(NL);
        while (i !== -1) {
          n++;
          i = chunk.indexOf(NL, i + 1);
        }
        this.lines += n;
      }
      if (this.doneAt === 0 && this.lines >= this.target) this.doneAt = t;
    };
  }

  /** Count and check complete lines; returns the offset of the trailing partial line. */
  #verifyLines(buf: Buffer): number {
    const bm = this.#bitmap!;
    let start = 0;
    let end = buf.indexOf(NL);
    let m = buf.indexOf(MARK);
    while (end !== -1) {
      this.lines++;
      while (m !== -1 && m < start) m = buf.indexOf(MARK, start);
      if (m !== -1 && m < end && m + MARK.length + SEQ_DIGITS <= end) {
        let v = 0;
        let ok = true;
        for (let d = m + MARK.length, e = d + SEQ_DIGITS; d < e; d++) {
          const c = buf[d] - 48;
          if (c < 0 || c > 9) {
            ok = false;
            break;
          }
          v = v * 10 + c;
        }
        if (!ok) this.#unnumbered++;
        else if (v < 1 || v >= bm.length) this.#outOfRange++;
        else if (bm[v]) this.#dups++;
        else bm[v] = 1;
      } else {
        this.#unnumbered++;
      }
      start = end + 1;
      end = buf.indexOf(NL, start);
    }
    return start;
  }

  verifyReport(): VerifyReport | null {
    const bm = this.#bitmap;
    if (!bm) return null;
    let seen = 0;
    const firstMissing: number[] = [];
    for (let i = 1; i < bm.length; i++) {
      if (bm[i]) seen++;
      else if (firstMissing.length < 10) firstMissing.push(i);
    }
    return { expected: bm.length - 1, seen, missing: bm.length - 1 - seen, duplicates: this.#dups, unnumbered: this.#unnumbered, outOfRange: this.#outOfRange, firstMissing };
  }

  /**
   * Resolve when `target` lines arrived, nothing arrived for `idleMs` (after
   * the first byte, or `startMs` before it), or `timeoutMs` passed.
   */
  async waitDone(opts: { idleMs: number; startMs: number; timeoutMs: number; onTick?: () => void }): Promise<'complete' | 'idle' | 'timeout'> {
    const t0 = nowMs();
    let lastLines = -1;
    let lastChange = t0;
    let tick = 0;
    for (;;) {
      if (this.lines >= this.target) return 'complete';
      const t = nowMs();
      if (this.lines !== lastLines) {
        lastLines = this.lines;
        lastChange = t;
      }
      const idleLimit = this.firstAt === 0 ? opts.startMs : opts.idleMs;
      if (t - lastChange > idleLimit) return 'idle';
      if (t - t0 > opts.timeoutMs) return 'timeout';
      if (opts.onTick && ++tick % 50 === 0) opts.onTick();
      await sleep(20);
    }
  }
}

/** Connect to a TCP stream (retrying while the port is not open yet) and count its lines. */
export async function connectCounter(host: string, port: number, counter: LineCounter, timeoutMs = 10_000): Promise<net.Socket> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        // reads land in one reused 1 MiB buffer (net.connect's `onread`): a 'data' event per 64 KiB
        // read, each with a Buffer of its own, cost this process ~0.4 of a core at ~900k records/s, taken
        // from the machine the daemon it measures runs on
        const feed = counter.feeder();
        const buffer = Buffer.allocUnsafe(1 << 20);
        const sock = net.connect({ host, port, onread: { buffer, callback: (n: number) => (feed(buffer.subarray(0, n)), true) } });
        sock.setNoDelay(true);
        sock.once('connect', () => {
          sock.off('error', reject);
          sock.on('error', () => {});
          resolve(sock);
        });
        sock.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(50);
    }
  }
}

/** A TCP server on an ephemeral port whose connections all feed `counter`. */
export async function listenCounter(host: string, counter: LineCounter): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let total = 0;
  const srv = net.createServer((sock) => {
    total++;
    sockets.add(sock);
    // as connectCounter's client: reads into one reused 1 MiB buffer, so both peers' counting ends cost the same
    const feed = counter.feeder();
    const buffer = Buffer.allocUnsafe(1 << 20);
    if (!readInto(sock, buffer, feed)) sock.on('data', feed);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, () => resolve());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    connections: () => total,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- SSE

export interface SseOptions {
  token?: string;
  agent?: http.Agent;
  /**
   * Called with each `data:` payload and the wall-clock ms its chunk arrived.
   * Without it the client only counts events (the fan-out's `http` kind;
   * its default clients are bench/sse-fleet.ts's byte-scanning sockets).
   */
  onData?: (data: string, recvAt: number) => void;
}

const EVENT_LOG = Buffer.from('event: log\n');
const EVENT_GAP = Buffer.from('event: gap\n');

/**
 * Count `marker` occurrences in a stream of chunks without concatenating
 * them: whole matches inside each chunk, plus the ones spanning the previous
 * chunk's tail and this chunk's head (a tail shorter than the marker cannot
 * hold a whole match, so every match in tail+head spans the boundary).
 */
function markerCounter(marker: Buffer): (chunk: Buffer) => number {
  const keep = marker.length - 1;
  let tail: Buffer | null = null;
  return (chunk) => {
    let n = 0;
    if (tail) {
      const joint = Buffer.concat([tail, chunk.subarray(0, keep)]);
      if (joint.indexOf(marker) !== -1) n++;
    }
    let i = chunk.indexOf(marker);
    while (i !== -1) {
      n++;
      i = chunk.indexOf(marker, i + marker.length);
    }
    tail = chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([tail ?? Buffer.alloc(0), chunk]).subarray(-keep);
    return n;
  };
}

export class SseClient {
  status = 0;
  events = 0;
  gaps = 0;
  bytes = 0;
  error: string | null = null;
  ended = false;
  readonly ready: Promise<void>;
  #req: http.ClientRequest;

  constructor(url: string, opts: SseOptions = {}) {
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    this.ready.catch(() => {});
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    this.#req = http.get(url, { agent: opts.agent, headers }, (res) => {
      this.status = res.statusCode ?? 0;
      if (this.status !== 200) {
        this.error = `HTTP ${this.status}`;
        res.resume();
        rejectReady(new Error(`SSE ${url}: HTTP ${this.status}`));
        return;
      }
      resolveReady();
      if (opts.onData) {
        const onData = opts.onData;
        let carry = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const t = nowMs();
          this.bytes += chunk.length;
          const text = carry + chunk;
          let start = 0;
          let nl = text.indexOf('\n');
          while (nl !== -1) {
            if (text.startsWith('data: ', start)) {
              this.events++;
              onData(text.slice(start + 6, nl), t);
            } else if (text.startsWith('event: gap', start)) {
              this.gaps++;
            }
            start = nl + 1;
            nl = text.indexOf('\n', start);
          }
          carry = text.slice(start);
        });
      } else {
        const countLog = markerCounter(EVENT_LOG);
        const countGap = markerCounter(EVENT_GAP);
        res.on('data', (chunk: Buffer) => {
          this.bytes += chunk.length;
          this.events += countLog(chunk);
          this.gaps += countGap(chunk);
        });
      }
      res.on('end', () => (this.ended = true));
      res.on('error', (e) => (this.error ??= e.message));
    });
    this.#req.on('error', (e) => {
      this.error ??= e.message;
      rejectReady(e);
    });
  }

  close(): void {
    this.#req.destroy();
  }
}

/**
 * A throughput run's clock: hard-link the cached dataset `src` to the watched
 * path `dst` (instant, same inode) and wait until `counter` has every line,
 * nothing came for 10 s, or 30 min passed; the counting thread runs at the
 * measuring priority meanwhile. `t0` is when the file appeared.
 */
export async function timeLinkedFile(
  counter: LineCounter,
  o: { src: string; dst: string; announce: () => void; onTick?: () => void },
): Promise<{ t0: number; outcome: 'complete' | 'idle' | 'timeout' }> {
  return atMeasuringPriority(async () => {
    const t0 = nowMs();
    linkSync(o.src, o.dst);
    o.announce();
    const outcome = await counter.waitDone({ idleMs: 10_000, startMs: 30_000, timeoutMs: 30 * 60_000, onTick: o.onTick });
    return { t0, outcome };
  });
}
