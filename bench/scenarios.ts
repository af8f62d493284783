/**
 * The three Sluice measurements, each against its own fresh daemon:
 * throughput (file -> parse -> TCP stream), latency (append -> SSE) and
 * memory under fan-out (RSS with 10,000 SSE clients). Every function cleans up
 * what it started in `finally`; results are plain objects for results.json.
 */

import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { LineCounter, SseClient, connectCounter, timeLinkedFile, type VerifyReport } from './clients.js';
import { renderLine, sampleTemplates, type Dataset } from './gen.js';
import { runDirFor, startSluice, sluiceOutputTail, TOKEN, type SluiceHandle } from './sluice.js';
import { MiB, nowMs, percentile, sleep } from './util.js';

type Log = (s: string) => void;

async function statusOf(h: SluiceHandle): Promise<unknown> {
  try {
    return await h.getJson('/api/status');
  } catch (e) {
    return { error: (e as Error).message };
  }
}

// ---------------------------------------------------------------- throughput

export interface ThroughputResult {
  file: string;
  fileBytes: number;
  expectedLines: number;
  deliveredLines: number;
  deliveredBytes: number;
  outcome: 'complete' | 'idle' | 'timeout';
  wallS: number;
  /** From the hard link to the first record on the TCP stream (file discovery + first read). */
  firstRecordMs: number;
  mibPerS: number;
  linesPerS: number;
  peakRssMB: number;
  /** CPU seconds the daemon used for the run, and per GiB of input. */
  cpuS: number;
  cpuSPerGiB: number;
  loadavg1AtEnd: number;
  verify: VerifyReport | null;
  status: unknown;
}

/** The throughput run's replay ring (records); the TCP client may lag this far. */
const THROUGHPUT_REPLAY = Number(process.env.BENCH_THROUGHPUT_REPLAY ?? 10_000);

/**
 * Sluice reads the dataset from the start and a counting client on the
 * stream's TCP port waits for every record. The daemon starts on a path that
 * does not exist yet and the client connects first; then the cached file is
 * hard-linked in (instant, same inode) and the clock starts, so no record is
 * published before anyone listens and start-up is not timed.
 */
/**
 * The bench's transforms case (`--only transforms`): the same file -> TCP run with a
 * source that extracts, redacts and dedupes. Every bench line is unique, so dedupe
 * passes them all while keeping (and evicting from) its max_keys of state: the cost
 * without the saving.
 */
export const TRANSFORMS_TOML = `
[[sources.transforms]]
type = "extract"
into = "client"
from = [{ field = "fields.client_ip" }, { field = "message", matches = '(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }]

[[sources.transforms]]
type = "redact"
matches = ['password=\\S+', 'token=\\S+']

[[sources.transforms]]
type = "dedupe"
keys = ["message"]
window = "60s"
`;

