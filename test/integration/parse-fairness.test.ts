/**
 * Fairness of the shared parse stage between sources: while one file source
 * reads a large backlog through the parse threads, another file source's
 * live lines reach the pipeline while that backlog is still being read (not
 * after it), each in order. The wait of each live line (written -> pushed)
 * is printed; SLUICE_FAIRNESS_MB sets the backlog (default 128 MiB; the
 * issue's figure is with 1024).
 */
import { appendFileSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, expect, it } from 'vitest';
import type { Pipeline } from '../../src/core/pipeline.js';
import { ParsePool } from '../../src/parse/pool.js';
import { ParseStage } from '../../src/parse/stage.js';
import { fileSourceSchema } from '../../src/sources/file/config.js';
import { FileSource } from '../../src/sources/file/source.js';
import { isEncoded, type Batch } from '../../src/wire/encoded.js';

const MB = Number(process.env.SLUICE_FAIRNESS_MB ?? 128);
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fair-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Counts the backlog's records; keeps when each live line arrived and how many backlog batches were pushed by then. */
class Meter implements Pipeline {
  seq = 0;
  backlog = 0;
  backlogPushes = 0;
  readonly live: { i: number; waitMs: number; backlogLeft: number }[] = [];
  total = 0;
  push(b: Batch): boolean {
    if (isEncoded(b)) {
      this.seq += b.ends.length;
      if (b.source === 'backlog') {
        this.backlog += b.ends.length;
        this.backlogPushes++;
      }
      return true;
    }
    for (const r of b) {
      r.seq = ++this.seq;
      if (r.source === 'backlog') {
        this.backlog++;
        continue;
      }
      const [, i, at] = r.message.split(' ');
      this.live.push({ i: Number(i), waitMs: performance.now() - Number(at), backlogLeft: this.total - this.backlog });
    }
    if (!isEncoded(b) && b[0]?.source === 'backlog') this.backlogPushes++;
    return true;
  }
  onDrain(cb: () => void): void {
    queueMicrotask(cb);
  }
  lastSeq(): number {
    return this.seq;
  }
  nextSeq(): number {
    return this.seq + 1;
  }
  replay(): void {}
  drop(): void {}
}

async function writeBacklog(file: string, mb: number): Promise<number> {
  const line = (i: number) => `{"ts":"2026-12-05T10:00:00.${String(i % 1000).padStart(3, '0')}Z","level":"info","msg":"request ${i} served","path":"/api/v1/items/${i % 977}","status":200,"ms":${i % 97}}\n`;
  const out = createWriteStream(file);
  let bytes = 0;
  let n = 0;
  while (bytes < mb * 1024 * 1024) {
    let chunk = '';
    for (let k = 0; k < 2000; k++) chunk += line(n++);
    bytes += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return n;
}

it(`a live source's lines arrive while another source's ${MB} MiB backlog is still being read`, async () => {
  const big = path.join(dir, 'big.log');
  const small = path.join(dir, 'live.log');
  const meter = new Meter();
  meter.total = await writeBacklog(big, MB);
  writeFileSync(small, '');
  const pool = new ParsePool(2);
  const stage = new ParseStage(meter, pool);
  const cfg = (name: string, file: string) => fileSourceSchema.parse({ name, type: 'file', format: 'auto', from: 'start', paths: [file], poll_interval: '100ms' });
  const a = new FileSource(cfg('backlog', big), { dataDir: path.join(dir, 'a'), stage });
  const b = new FileSource(cfg('live', small), { dataDir: path.join(dir, 'b'), stage });
  try {
    await b.start(meter);
    await a.start(meter);
    let i = 0;
    // bounded: the backlog ends (or 5 minutes pass)
    for (const end = Date.now() + 300_000; meter.backlog < meter.total && Date.now() < end; i++) {
      appendFileSync(small, `live ${i} ${performance.now()}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const end = Date.now() + 10_000; meter.live.length < i && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(meter.backlog).toBe(meter.total);
    // every live line, once, in order
    expect(meter.live.map((l) => l.i)).toEqual(Array.from({ length: i }, (_, k) => k));
    // they arrived during the backlog, not after it: all but the last few had backlog left to read
    const during = meter.live.filter((l) => l.backlogLeft > 0).length;
    expect(during).toBeGreaterThanOrEqual(Math.floor(i * 0.8));
    const waits = meter.live.filter((l) => l.backlogLeft > 0).map((l) => l.waitMs).sort((x, y) => x - y);
    const q = (p: number) => waits[Math.min(waits.length - 1, Math.ceil(waits.length * p) - 1)]!.toFixed(1);
    console.log(`fairness: ${MB} MiB backlog (${meter.total} lines, ${meter.backlogPushes} batches) beside ${i} live lines: written -> pushed p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
  } finally {
    await a.stop();
    await b.stop();
    await pool.close();
  }
}, 400_000);
