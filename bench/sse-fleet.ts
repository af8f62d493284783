/**
 * A fleet of count-only SSE clients in a child process, for the fan-out
 * bench (10,000 clients). The parent (bench/scenarios.ts, `sluiceFanout`)
 * forks one or more of these with an IPC channel and drives them with
 * messages; counts come back as typed arrays (advanced serialization).
 *
 * Why a child process and why so bare: at 1,000 lines/s every client is
 * offered 1,000 events/s, 10⁷ events/s (~4 GB/s) for 10,000 clients, far
 * more than two cores can move over loopback. The clients read as fast as
 * they can and the daemon drops what they cannot take with `gap` notices (its
 * designed behaviour). A client that costs a lot per read starves everything
 * else in its process: with the clients in the bench's own process the
 * writer's timer and the opening of new connections stalled for minutes.
 * So here:
 *
 * - plain `net` sockets, a hand-written `GET` (HTTP/1.1, the daemon's
 *   Bearer token), no HTTP parser: the status is read from the first line of
 *   the head and the body is scanned as bytes (chunked framing included;
 *   chunk-size lines cannot contain the marker);
 * - `onread` with one shared scratch buffer: no Buffer allocated per read,
 *   no stream machinery, nothing retained (the head is copied only while
 *   incomplete, once per client); a turn of the event loop reads a bounded
 *   amount (`withinTurn`), so IPC, timers and new connections keep moving;
 * - per client only numbers, in typed arrays indexed by client;
 * - records are counted by the marker `\nevent: ` (newlines never occur inside
 *   an SSE data line, JSON escapes them) and the byte after it: `l` = a record
 *   (`event: log`), `g` = a gap notice, whose `{"missed":N}` is read when it
 *   lies in the same read; a marker split across reads is carried as the
 *   length of its matched prefix;
 * - connections are opened with at most `concurrency` in flight (connecting
 *   or waiting for the response head), so the daemon's accept queue (backlog
 *   511) is never overrun; every failure is counted by reason.
 *
 * `BENCH_FANOUT_CLIENT=http` uses node:http clients (bench/clients.ts
 * SseClient) instead, for comparison.
 *
 * Messages in: {cmd:'open', url, token, count, concurrency, timeoutMs, kind},
 * {cmd:'mark'}, {cmd:'report'}, {cmd:'close'}. Out: {type:'ready'},
 * {type:'progress', ...}, {type:'opened', ...}, {type:'marked'},
 * {type:'report', ...}.
 */

import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { SseClient } from './clients.js';

const NL = 10;
const MARK = Buffer.from('\nevent: ');
const ML = MARK.length; // 8
const L = 'l'.charCodeAt(0);
const G = 'g'.charCodeAt(0);
// after the `g`: `ap\ndata: {"missed":` then the digits
const GAP_DIGITS_AT = 1 + 'ap\ndata: {"missed":'.length;
const HEAD_END = Buffer.from('\r\n\r\n');

// client states (0: not started)
const CONNECTING = 1; // TCP connect or waiting for the head
const OPEN = 2;
const FAILED = 3; // never answered 200
const LOST = 4; // answered 200, then closed or errored

export interface FleetOpenMsg {
  cmd: 'open';
  url: string;
  token: string;
  count: number;
  concurrency: number;
  timeoutMs: number;
  kind: 'raw' | 'http';
}

export interface FleetOpened {
  type: 'opened';
  requested: number;
  opened: number;
  failed: number;
  ms: number;
  /** Time from each client's connect to its response head, ms: p50, p90, p99, max. */
  headMs: { p50: number; p90: number; p99: number; max: number };
  errors: Record<string, number>;
  /** Largest event-loop delay while opening, ms. */
  loopDelayMaxMs: number;
}

export interface FleetReport {
  type: 'report';
  /** Clients still open (answered 200, no close or error since). */
  open: number;
  failed: number;
  lost: number;
  /** Per client, over the window since `mark`. */
  events: Float64Array;
  gaps: Float64Array;
  missed: Float64Array;
  /** Gap notices whose missed count was split across reads (not in `missed`). */
  gapsUnparsed: number;
  bytes: number;
  eventsTotal: number;
  windowMs: number;
  /** This process's CPU seconds (user + system) over the window. */
  cpuS: number;
  /** Largest event-loop delay over the window, ms. */
  loopDelayMaxMs: number;
  errors: Record<string, number>;
}