export async function sluiceThroughput(ds: Dataset, opts: { verify: boolean; log: Log; transforms?: boolean }): Promise<ThroughputResult> {
  const runDir = runDirFor(opts.transforms ? 'transforms' : 'throughput');
  const inDir = path.join(runDir, 'in');
  mkdirSync(inDir, { recursive: true });
  const file = path.join(inDir, 'mixed.log');
  // A TCP client may lag as far as the ring reaches (then it is dropped with a gap, CONTRACT.md): the
  // default 10,000 records are ~16 ms at full speed, little slack for the counting client, which shares
  // the 2 cores with the daemon (a run that lost records says so: "idle", records delivered FAIL).
  // BENCH_THROUGHPUT_REPLAY sets another size; 100,000 measured 11% slower (ring entries outlive the
  // young generation and are copied and promoted by the GC).
  const h = await startSluice({ label: 'throughput', runDir, paths: [file], from: 'start', tcp: true, replay: THROUGHPUT_REPLAY, ...(opts.transforms ? { sourceToml: TRANSFORMS_TOML } : {}) });
  let sock: net.Socket | null = null;
  let ok = false;
  try {
    const counter = new LineCounter({ target: ds.lines, verify: opts.verify });
    sock = await connectCounter('127.0.0.1', h.tcpPort!, counter);
    await sleep(300);
    let peakRss = h.rss().total;
    const cpu0 = h.cpu();
    let warned = false;
    const { t0, outcome } = await timeLinkedFile(counter, {
      src: ds.path,
      dst: file,
      announce: () => opts.log(`sluice: reading ${(ds.bytes / MiB).toFixed(0)} MiB, ${ds.lines.toLocaleString('en-US')} lines`),
      onTick: () => {
        peakRss = Math.max(peakRss, h.rss().total);
        if (!h.isRunning() && !warned) {
          warned = true;
          opts.log(`sluice exited during the run:\n${sluiceOutputTail(h)}`);
        }
      },
    });
    const cpuS = h.cpu() - cpu0;
    const end = outcome === 'complete' ? counter.doneAt : counter.lastAt || nowMs();
    const wallS = (end - t0) / 1000;
    ok = outcome === 'complete';
    return {
      file: ds.path,
      fileBytes: ds.bytes,
      expectedLines: ds.lines,
      deliveredLines: counter.lines,
      deliveredBytes: counter.bytes,
      outcome,
      wallS,
      firstRecordMs: counter.firstAt ? counter.firstAt - t0 : NaN,
      mibPerS: ds.bytes / MiB / wallS,
      linesPerS: counter.lines / wallS,
      peakRssMB: peakRss / 1e6,
      cpuS,
      cpuSPerGiB: cpuS / (ds.bytes / 2 ** 30),
      loadavg1AtEnd: os.loadavg()[0],
      verify: counter.verifyReport(),
      status: await statusOf(h),
    };
  } finally {
    sock?.destroy();
    await h.stop(!ok);
  }
}

// ---------------------------------------------------------------- latency

export interface LatencyResult {
  rateLinesPerS: number;
  seconds: number;
  burstEveryMs: number;
  written: number;
  received: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  minMs: number;
  meanMs: number;
  gaps: number;
  status: unknown;
}

/**
 * Appends `rate` plain lines per second (`lat <epoch ms> <n> ...`, a burst
 * every ~10 ms, one write() per burst) to a file Sluice tails, while an SSE
 * client subscribed to the stream takes receive time - write time from each
 * record. Writer and reader share this process, hence one clock.
 */
export async function sluiceLatency(opts: { rate: number; seconds: number; log: Log }): Promise<LatencyResult> {
  const runDir = runDirFor('latency');
  mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, 'latency.log');
  writeFileSync(file, '');
  const h = await startSluice({ label: 'latency', runDir, paths: [file], from: 'start', tcp: false });
  const expected = Math.ceil(opts.rate * opts.seconds);
  const samples = new Float64Array(expected + 1024);
  let n = 0;
  const re = /lat (\d+(?:\.\d+)?) (\d+)/;
  let sse: SseClient | null = null;
  let fd = -1;
  let ok = false;
  try {
    sse = new SseClient(h.sseUrl, {
      token: TOKEN,
      onData: (data, recvAt) => {
        const m = re.exec(data);
        if (m && n < samples.length) samples[n++] = recvAt - Number(m[1]);
      },
    });
    await sse.ready;
    await sleep(500);
    fd = openSync(file, 'a');
    opts.log(`latency: ${opts.rate} lines/s for ${opts.seconds} s`);
    const burstEveryMs = 10;
    const start = nowMs();
    let written = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const t = nowMs();
        const due = Math.min(expected, Math.floor(((t - start) / 1000) * opts.rate));
        if (due > written) {
          let s = '';
          const stamp = nowMs().toFixed(3);
          for (let i = written + 1; i <= due; i++) s += `lat ${stamp} ${i} latency probe from the bench writer\n`;
          writeSync(fd, s);
          written = due;
        }
        if (written >= expected) return resolve();
        // Drift-corrected: aim at the next 10 ms boundary from the start.
        const next = start + Math.ceil((nowMs() - start + 0.01) / burstEveryMs) * burstEveryMs;
        setTimeout(tick, Math.max(0, next - nowMs()));
      };
      tick();
    });
    const waitEnd = Date.now() + 5000;
    while (n < written && Date.now() < waitEnd) await sleep(20);
    ok = n >= written;
    const sorted = Float64Array.from(samples.subarray(0, n)).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      rateLinesPerS: opts.rate,
      seconds: opts.seconds,
      burstEveryMs,
      written,
      received: n,
      p50Ms: percentile(sorted, 50),
      p90Ms: percentile(sorted, 90),
      p99Ms: percentile(sorted, 99),
      p999Ms: percentile(sorted, 99.9),
      maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
      minMs: sorted.length ? sorted[0] : NaN,
      meanMs: n ? sum / n : NaN,
      gaps: sse.gaps,
      status: await statusOf(h),
    };
  } finally {
    if (fd >= 0) closeSync(fd);
    sse?.close();
    await h.stop(!ok);
  }
}

