/**
 * Docker source throughput against a private dockerd (test/helpers/dockerd.ts):
 *
 * - live: a chatty container (a busybox shell loop printing as fast as it
 *   can) followed by the source; lines/s through the source into a counting
 *   pipeline over a fixed window. Here the engine's log driver is usually the
 *   limit, not Sluice.
 * - history: the same container's log, already written (N lines), read from
 *   the first line: how fast the source demuxes, reassembles, parses and
 *   batches when the engine can hand it data as fast as it reads.
 *
 * - engine: the same two reads by a reader of the same Engine endpoint that
 *   only counts the bytes' newlines, with Node's HTTP client
 *   (`docker-live-engine`, `docker-history-engine`), with the source's own
 *   socket reader (`-engine-raw`, sources/docker/engine-stream.ts) and, for
 *   the history, curl into /dev/null (`-engine-curl`): what dockerd itself
 *   can hand over, in the same run. When the source's figure is close to
 *   them, the engine is the limit.
 *
 * The source runs with parse threads (as the daemon does), so its lines are
 * parsed beside the main thread through the parse stage.
 *
 * Run alone: `node --import tsx bench/docker.ts` (needs root, dockerd and
 * /bin/busybox). Prints one JSON line per case.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pipeline } from '../src/core/pipeline.js';
import { batchLength, isEncoded, type Batch } from '../src/wire/encoded.js';
import { dockerSourceSchema } from '../src/sources/docker/config.js';
import { DockerSource } from '../src/sources/docker/source.js';
import { DockerClient } from '../src/sources/docker/client.js';
import { defaultParseThreads, ParsePool } from '../src/parse/pool.js';
import { hasDockerd, skipReason, startEngine } from '../test/helpers/dockerd.js';
import { processCpuSeconds } from './util.js';

class CountingPipeline implements Pipeline {
  records = 0;
  bytes = 0;
  /** performance.now() at the first record and at the latest. */
  firstAt = 0;
  lastAt = 0;
  #seq = 0;
  /** Counts; an encoded batch is not turned into record objects (the daemon's hub does not either). */
  push(b: Batch): boolean {
    const n = batchLength(b);
    if (n > 0) {
      this.lastAt = performance.now();
      if (this.records === 0) this.firstAt = this.lastAt;
    }
    this.records += n;
    if (!isEncoded(b)) for (const r of b) r.seq = ++this.#seq;
    else this.#seq += n;
    return true;
  }
  onDrain(cb: () => void): void {
    queueMicrotask(cb);
  }
  lastSeq(): number {
    return this.#seq;
  }
  nextSeq(): number {
    return this.#seq + 1;
  }
  replay(): void {}
  drop(): void {}
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const LINE = 'chatty line with a payload of some length: the quick brown fox jumps over the lazy dog';

const round2 = (x: number): number => Number(x.toFixed(2));