const send = (m: unknown): void => {
  process.send?.(m);
};

let state = new Uint8Array(0);
let events = new Float64Array(0);
let gaps = new Float64Array(0);
let missed = new Float64Array(0);
let partial = new Uint8Array(0);
let startedAt = new Float64Array(0);
let markEvents = new Float64Array(0);
let markGaps = new Float64Array(0);
let markMissed = new Float64Array(0);
let bytesTotal = 0;
let markBytes = 0;
let gapsUnparsed = 0;
let markGapsUnparsed = 0;
let markAt = 0;
let markCpu = process.cpuUsage();
const errors: Record<string, number> = {};
const closers: (() => void)[] = [];
const httpClients: SseClient[] = [];
let loopDelayMax = 0;

const countError = (why: string): void => {
  errors[why] = (errors[why] ?? 0) + 1;
};

/** Scan `buf[from, n)` of client `i` for records and gap notices. */
function scan(i: number, buf: Buffer, from: number, n: number): void {
  let pos = from;
  let p = partial[i];
  if (p > 0) {
    // continue a marker whose first p bytes ended the previous read
    while (p < ML && pos < n && buf[pos] === MARK[p]) {
      p++;
      pos++;
    }
    if (pos === n) {
      partial[i] = p;
      return;
    }
    if (p === ML) {
      const t = buf[pos];
      if (t === L) events[i]++;
      else if (t === G) {
        gaps[i]++;
        gapsUnparsed++;
      }
      pos++;
    }
    // else: mismatch at pos; MARK has one '\n' (its first byte), so nothing before pos can start a marker
    partial[i] = 0;
  }
  for (;;) {
    const j = buf.indexOf(MARK, pos);
    if (j === -1 || j + ML >= n) break; // beyond this read (the scratch buffer holds stale bytes past n), or no type byte yet
    const t = buf[j + ML];
    if (t === L) events[i]++;
    else if (t === G) {
      gaps[i]++;
      let d = j + ML + GAP_DIGITS_AT;
      let v = 0;
      let digits = 0;
      while (d < n) {
        const c = buf[d] - 48;
        if (c < 0 || c > 9) break;
        v = v * 10 + c;
        digits++;
        d++;
      }
      if (digits > 0 && d < n) missed[i] += v;
      else gapsUnparsed++;
    }
    pos = j + ML + 1;
  }
  // a marker prefix (or a whole marker without its type byte) at the end of this read
  // (MARK's only '\n' is its first byte, so such a suffix starts at the read's last '\n')
  const k = buf.lastIndexOf(NL, n - 1);
  if (k !== -1 && k >= from && k > n - 1 - ML) {
    let m = 1;
    while (k + m < n && buf[k + m] === MARK[m]) m++;
    if (k + m === n) partial[i] = m;
  }
}

/**
 * Share one event-loop turn fairly. libuv reads a readable socket until it is
 * empty (up to 32 reads per wake-up), so with thousands of sockets full of
 * data one turn read gigabytes and took seconds: IPC messages, timers and new
 * connections waited that long. Past TURN_BYTES in a turn a socket that read
 * is paused (onread returns false) and resumed after the poll phase, so a
 * turn reads at most TURN_BYTES plus one read per readable socket.
 */
const TURN_BYTES = 8 * 1024 * 1024;
let turnBytes = 0;
let paused: net.Socket[] = [];
let resumeQueued = false;
const resumePaused = (): void => {
  resumeQueued = false;
  turnBytes = 0;
  const list = paused;
  paused = [];
  for (const s of list) if (!s.destroyed) s.resume();
};
function withinTurn(sock: net.Socket, n: number): boolean {
  turnBytes += n;
  if (turnBytes <= TURN_BYTES) return true;
  paused.push(sock);
  if (!resumeQueued) {
    resumeQueued = true;
    setImmediate(resumePaused);
  }
  return false;
}

