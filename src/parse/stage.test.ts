/**
 * The parse stage (stage.ts) over real parse threads: order per lane,
 * interleaving between lanes, a thread dying mid-batch, back-pressure, and
 * how long a live line waits behind another source's backlog.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../core/pipeline.js';
import type { LogRecord } from '../core/record.js';
import { isEncoded, recordsOf, type Batch } from '../wire/encoded.js';
import { ParsePool } from './pool.js';
import { ParseStage, type LaneSpec, type RawBatch, type StageCounters } from './stage.js';

/** A pipeline that assigns seqs, keeps what it got (lane by source) and can refuse. */
class Sink implements Pipeline {
  seq = 0;
  readonly got: LogRecord[] = [];
  /** Per push: the source and how many records. */
  readonly pushes: { source: string; n: number; encoded: boolean }[] = [];
  refuse = false;
  #drain: (() => void)[] = [];
  push(b: Batch): boolean {
    const recs = isEncoded(b) ? recordsOf(b, this.seq + 1) : b;
    if (isEncoded(b)) this.seq += recs.length;
    else for (const r of recs) r.seq = ++this.seq;
    this.got.push(...recs);
    this.pushes.push({ source: recs[0]!.source, n: recs.length, encoded: isEncoded(b) });
    return !this.refuse;
  }
  onDrain(cb: () => void): void {
    if (!this.refuse) queueMicrotask(cb);
    else this.#drain.push(cb);
  }
  drain(): void {
    this.refuse = false;
    for (const cb of this.#drain.splice(0)) cb();
  }
  lastSeq(): number {
    return this.seq;
  }
  nextSeq(): number {
    return this.seq + 1;
  }
  replay(): void {}
  drop(): void {}
  messages(source: string): string[] {
    return this.got.filter((r) => r.source === source).map((r) => r.message.replace(/ x+$/, ''));
  }
}

const counters = (): StageCounters => ({ lines: 0, records: 0, parsed_inline: 0, push_errors: 0 });
const spec = (source: string, c = counters()): LaneSpec => ({ source, stream: 'main', format: 'plain', maxLineBytes: 1 << 20, dropStage: 'test', counters: c });

/** `n` lines `${tag} ${i}` as one byte run in shared memory (how a file source hands over a backlog). */
function run(tag: string, from: number, n: number, pad = 0): RawBatch {
  let text = '';
  for (let i = from; i < from + n; i++) text += `${tag} ${i}${pad > 0 ? ' ' + 'x'.repeat(pad) : ''}\n`;
  const bytes = Buffer.from(new SharedArrayBuffer(Buffer.byteLength(text)));
  bytes.write(text);
  return { items: [bytes], size: bytes.length, now: 1_700_000_000_000, origin: { kind: 'test' } };
}

const names = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag} ${i}`);

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** A pool of 2 threads that notes the source of every batch handed to it, in order. */
function spiedPool(): { pool: ParsePool; dispatched: string[] } {
  const pool = new ParsePool(2);
  const dispatched: string[] = [];
  const parse = pool.parse.bind(pool);
  pool.parse = (job) => {
    dispatched.push(job.source);
    return parse(job);
  };
  return { pool, dispatched };
}

describe('ParseStage', () => {
  const pool = new ParsePool(2);
  afterAll(() => pool.close());

  it('interleaves the records of two lanes while each lane keeps its order', async () => {
    const sink = new Sink();
    const { pool: p, dispatched } = spiedPool();
    try {
      const stage = new ParseStage(sink, p, { threadMinSize: 0 });
      const a = stage.lane(spec('a'));
      const b = stage.lane(spec('b'));
      for (let k = 0; k < 20; k++) {
        // batches of other sizes, so the threads finish them out of order
        a.submit(run('a', k * 500, 500, k % 3 === 0 ? 200 : 0), () => undefined);
        b.submit(run('b', k * 50, 50), () => undefined);
      }
      await Promise.all([a.settled(), b.settled()]);
      expect(sink.messages('a')).toEqual(names('a', 10_000));
      expect(sink.messages('b')).toEqual(names('b', 1000));
      // the threads served both lanes in turn, not one lane to its end first
      expect(dispatched.slice(0, 8).filter((s) => s === 'b').length).toBeGreaterThanOrEqual(3);
      expect(sink.pushes.every((x) => x.encoded)).toBe(true);
      // seqs are the hub's, in push order
      expect(sink.got.map((r) => r.seq)).toEqual(sink.got.map((_, i) => i + 1));
    } finally {
      await p.close();
    }
  });

  it('a thread dying mid-batch loses and repeats nothing: its batches are parsed inline, in order', async () => {
    const sink = new Sink();
    const logs: string[] = [];
    const p = new ParsePool(2, (m) => logs.push(m));
    const c = counters();
    try {
      const stage = new ParseStage(sink, p, { threadMinSize: 0 });
      const lane = stage.lane(spec('a', c));
      for (let k = 0; k < 16; k++) lane.submit(run('a', k * 2000, 2000, 50), () => undefined);
      await p.crash(0);
      await lane.settled();
      expect(sink.messages('a')).toEqual(names('a', 32_000));
      expect(c.parsed_inline).toBeGreaterThan(0);
      expect(c.records).toBe(32_000);
      expect(logs.some((l) => /parse worker failed/.test(l))).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('holds queued batches while the pipeline asks for a pause, and pushes them on drain', async () => {
    const sink = new Sink();
    sink.refuse = true;
    const stage = new ParseStage(sink, pool, { threadMinSize: 0 });
    const lane = stage.lane(spec('a'));
    const answers: boolean[] = [];
    for (let k = 0; k < 4; k++) lane.submit(run('a', k * 100, 100), (_n, _s, more) => answers.push(more));
    await until(() => sink.pushes.length === 1, 'the first batch');
    // the others are parsed but wait for the drain
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.pushes).toHaveLength(1);
    expect(lane.pending).toBe(3);
    sink.drain();
    await lane.settled();
    expect(sink.messages('a')).toEqual(names('a', 400));
    expect(answers[0]).toBe(false);
  });

  it('a closing lane does not wait for a drain (a stopping source pushes what it read)', async () => {
    const sink = new Sink();
    sink.refuse = true;
    const stage = new ParseStage(sink, pool, { threadMinSize: 0 });
    const lane = stage.lane(spec('a'));
    for (let k = 0; k < 3; k++) lane.submit(run('a', k * 100, 100), () => undefined);
    await until(() => sink.pushes.length === 1, 'the first batch');
    lane.close();
    await lane.settled();
    expect(sink.messages('a')).toEqual(names('a', 300));
  });

  it('a live line of one source is not held back by another source\'s backlog (no backlog batch between its submit and its push)', async () => {
    const sink = new Sink();
    const stage = new ParseStage(sink, pool);
    const backlog = stage.lane(spec('backlog'));
    const live = stage.lane(spec('live'));
    // a backlog as a file source reads it: 1 MiB batches, at most 8 pending, refilled as they commit
    const BATCHES = 64;
    let next = 0;
    const refill = (): void => {
      while (backlog.pending < 8 && next < BATCHES) backlog.submit(run('backlog', next++ * 5000, 5000, 150), refill);
    };
    refill();
    const waits: number[] = [];
    const between: number[] = [];
    for (let i = 0; i < 40 && next < BATCHES; i++) {
      await new Promise((r) => setTimeout(r, 15));
      const pushesBefore = sink.pushes.length;
      const t0 = process.hrtime.bigint();
      live.submit({ items: [`live ${i}`], size: 6, now: Date.now(), origin: { kind: 'test' } }, () => {
        waits.push(Number(process.hrtime.bigint() - t0) / 1e6);
        between.push(sink.pushes.slice(pushesBefore, -1).filter((p) => p.source === 'backlog').length);
      });
    }
    await backlog.settled();
    expect(waits.length).toBeGreaterThanOrEqual(10);
    expect(between.every((n) => n === 0)).toBe(true);
    expect(sink.messages('backlog')).toEqual(names('backlog', BATCHES * 5000).slice(0, next * 5000));
    const sorted = [...waits].sort((x, y) => x - y);
    console.log(`live line behind a backlog (${next} x ~${Math.round(run('x', 0, 5000, 150).size / 1024)} KiB batches): submit -> push p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} ms, p99 ${sorted[Math.ceil(sorted.length * 0.99) - 1]!.toFixed(3)} ms over ${sorted.length} lines`);
  });

  it('a backlog of a second source gets thread turns in between the first one\'s (round-robin at the threads)', async () => {
    const sink = new Sink();
    const { pool: p, dispatched } = spiedPool();
    try {
      const stage = new ParseStage(sink, p, { threadMinSize: 0 });
      const a = stage.lane(spec('a'));
      const b = stage.lane(spec('b'));
      for (let k = 0; k < 8; k++) a.submit(run('a', k * 3000, 3000, 100), () => undefined);
      b.submit(run('b', 0, 3000, 100), () => undefined);
      await Promise.all([a.settled(), b.settled()]);
      // 2 threads x 2 batches at the pool: a's first 4 go at once; then the lanes take turns, so b's batch
      // is the 6th dispatched (first come, first served would make it the 9th, after all of a's)
      expect(dispatched.indexOf('b')).toBe(5);
      expect(sink.messages('a')).toEqual(names('a', 24_000));
    } finally {
      await p.close();
    }
  });
});