// ---------------------------------------------------------------- fan-out memory

export interface FanoutResult {
  clients: number;
  /** `raw` (bench/sse-fleet.ts byte-scanning sockets, default) or `http` (node:http SseClient). */
  clientKind: string;
  /** Child processes the clients run in, and the connections each keeps in flight while opening. */
  procs: number;
  concurrency: number;
  /** Answered 200 / failed (never answered 200) when opening finished; failures by reason. */
  opened: number;
  failed: number;
  openErrors: Record<string, number>;
  openMs: number;
  /** Per process: connect to response head, ms. */
  headMs: { p50: number; p90: number; p99: number; max: number }[];
  /** Still open at the end of the window (answered 200, not closed or errored since). */
  connected: number;
  /** Closed or errored after answering 200. */
  lost: number;
  rateLinesPerS: number;
  flowSeconds: number;
  /** The measurement window, s: from sending the marks to receiving the reports (each client process counts over its own mark-to-report span, `clientWindowS`). */
  windowS: number;
  clientWindowS: number[];
  rssBeforeMB: number;
  rssConnectedMB: number;
  /** With all clients connected, after `flowSeconds` of flow: the figure with the target. */
  rssAfterFlowMB: number;
  /** Median of the 250 ms samples in the second half of the window. */
  rssSteadyMB: number;
  /** Peak from the first client opened to the end of the window. */
  rssPeakMB: number;
  /** Lines the writer appended in the whole run, and in the window (an upper bound of what a client could receive in its own window). */
  written: number;
  writtenInWindow: number;
  writerLinesPerS: number;
  /** Records received by all clients together per second of window, and the bytes. */
  deliveredEventsPerS: number;
  deliveredMBps: number;
  /** Records received / (clients x lines written in the window). */
  deliveredFraction: number;
  clientsWithRecords: number;
  /** Records received in the window per client. */
  eventsPerClient: { min: number; p10: number; median: number; max: number };
  clientsWithGaps: number;
  gapNotices: number;
  /** Records the daemon reported as missed in gap notices, all clients; per client median. */
  missedTotal: number;
  missedPerClientMedian: number;
  gapsUnparsed: number;
  /** CPU seconds over the window: the daemon, each client process, the whole machine (busy) and its niced share (e.g. a fuzzer at nice 19). */
  cpu: { windowS: number; daemonS: number; daemonMainThreadS: number; clientsS: number[]; machineBusyS: number; machineNiceS: number; cores: number };
  /** Largest event-loop delay of each client process while opening and over the window, ms. */
  clientLoopDelayMaxMs: { opening: number[]; window: number[] };
  /** GET /healthz once a second: the daemon's responsiveness while the clients opened and over the window, ms. */
  healthzMs: { opening: HealthzStats; window: HealthzStats };
  openUnderFlow: boolean;
  fd: { limitSoft: number; limitHard: number; daemonLimit: number; daemonOpen: number; perProcessNeeded: number };
  loadavg: number[];
  status: unknown;
}