function openRaw(i: number, url: URL, request: Buffer, scratch: Buffer, done: (ok: boolean) => void): void {
  let head: Buffer | null = null;
  let settled = false;
  const settle = (ok: boolean, why?: string): void => {
    if (settled) return;
    settled = true;
    if (!ok) {
      state[i] = FAILED;
      countError(why ?? 'unknown');
    }
    done(ok);
  };
  const sock = net.connect({
    host: url.hostname,
    port: Number(url.port),
    onread: {
      buffer: scratch,
      callback: (n: number, buf: Buffer): boolean => {
        bytesTotal += n;
        if (state[i] === OPEN) {
          scan(i, buf, 0, n);
          return withinTurn(sock, n);
        }
        // the response head: usually whole in the first read, with `retry:` and `: connected`
        let b: Buffer = buf;
        let len = n;
        if (head) {
          head = Buffer.concat([head, buf.subarray(0, n)]);
          b = head;
          len = head.length;
        }
        const end = b.subarray(0, len).indexOf(HEAD_END);
        if (end === -1) {
          if (!head) head = Buffer.from(buf.subarray(0, n));
          if (head.length > 16384) {
            settle(false, 'response head too long');
            sock.destroy();
          }
          return true;
        }
        // "HTTP/1.1 200 "
        const status = len >= 12 && b[0] === 72 ? Number(b.toString('latin1', 9, 12)) : 0;
        if (status !== 200) {
          settle(false, `HTTP ${status || 'unreadable'}`);
          sock.destroy();
          return true;
        }
        state[i] = OPEN;
        settle(true);
        // the body so far (from a copied head it is scanned in that copy)
        scan(i, b, end + 4, len);
        head = null;
        return true;
      },
    },
  });
  sock.on('connect', () => {
    sock.setNoDelay(true);
    sock.write(request);
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    if (state[i] === OPEN) {
      state[i] = LOST;
      countError(`after open: ${e.code ?? e.message}`);
    } else settle(false, e.code ?? e.message);
  });
  sock.on('close', () => {
    if (state[i] === OPEN) {
      state[i] = LOST;
      countError('after open: closed by the daemon');
    } else settle(false, 'closed before the head');
  });
  closers[i] = () => {
    sock.removeAllListeners('close');
    sock.removeAllListeners('error');
    sock.on('error', () => {});
    sock.destroy();
  };
}

function openHttp(i: number, url: string, token: string, agent: http.Agent, done: (ok: boolean) => void): void {
  const c = new SseClient(url, { token, agent });
  httpClients[i] = c;
  c.ready.then(
    () => {
      state[i] = OPEN;
      done(true);
    },
    (e: Error) => {
      state[i] = FAILED;
      countError(c.error ?? e.message);
      done(false);
    },
  );
  closers[i] = () => c.close();
}