export async function benchDocker(opts: { windowMs?: number; historyLines?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const windowMs = opts.windowMs ?? 5000;
  const historyLines = opts.historyLines ?? 300_000;
  if (!hasDockerd) {
    console.warn(`!!! bench/docker.ts skipped: ${skipReason}`);
    return [];
  }
  const engine = await startEngine();
  // dockerd's own CPU while each case runs: on two cores the engine serving the log and its reader share the machine
  const dockerdPid = Number(readFileSync(path.join(engine.dir, 'docker.pid'), 'utf8').trim());
  const dockerd = (): number => processCpuSeconds(dockerdPid);
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-docker-'));
  const results: Array<Record<string, unknown>> = [];
  const pool = new ParsePool(defaultParseThreads());
  const client = new DockerClient(engine.socket);
  await client.negotiate();
  /** Lines the engine hands a reader that does nothing else, over `ms` (follow) or to the end. */
  const engineRead = async (name: string, follow: boolean, ms: number): Promise<{ lines: number; secs: number }> => {
    const t0 = performance.now();
    const req = http.request({ socketPath: engine.socket, path: client.logsPath(name, { follow, stdout: true, stderr: true }), agent: false, headers: { Host: 'docker' } });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject).end());
    let lines = 0;
    await new Promise<void>((resolve) => {
      const timer = follow ? setTimeout(() => { req.destroy(); resolve(); }, ms) : undefined;
      res.on('data', (c: Buffer) => {
        for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
      });
      res.once('end', () => { clearTimeout(timer); resolve(); });
      res.once('close', () => { clearTimeout(timer); resolve(); });
    });
    return { lines, secs: (performance.now() - t0) / 1000 };
  };
  /** The same through the source's own socket reader (engine-stream.ts), counting newlines: the cheapest reader in Node. */
  const rawRead = async (name: string, follow: boolean, ms: number): Promise<{ lines: number; secs: number }> => {
    const t0 = performance.now();
    const s = await client.logs(name, { follow, stdout: true, stderr: true });
    let lines = 0;
    await new Promise<void>((resolve) => {
      const timer = follow ? setTimeout(() => s.destroy(), ms) : undefined;
      s.start({
        data: (buf, start, end) => {
          for (let i = buf.indexOf(10, start); i >= 0 && i < end; i = buf.indexOf(10, i + 1)) lines++;
        },
        end: () => { clearTimeout(timer); resolve(); },
      });
    });
    return { lines, secs: (performance.now() - t0) / 1000 };
  };
  /**
   * The history read by curl into /dev/null (C, no pipe, chunked framing undone by curl): how fast
   * dockerd hands over a container's whole log, where the reader above pays Node's HTTP client per
   * chunk. Timed from curl's start (including its exec) to its exit; undefined without curl.
   */
  const curlHistory = async (name: string): Promise<{ bytes: number; secs: number } | undefined> => {
    if (!existsSync('/usr/bin/curl')) return undefined;
    const t0 = performance.now();
    const child = spawn('/usr/bin/curl', ['-s', '--unix-socket', engine.socket, '-o', '/dev/null', '-w', '%{size_download}', `http://docker/containers/${name}/logs?timestamps=1&follow=0&stdout=1&stderr=1`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    return { bytes: Number(out), secs: (performance.now() - t0) / 1000 };
  };
  try {
    // live
    {
      const p = new CountingPipeline();
      const cfg = dockerSourceSchema.parse({ name: 'live', type: 'docker', socket: engine.socket, include_names: ['chatty'] });
      const src = new DockerSource(cfg, { dataDir: path.join(dir, 'live'), parsePool: pool });
      await src.start(p);
      await src.ready();
      await engine.run({ name: 'chatty', script: `i=0; while true; do i=$((i+1)); echo "${LINE} $i"; done` });
      for (let i = 0; i < 200 && p.records === 0; i++) await sleep(50);
      await sleep(1000); // warm-up
      const r0 = p.records;
      const t0 = performance.now();
      const d0 = dockerd();
      await sleep(windowMs);
      const n = p.records - r0;
      const secs = (performance.now() - t0) / 1000;
      const dCores = (dockerd() - d0) / secs;
      await src.stop();
      results.push({ case: 'docker-live', lines_per_s: Math.round(n / secs), window_s: Number(secs.toFixed(2)), line_bytes: LINE.length + 7, dockerd_cores: round2(dCores) });
      // the engine alone, following the same container for the same window
      let d1 = dockerd();
      const raw = await engineRead('chatty', true, windowMs);
      results.push({ case: 'docker-live-engine', lines_per_s: Math.round(raw.lines / raw.secs), window_s: Number(raw.secs.toFixed(2)), dockerd_cores: round2((dockerd() - d1) / raw.secs) });
      d1 = dockerd();
      const raw2 = await rawRead('chatty', true, windowMs);
      results.push({ case: 'docker-live-engine-raw', lines_per_s: Math.round(raw2.lines / raw2.secs), window_s: Number(raw2.secs.toFixed(2)), dockerd_cores: round2((dockerd() - d1) / raw2.secs) });
      await engine.docker(['rm', '-f', 'chatty']);
    }
    // history
    {
      await engine.run({ name: 'history', script: `[ -f /tmp/done ] && exit 0; i=0; while [ $i -lt ${historyLines} ]; do i=$((i+1)); echo "${LINE} $i"; done; touch /tmp/done` });
      for (let i = 0; i < 1200; i++) {
        const st = await engine.get<{ State: { Running: boolean } }>('/containers/history/json');
        if (!st.State.Running) break;
        await sleep(100);
      }
      const p = new CountingPipeline();
      const cfg = dockerSourceSchema.parse({ name: 'hist', type: 'docker', socket: engine.socket, include_names: ['history'] });
      const src = new DockerSource(cfg, { dataDir: path.join(dir, 'hist'), parsePool: pool });
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const d0 = dockerd();
      await src.start(p);
      // The container has exited (the listing shows running ones only): starting it again
      // prints nothing more, and its start event makes the source read the whole history.
      await engine.docker(['start', 'history']);
      for (let i = 0; i < 6000 && p.records < historyLines; i++) await sleep(20);
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const dUs = ((dockerd() - d0) * 1e6) / p.records;
      await src.stop();
      // secs counts from the source's start, through `docker start` and the event it waits for;
      // read_lines_per_s counts from its first record to its last, as the engine's reader is timed
      const readSecs = (p.lastAt - p.firstAt) / 1000;
      results.push({ case: 'docker-history', lines: p.records, lines_per_s: Math.round(p.records / secs), secs: Number(secs.toFixed(2)), read_lines_per_s: Math.round(p.records / readSecs), read_secs: Number(readSecs.toFixed(2)), cpu_us_per_line: Number(((cpu.user + cpu.system) / p.records).toFixed(2)), dockerd_us_per_line: round2(dUs) });
      let d1 = dockerd();
      const raw = await engineRead('history', false, 0);
      results.push({ case: 'docker-history-engine', lines: raw.lines, lines_per_s: Math.round(raw.lines / raw.secs), secs: Number(raw.secs.toFixed(2)), dockerd_us_per_line: round2(((dockerd() - d1) * 1e6) / raw.lines) });
      d1 = dockerd();
      const raw2 = await rawRead('history', false, 0);
      results.push({ case: 'docker-history-engine-raw', lines: raw2.lines, lines_per_s: Math.round(raw2.lines / raw2.secs), secs: Number(raw2.secs.toFixed(2)), dockerd_us_per_line: round2(((dockerd() - d1) * 1e6) / raw2.lines) });
      // the container wrote historyLines lines: curl's rate is over those
      d1 = dockerd();
      const curl = await curlHistory('history');
      if (curl) results.push({ case: 'docker-history-engine-curl', lines: historyLines, bytes: curl.bytes, lines_per_s: Math.round(historyLines / curl.secs), secs: Number(curl.secs.toFixed(2)), dockerd_us_per_line: round2(((dockerd() - d1) * 1e6) / historyLines) });
    }
  } finally {
    await pool.close();
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await benchDocker();
  for (const r of res) console.log(JSON.stringify(r));
}
