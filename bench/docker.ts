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
 * Run alone: `node --import tsx bench/docker.ts` (needs root, dockerd and
 * /bin/busybox). Prints one JSON line per case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pipeline } from '../src/core/pipeline.js';
import { isEncoded, recordsOf, type Batch } from '../src/wire/encoded.js';
import { dockerSourceSchema } from '../src/sources/docker/config.js';
import { DockerSource } from '../src/sources/docker/source.js';
import { hasDockerd, skipReason, startEngine } from '../test/helpers/dockerd.js';

class CountingPipeline implements Pipeline {
  records = 0;
  bytes = 0;
  #seq = 0;
  push(b: Batch): boolean {
    const batch = isEncoded(b) ? recordsOf(b, this.#seq + 1) : b;
    this.records += batch.length;
    for (const r of batch) {
      if (!isEncoded(b)) r.seq = this.#seq + 1;
      this.#seq++;
      this.bytes += r.message.length;
    }
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

export async function benchDocker(opts: { windowMs?: number; historyLines?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const windowMs = opts.windowMs ?? 5000;
  const historyLines = opts.historyLines ?? 300_000;
  if (!hasDockerd) {
    console.warn(`!!! bench/docker.ts skipped: ${skipReason}`);
    return [];
  }
  const engine = await startEngine();
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-docker-'));
  const results: Array<Record<string, unknown>> = [];
  try {
    // live
    {
      const p = new CountingPipeline();
      const cfg = dockerSourceSchema.parse({ name: 'live', type: 'docker', socket: engine.socket, include_names: ['chatty'] });
      const src = new DockerSource(cfg, { dataDir: path.join(dir, 'live') });
      await src.start(p);
      await src.ready();
      await engine.run({ name: 'chatty', script: `i=0; while true; do i=$((i+1)); echo "${LINE} $i"; done` });
      for (let i = 0; i < 200 && p.records === 0; i++) await sleep(50);
      await sleep(1000); // warm-up
      const r0 = p.records;
      const t0 = performance.now();
      await sleep(windowMs);
      const n = p.records - r0;
      const secs = (performance.now() - t0) / 1000;
      await src.stop();
      await engine.docker(['rm', '-f', 'chatty']);
      results.push({ case: 'docker-live', lines_per_s: Math.round(n / secs), window_s: Number(secs.toFixed(2)), line_bytes: LINE.length + 7 });
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
      const src = new DockerSource(cfg, { dataDir: path.join(dir, 'hist') });
      const t0 = performance.now();
      await src.start(p);
      // The container has exited (the listing shows running ones only): starting it again
      // prints nothing more, and its start event makes the source read the whole history.
      await engine.docker(['start', 'history']);
      for (let i = 0; i < 6000 && p.records < historyLines; i++) await sleep(20);
      const secs = (performance.now() - t0) / 1000;
      await src.stop();
      results.push({ case: 'docker-history', lines: p.records, lines_per_s: Math.round(p.records / secs), secs: Number(secs.toFixed(2)) });
    }
  } finally {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await benchDocker();
  for (const r of res) console.log(JSON.stringify(r));
}