async function open(m: FleetOpenMsg): Promise<void> {
  const n = m.count;
  state = new Uint8Array(n);
  events = new Float64Array(n);
  gaps = new Float64Array(n);
  missed = new Float64Array(n);
  partial = new Uint8Array(n);
  startedAt = new Float64Array(n);
  const url = new URL(m.url);
  const request = Buffer.from(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${m.token}\r\n\r\n`,
    'latin1',
  );
  const scratch = Buffer.allocUnsafe(64 * 1024);
  const agent = new http.Agent({ keepAlive: false, maxSockets: n + 100, maxTotalSockets: n + 100 });
  const t0 = performance.now();
  loopDelayMax = 0;
  const headMs = new Float64Array(n);
  const settled = new Uint8Array(n);
  let next = 0;
  let inflight = 0;
  let opened = 0;
  let failed = 0;
  let lastProgress = t0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < next; i++) {
        if (state[i] === CONNECTING && !settled[i] && now - startedAt[i] > m.timeoutMs) {
          settled[i] = 1;
          closers[i]?.();
          state[i] = FAILED;
          countError(`no 200 within ${m.timeoutMs} ms`);
          failed++;
          inflight--;
        }
      }
      if (opened + failed === n) finish();
      else pump();
    }, 500);
    const finish = (): void => {
      clearInterval(timer);
      resolve();
    };
    const pump = (): void => {
      while (inflight < m.concurrency && next < n) {
        const i = next++;
        inflight++;
        state[i] = CONNECTING;
        startedAt[i] = performance.now();
        const done = (ok: boolean): void => {
          if (settled[i]) return;
          settled[i] = 1;
          if (ok) {
            headMs[opened] = performance.now() - startedAt[i];
            opened++;
          } else failed++;
          inflight--;
          const now = performance.now();
          if (now - lastProgress > 1000) {
            lastProgress = now;
            send({ type: 'progress', opened, failed, inflight });
          }
          if (opened + failed === n) finish();
          else pump();
        };
        if (m.kind === 'http') openHttp(i, m.url, m.token, agent, done);
        else openRaw(i, url, request, scratch, done);
      }
      if (n === 0) finish();
    };
    pump();
  });
  const h = headMs.subarray(0, opened).sort();
  const q = (p: number): number => (h.length ? h[Math.min(h.length - 1, Math.ceil(p * h.length) - 1)] : NaN);
  const msg: FleetOpened = { type: 'opened', requested: n, opened, failed, ms: performance.now() - t0, headMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) }, errors: { ...errors }, loopDelayMaxMs: loopDelayMax };
  send(msg);
}

function liveEvents(): Float64Array {
  if (httpClients.length === 0) return events;
  const e = new Float64Array(state.length);
  for (let i = 0; i < state.length; i++) e[i] = httpClients[i]?.events ?? 0;
  return e;
}

function liveGaps(): Float64Array {
  if (httpClients.length === 0) return gaps;
  const g = new Float64Array(state.length);
  for (let i = 0; i < state.length; i++) g[i] = httpClients[i]?.gaps ?? 0;
  return g;
}

function mark(): void {
  markEvents = liveEvents().slice();
  markGaps = liveGaps().slice();
  markMissed = missed.slice();
  markBytes = httpClients.length ? httpClients.reduce((s, c) => s + (c?.bytes ?? 0), 0) : bytesTotal;
  markGapsUnparsed = gapsUnparsed;
  markAt = performance.now();
  markCpu = process.cpuUsage();
  loopDelayMax = 0;
  send({ type: 'marked' });
}

function report(): void {
  const n = state.length;
  const ev = liveEvents();
  const gp = liveGaps();
  const dEvents = new Float64Array(n);
  const dGaps = new Float64Array(n);
  const dMissed = new Float64Array(n);
  let total = 0;
  let open = 0;
  let failed = 0;
  let lost = 0;
  for (let i = 0; i < n; i++) {
    dEvents[i] = ev[i] - (markEvents[i] ?? 0);
    dGaps[i] = gp[i] - (markGaps[i] ?? 0);
    dMissed[i] = missed[i] - (markMissed[i] ?? 0);
    total += dEvents[i];
    let s = state[i];
    const hc = httpClients[i];
    if (hc && s === OPEN && (hc.error || hc.ended)) s = LOST;
    if (s === OPEN) open++;
    else if (s === FAILED) failed++;
    else if (s === LOST) lost++;
  }
  const cpu = process.cpuUsage(markCpu);
  const bytes = httpClients.length ? httpClients.reduce((s, c) => s + (c?.bytes ?? 0), 0) : bytesTotal;
  const msg: FleetReport = {
    type: 'report',
    open,
    failed,
    lost,
    events: dEvents,
    gaps: dGaps,
    missed: dMissed,
    gapsUnparsed: gapsUnparsed - markGapsUnparsed,
    bytes: bytes - markBytes,
    eventsTotal: total,
    windowMs: performance.now() - markAt,
    cpuS: (cpu.user + cpu.system) / 1e6,
    loopDelayMaxMs: loopDelayMax,
    errors: { ...errors },
  };
  send(msg);
}

function closeAll(): void {
  for (const c of closers) c?.();
  setTimeout(() => process.exit(0), 50);
}

// event-loop delay: a 100 ms tick that notes how late it ran
{
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    loopDelayMax = Math.max(loopDelayMax, now - last - 100);
    last = now;
  }, 100).unref();
}

if (process.send) process.on('message', (m: { cmd: string } & Partial<FleetOpenMsg>) => {
  if (m.cmd === 'open') void open(m as FleetOpenMsg);
  else if (m.cmd === 'mark') mark();
  else if (m.cmd === 'report') report();
  else if (m.cmd === 'close') closeAll();
});
// the parent died or closed the channel: nothing left to count for
if (process.send) {
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid });
}

/** Count records and gap notices in `chunks` as one client's reads would (a self-check of `scan`; bench/sse-fleet.check.ts). */
export function countChunks(chunks: Buffer[]): { events: number; gaps: number; missed: number; gapsUnparsed: number } {
  events = new Float64Array(1);
  gaps = new Float64Array(1);
  missed = new Float64Array(1);
  partial = new Uint8Array(1);
  gapsUnparsed = 0;
  const scratch = Buffer.alloc(64 * 1024, 'event: log\n');
  for (const c of chunks) {
    c.copy(scratch);
    scan(0, scratch, 0, c.length);
  }
  return { events: events[0], gaps: gaps[0], missed: missed[0], gapsUnparsed };
}
