/**
 * The three Sluice measurements, each against its own fresh daemon:
 * throughput (file -> parse -> TCP stream), latency (append -> SSE) and
 * memory under fan-out (RSS with 1,000 SSE clients). Every function cleans up
 * what it started in `finally`; results are plain objects for results.json.
 */

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type net from 'node:net';
import { LineCounter, RawSseCounter, SseClient, connectCounter, timeLinkedFile, type VerifyReport } from './clients.js';
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
export async function sluiceThroughput(ds: Dataset, opts: { verify: boolean; log: Log }): Promise<ThroughputResult> {
  const runDir = runDirFor('throughput');
  const inDir = path.join(runDir, 'in');
  mkdirSync(inDir, { recursive: true });
  const file = path.join(inDir, 'mixed.log');
  // A TCP client may lag as far as the ring reaches (then it is dropped with a gap, CONTRACT.md): the
  // default 10,000 records are ~16 ms at full speed, little slack for the counting client, which shares
  // the 2 cores with the daemon (a run that lost records says so: "idle", records delivered FAIL).
  // BENCH_THROUGHPUT_REPLAY sets another size; 100,000 measured 11% slower (ring entries outlive the
  // young generation and are copied and promoted by the GC).
  const h = await startSluice({ label: 'throughput', runDir, paths: [file], from: 'start', tcp: true, replay: THROUGHPUT_REPLAY });
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
  /** `raw` (RawSseCounter, default) or `http` (node:http SseClient with one Agent). */
  clientKind: string;
  /** Answered 200 when the last batch had been waited for (10 s per batch at most). */
  connectedAfterOpen: number;
  /** Answered 200 by the end, with no error. */
  connected: number;
  connectMs: number;
  rateLinesPerS: number;
  flowSeconds: number;
  rssBeforeMB: number;
  rssConnectedMB: number;
  /** With all clients connected after `flowSeconds` of flow: the figure with the target. */
  rssAfterFlowMB: number;
  rssPeakMB: number;
  written: number;
  clientsWithRecords: number;
  eventsPerClient: { min: number; median: number; max: number };
  clientsWithGaps: number;
  clientErrors: string[];
  fdLimit: string;
  status: unknown;
}

function fdLimit(): string {
  try {
    return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * A writer appends realistic lines at `rate`/s; RSS is read before any
 * client, then `clients` SSE connections are opened in batches of 100
 * (node:http, one Agent allowing them all), and RSS is read again after
 * `flowSeconds` of flow with all of them connected. Every client must have
 * received records.
 */
export async function sluiceFanout(opts: { clients: number; rate: number; flowSeconds: number; clientKind: 'raw' | 'http'; log: Log }): Promise<FanoutResult> {
  const limit = fdLimit();
  if (limit !== 'unlimited' && Number(limit) < opts.clients + 200) {
    throw new Error(`fd limit ${limit} is too low for ${opts.clients} clients: raise it (ulimit -n ${opts.clients * 2 + 1000})`);
  }
  const runDir = runDirFor('fanout');
  mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, 'fanout.log');
  writeFileSync(file, '');
  const h = await startSluice({ label: 'fanout', runDir, paths: [file], from: 'start', tcp: false });
  const agent = new http.Agent({ keepAlive: false, maxSockets: opts.clients + 100, maxTotalSockets: opts.clients + 100 });
  const clients: (SseClient | RawSseCounter)[] = [];
  const templates = sampleTemplates(2000);
  const fd = openSync(file, 'a');
  let written = 0;
  let timer: NodeJS.Timeout | null = null;
  let ok = false;
  const start = nowMs();
  const write = () => {
    const due = Math.floor(((nowMs() - start) / 1000) * opts.rate);
    if (due > written) {
      let s = '';
      for (let i = written + 1; i <= due; i++) s += renderLine(templates[i % templates.length], i) + '\n';
      writeSync(fd, s);
      written = due;
    }
  };
  try {
    timer = setInterval(write, 10);
    await sleep(3000);
    const rssBefore = h.rss().total;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, h.rss().total)), 250);
    try {
      opts.log(`fan-out: RSS before clients ${(rssBefore / 1e6).toFixed(1)} MB; opening ${opts.clients} SSE clients`);
      const t0 = nowMs();
      for (let i = 0; i < opts.clients; i += 100) {
        const batch: (SseClient | RawSseCounter)[] = [];
        for (let j = i; j < Math.min(opts.clients, i + 100); j++) {
          batch.push(opts.clientKind === 'http' ? new SseClient(h.sseUrl, { token: TOKEN, agent }) : new RawSseCounter(h.sseUrl, { token: TOKEN }));
        }
        clients.push(...batch);
        await Promise.allSettled(batch.map((c) => Promise.race([c.ready, sleep(10_000)])));
      }
      const connectMs = nowMs() - t0;
      const connectedAfterOpen = clients.filter((c) => c.status === 200 && !c.error).length;
      const rssConnected = h.rss().total;
      opts.log(`fan-out: ${connectedAfterOpen}/${opts.clients} connected in ${connectMs.toFixed(0)} ms; ${opts.flowSeconds} s of flow at ${opts.rate} lines/s`);
      await sleep(opts.flowSeconds * 1000);
      const rssAfter = h.rss().total;
      peak = Math.max(peak, rssAfter);
      clearInterval(timer);
      timer = null;
      await sleep(1000);
      const connected = clients.filter((c) => c.status === 200 && !c.error).length;
      const counts = clients.map((c) => c.events).sort((a, b) => a - b);
      const errors = [...new Set(clients.map((c) => c.error).filter((e): e is string => !!e))].slice(0, 10);
      ok = connected === opts.clients;
      return {
        clients: opts.clients,
        clientKind: opts.clientKind,
        connectedAfterOpen,
        connected,
        connectMs,
        rateLinesPerS: opts.rate,
        flowSeconds: opts.flowSeconds,
        rssBeforeMB: rssBefore / 1e6,
        rssConnectedMB: rssConnected / 1e6,
        rssAfterFlowMB: rssAfter / 1e6,
        rssPeakMB: peak / 1e6,
        written,
        clientsWithRecords: counts.filter((c) => c > 0).length,
        eventsPerClient: { min: counts[0] ?? 0, median: counts[Math.floor(counts.length / 2)] ?? 0, max: counts[counts.length - 1] ?? 0 },
        clientsWithGaps: clients.filter((c) => c.gaps > 0).length,
        clientErrors: errors,
        fdLimit: limit,
        status: await statusOf(h),
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (timer) clearInterval(timer);
    closeSync(fd);
    for (const c of clients) c.close();
    agent.destroy();
    await h.stop(!ok);
  }
}