function openFilesLimit(pid: number | 'self'): { soft: number; hard: number } {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line ? /Max open files\s+(\S+)\s+(\S+)/.exec(line) : null;
    const v = (x: string) => (x === 'unlimited' ? Infinity : Number(x));
    return m ? { soft: v(m[1]), hard: v(m[2]) } : { soft: NaN, hard: NaN };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

function openFdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Machine-wide CPU seconds from /proc/stat: busy (all but idle and iowait) and nice. */
function machineCpu(): { busy: number; nice: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal, in USER_HZ (100 on Linux)
    const [user, nice, system, , , irq, softirq, steal] = f;
    return { busy: (user + nice + system + irq + softirq + (steal ?? 0)) / 100, nice: nice / 100 };
  } catch {
    return { busy: NaN, nice: NaN };
  }
}

/** CPU seconds of one thread (user + system). */
function threadCpuSeconds(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

export interface HealthzStats {
  n: number;
  /** Probes with no answer within 10 s. */
  timeouts: number;
  median: number;
  max: number;
}

/** GET /healthz once a second (one at a time): how long the daemon's event loop takes to answer. */
class HealthzProbe {
  #ms: number[] = [];
  #timeouts = 0;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  constructor(private readonly baseUrl: string) {}
  start(): void {
    this.#timer ??= setInterval(() => this.#probe(), 1000);
  }
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
  take(): HealthzStats {
    const s = this.#ms.sort((a, b) => a - b);
    const out = { n: s.length, timeouts: this.#timeouts, median: s.length ? s[Math.floor((s.length - 1) / 2)] : NaN, max: s.length ? s[s.length - 1] : NaN };
    this.#ms = [];
    this.#timeouts = 0;
    return out;
  }
  #probe(): void {
    if (this.#busy) return;
    this.#busy = true;
    const t = nowMs();
    const req = http.get(this.baseUrl + '/healthz', { timeout: 10_000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        this.#ms.push(nowMs() - t);
        this.#busy = false;
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      this.#timeouts++;
      this.#busy = false;
    });
  }
}

interface Fleet {
  child: ChildProcess;
  count: number;
  next(type: string, timeoutMs: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const FLEET_SCRIPT = fileURLToPath(new URL('./sse-fleet.ts', import.meta.url));

/** Fork one sse-fleet.ts child and wait for it to say it is ready. */
async function forkFleet(count: number, onProgress: (m: Record<string, unknown>) => void): Promise<Fleet> {
  const child = fork(FLEET_SCRIPT, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  let exited: string | null = null;
  const failWaiters = () => {
    for (const w of waiters.splice(0)) w.resolve({ type: 'exit', error: `client process exited (${exited})` });
  };
  child.on('message', (m: Record<string, unknown>) => {
    if (m.type === 'progress') return onProgress(m);
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w !== -1) waiters.splice(w, 1)[0].resolve(m);
    else queue.push(m);
  });
  child.on('exit', (code, sig) => {
    exited = String(code ?? sig);
    failWaiters();
  });
  const fleet: Fleet = {
    child,
    count,
    next(type, timeoutMs) {
      const q = queue.findIndex((x) => x.type === type);
      if (q !== -1) return Promise.resolve(queue.splice(q, 1)[0]);
      if (exited !== null) return Promise.resolve({ type: 'exit', error: `client process exited (${exited})` });
      return new Promise((resolve) => {
        const w = { type, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i !== -1) {
            waiters.splice(i, 1);
            resolve({ type: 'timeout', error: `no "${type}" from a client process within ${timeoutMs} ms` });
          }
        }, timeoutMs).unref();
      });
    },
    async stop() {
      if (exited !== null) return;
      try {
        child.send({ cmd: 'close' });
      } catch {
        /* channel gone */
      }
      const done = await Promise.race([new Promise<boolean>((r) => child.once('exit', () => r(true))), sleep(3000).then(() => false)]);
      if (!done) child.kill('SIGKILL');
    },
  };
  const ready = await fleet.next('ready', 30_000);
  if (ready.type !== 'ready') {
    await fleet.stop();
    throw new Error(String(ready.error));
  }
  return fleet;
}

const medianOf = (a: Float64Array | number[]): number => {
  const s = Float64Array.from(a).sort();
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/**
 * A writer appends realistic lines at `rate`/s. RSS is read after 3 s of
 * flow with no client; then `clients` SSE connections are opened from `procs`
 * child processes (bench/sse-fleet.ts), at most `concurrency` in flight at a
 * time, while the flow goes on; once every client has answered or failed,
 * the window starts: `flowSeconds` of flow with all of them connected, RSS
 * sampled every 250 ms, and the figure with the target read at its end. Each
 * client's records and gap notices are counted over the window.
 */
export async function sluiceFanout(opts: { clients: number; rate: number; flowSeconds: number; clientKind: 'raw' | 'http'; procs: number; concurrency: number; openUnderFlow: boolean; log: Log }): Promise<FanoutResult> {
  const procs = Math.max(1, Math.min(opts.procs, opts.clients || 1));
  const shares = Array.from({ length: procs }, (_, k) => Math.floor(opts.clients / procs) + (k < opts.clients % procs ? 1 : 0));
  // Node raises its soft RLIMIT_NOFILE to the hard limit at start-up, so the hard limit is what every process (the daemon, each client process) gets.
  const lim = openFilesLimit('self');
  const daemonNeeds = opts.clients + 200;
  const clientNeeds = Math.max(...shares) + 100;
  if (lim.hard < Math.max(daemonNeeds, clientNeeds)) {
    throw new Error(
      `open-files limit too low: hard ${lim.hard} (soft ${lim.soft}); the daemon needs ~${daemonNeeds} fds for ${opts.clients} clients and each of the ${procs} client processes ~${clientNeeds}. ` +
        `Raise it (as root: ulimit -Hn ${daemonNeeds + 1000}; or prlimit --nofile=${daemonNeeds + 1000} --pid $$) or lower BENCH_FANOUT_CLIENTS`,
    );
  }
  const runDir = runDirFor('fanout');
  mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, 'fanout.log');
  writeFileSync(file, '');
  const h = await startSluice({ label: 'fanout', runDir, paths: [file], from: 'start', tcp: false });
  const daemonLim = openFilesLimit(h.pid);
  const fleets: Fleet[] = [];
  const templates = sampleTemplates(2000);
  const fd = openSync(file, 'a');
  let written = 0;
  let timer: NodeJS.Timeout | null = null;
  let sampler: NodeJS.Timeout | null = null;
  let ok = false;
  // the writer: `rate` lines/s from (base, baseWritten); pausing it and starting again does not make up for the pause
  let base = 0;
  let baseWritten = 0;
  const write = () => {
    const due = baseWritten + Math.floor(((nowMs() - base) / 1000) * opts.rate);
    if (due > written) {
      let s = '';
      for (let i = written + 1; i <= due; i++) s += renderLine(templates[i % templates.length], i) + '\n';
      writeSync(fd, s);
      written = due;
    }
  };
  const startWriter = () => {
    base = nowMs();
    baseWritten = written;
    timer ??= setInterval(write, 10);
  };
  const stopWriter = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  const healthz = new HealthzProbe(h.baseUrl);
  try {
    if (daemonLim.soft < daemonNeeds) throw new Error(`the daemon's open-files limit is ${daemonLim.soft} (needs ~${daemonNeeds} for ${opts.clients} clients)`);
    // the client processes start before the flow, so their start-up is not in any figure
    const progress = new Array<Record<string, unknown>>(procs).fill({});
    for (let k = 0; k < procs; k++) fleets.push(await forkFleet(shares[k], (m) => (progress[k] = m)));
    startWriter();
    await sleep(3000);
    const rssBefore = h.rss().total;
    let peak = rssBefore;
    const samples: { t: number; rss: number }[] = [];
    sampler = setInterval(() => {
      const r = h.rss().total;
      peak = Math.max(peak, r);
      samples.push({ t: nowMs(), rss: r });
    }, 250);
    // Opening 10,000 clients while every open one is offered 1,000 records/s is another test (the daemon's accept
    // path under full load: see bench/README.md); by default the flow pauses while the clients open.
    if (!opts.openUnderFlow) stopWriter();
    opts.log(
      `fan-out: RSS before clients ${(rssBefore / 1e6).toFixed(1)} MB at ${opts.rate} lines/s; opening ${opts.clients} SSE clients (${opts.clientKind}) from ${procs} process(es), ${opts.concurrency} in flight, ` +
        (opts.openUnderFlow ? 'flow on' : 'flow paused'),
    );
    healthz.start();
    const t0 = nowMs();
    const perProc = Math.max(1, Math.ceil(opts.concurrency / procs));
    fleets.forEach((f, k) => f.child.send({ cmd: 'open', url: h.sseUrl, token: TOKEN, count: shares[k], concurrency: perProc, timeoutMs: 30_000, kind: opts.clientKind }));
    const tick = setInterval(() => {
      const o = progress.reduce((n, p) => n + Number(p.opened ?? 0), 0);
      const fl = progress.reduce((n, p) => n + Number(p.failed ?? 0), 0);
      opts.log(`fan-out: opening... ${o} open, ${fl} failed after ${((nowMs() - t0) / 1000).toFixed(1)} s; daemon RSS ${(h.rss().total / 1e6).toFixed(0)} MB`);
      if (!h.isRunning()) opts.log('fan-out: the daemon is gone');
    }, 5000);
    const openTimeout = 60_000 + Math.ceil(opts.clients / Math.max(1, opts.concurrency)) * 30_000;
    const openedMsgs = await Promise.all(fleets.map((f) => f.next('opened', openTimeout))).finally(() => clearInterval(tick));
    const openMs = nowMs() - t0;
    for (const m of openedMsgs) if (m.type !== 'opened') throw new Error(String(m.error));
    const opened = openedMsgs.reduce((n, m) => n + Number(m.opened), 0);
    const failed = openedMsgs.reduce((n, m) => n + Number(m.failed), 0);
    const openErrors: Record<string, number> = {};
    for (const m of openedMsgs) for (const [k, v] of Object.entries(m.errors as Record<string, number>)) openErrors[k] = (openErrors[k] ?? 0) + v;
    const rssConnected = h.rss().total;
    const healthzOpening = healthz.take();
    opts.log(
      `fan-out: ${opened}/${opts.clients} open, ${failed} failed in ${(openMs / 1000).toFixed(2)} s${failed ? ` (${JSON.stringify(openErrors)})` : ''}; RSS ${(rssConnected / 1e6).toFixed(1)} MB; ${opts.flowSeconds} s of flow at ${opts.rate} lines/s`,
    );

    // the flow (again), 3 s to settle, then the window
    startWriter();
    await sleep(3000);
    // A client process busy reading may answer a message late (its event loop handles thousands of readable
    // sockets per turn), so each counts over its own window (mark to report), and the lines written are
    // taken from before the marks were sent to after the reports came back.
    const written0 = written;
    const w0 = nowMs();
    const marked = await Promise.all(fleets.map((f) => (f.child.send({ cmd: 'mark' }), f.next('marked', 30_000))));
    for (const m of marked) if (m.type !== 'marked') throw new Error(String(m.error));
    const cpuDaemon0 = h.cpu();
    const cpuMain0 = threadCpuSeconds(h.pid, h.pid);
    const mach0 = machineCpu();
    await sleep(opts.flowSeconds * 1000);
    const rssAfter = h.rss().total;
    peak = Math.max(peak, rssAfter);
    const reports = await Promise.all(fleets.map((f) => (f.child.send({ cmd: 'report' }), f.next('report', 30_000))));
    const w1 = nowMs();
    const writtenInWindow = written - written0;
    const cpuDaemon = h.cpu() - cpuDaemon0;
    const cpuMain = threadCpuSeconds(h.pid, h.pid) - cpuMain0;
    const healthzWindow = healthz.take();
    const mach1 = machineCpu();
    for (const r of reports) if (r.type !== 'report') throw new Error(String(r.error));
    const status = await statusOf(h); // clients still connected, flow still on
    stopWriter();
    healthz.stop();
    clearInterval(sampler);
    sampler = null;

    const windowS = (w1 - w0) / 1000;
    const ev = new Float64Array(opts.clients);
    const miss = new Float64Array(opts.clients);
    let off = 0;
    let gapNotices = 0;
    let clientsWithGaps = 0;
    let gapsUnparsed = 0;
    let perS = 0;
    let bytesPerS = 0;
    for (const r of reports) {
      const e = r.events as Float64Array;
      const g = r.gaps as Float64Array;
      ev.set(e, off);
      miss.set(r.missed as Float64Array, off);
      off += e.length;
      for (const x of g) {
        gapNotices += x;
        if (x > 0) clientsWithGaps++;
      }
      gapsUnparsed += Number(r.gapsUnparsed);
      const ws = Number(r.windowMs) / 1000;
      perS += Number(r.eventsTotal) / ws;
      bytesPerS += Number(r.bytes) / ws;
    }
    const sorted = Float64Array.from(ev).sort();
    const total = ev.reduce((a, b) => a + b, 0);
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : 0);
    const half = samples.filter((x) => x.t >= w0 + (w1 - w0) / 2).map((x) => x.rss);
    const connected = reports.reduce((n, r) => n + Number(r.open), 0);
    ok = connected === opts.clients;
    const result: FanoutResult = {
      clients: opts.clients,
      clientKind: opts.clientKind,
      procs,
      concurrency: opts.concurrency,
      opened,
      failed,
      openErrors,
      openMs,
      headMs: openedMsgs.map((m) => m.headMs as FanoutResult['headMs'][number]),
      connected,
      lost: reports.reduce((n, r) => n + Number(r.lost), 0),
      rateLinesPerS: opts.rate,
      flowSeconds: opts.flowSeconds,
      windowS,
      clientWindowS: reports.map((r) => Number(r.windowMs) / 1000),
      rssBeforeMB: rssBefore / 1e6,
      rssConnectedMB: rssConnected / 1e6,
      rssAfterFlowMB: rssAfter / 1e6,
      rssSteadyMB: (half.length ? medianOf(half) : rssAfter) / 1e6,
      rssPeakMB: peak / 1e6,
      written,
      writtenInWindow,
      writerLinesPerS: writtenInWindow / windowS,
      deliveredEventsPerS: perS,
      deliveredMBps: bytesPerS / 1e6,
      deliveredFraction: writtenInWindow > 0 && opts.clients > 0 ? total / (opts.clients * writtenInWindow) : 0,
      clientsWithRecords: sorted.filter((c) => c > 0).length,
      eventsPerClient: { min: sorted[0] ?? 0, p10: q(0.1), median: q(0.5), max: sorted[sorted.length - 1] ?? 0 },
      clientsWithGaps,
      gapNotices,
      missedTotal: miss.reduce((a, b) => a + b, 0),
      missedPerClientMedian: medianOf(miss),
      gapsUnparsed,
      cpu: {
        windowS,
        daemonS: cpuDaemon,
        daemonMainThreadS: cpuMain,
        clientsS: reports.map((r) => Number(r.cpuS)),
        machineBusyS: mach1.busy - mach0.busy,
        machineNiceS: mach1.nice - mach0.nice,
        cores: os.cpus().length,
      },
      clientLoopDelayMaxMs: { opening: openedMsgs.map((m) => Number(m.loopDelayMaxMs)), window: reports.map((r) => Number(r.loopDelayMaxMs)) },
      healthzMs: { opening: healthzOpening, window: healthzWindow },
      openUnderFlow: opts.openUnderFlow,
      fd: { limitSoft: lim.soft, limitHard: lim.hard, daemonLimit: daemonLim.soft, daemonOpen: openFdCount(h.pid), perProcessNeeded: clientNeeds },
      loadavg: os.loadavg(),
      status,
    };
    return result;
  } finally {
    stopWriter();
    healthz.stop();
    if (sampler) clearInterval(sampler);
    closeSync(fd);
    await Promise.all(fleets.map((f) => f.stop()));
    await h.stop(!ok);
  }
}
