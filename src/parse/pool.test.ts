import { afterAll, describe, expect, it } from 'vitest';
import { ParsePool } from './pool.js';
import { runJob } from './worker.js';
import { LineSplitter } from '../framing/lines.js';
import { parseLine } from './detect.js';
import type { LogRecord } from '../core/record.js';
import { recordParts, serializeRecord } from '../wire/json.js';
import { Block, entryJson } from '../wire/block.js';
import { Hub } from '../hub/hub.js';
import { recordsOf, type EncodedBatch } from '../wire/encoded.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
const ORIGIN = Object.freeze({ kind: 'file', path: '/var/log/app "x".log' });
const LINES = [
  '{"ts":"2026-11-30T10:00:00.5Z","level":"warn","msg":"disk \\"almost\\" full","pct":91,"tags":["a","b"],"nested":{"k":null}}',
  'time=2026-11-30T10:00:01Z level=error msg="upstream failed" status=503 path=/api/v1',
  '<34>1 2026-11-30T10:00:02.000Z web-1 sshd 4123 ID47 [exampleSDID@32473 iut="3"] Accepted publickey',
  '<13>Nov 30 10:00:03 web-2 CRON[99]: (root) CMD (run-parts)',
  '10.0.0.1 - - [30/Nov/2026:10:00:04 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"',
  'plain line with café, ユーザー and 🚀',
  'lone surrogate \ud800 and a tab\tand a "quote"',
  '',
  'x'.repeat(20_000),
];

function inline(line: string): LogRecord {
  const p = parseLine(line, 'auto', NOW);
  return { seq: 0, time: p.time ?? NOW, received: NOW, source: 'app', stream: 'main', origin: ORIGIN, host: p.host, app: p.app, level: p.level, message: p.message, fields: p.fields };
}

/** A result as the encoded batch the file source pushes. */
function encoded(res: ReturnType<typeof runJob>, digits = 0): EncodedBatch {
  const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length);
  return { kind: 'encoded', buf, ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits, received: NOW, source: 'app', stream: 'main', origin: ORIGIN };
}

const job = { id: 1, items: LINES as (string | Uint8Array)[], maxLineBytes: 1 << 20, format: 'auto' as const, now: NOW, source: 'app', stream: 'main', origin: JSON.stringify(ORIGIN), seqDigits: 0 };
const seqsFrom = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);
/** The block the hub would build from records parsed on the main thread. */
const inlineBlock = (lines: string[], seqs: number[]): Block => Block.fromParts(seqs, lines.map((l) => recordParts(inline(l))));

describe('parse worker', () => {
  it('renders byte for byte what the main thread would, and the records decode back to the inline parse', () => {
    const res = runJob(job);
    expect(res.ends.length).toBe(LINES.length);
    const enc = encoded(res);
    const plain = LINES.map(inline);
    // the block built from worker tails equals the block built from inline serialization
    const fromWire = Block.fromEncoded(enc, 1000);
    const fromInline = inlineBlock(LINES, seqsFrom(1000, LINES.length));
    expect(fromWire.nd.equals(fromInline.nd)).toBe(true);
    expect(Array.from(fromWire.ndEnds)).toEqual(Array.from(fromInline.ndEnds));
    expect(Array.from(fromWire.msg)).toEqual(Array.from(fromInline.msg));
    const wire = recordsOf(enc, 1000);
    for (let i = 0; i < LINES.length; i++) {
      const w = wire[i]!;
      const p = plain[i]!;
      expect({ time: w.time, level: w.level, message: w.message, fields: w.fields, host: w.host, app: w.app }).toEqual({
        time: p.time,
        level: p.level,
        message: p.message,
        fields: p.fields,
        host: p.host,
        app: p.app,
      });
      expect(fromWire.message(i)).toBe(p.message);
    }
    expect(res.counters.json).toBe(1);
    expect(res.unserializable).toBe(0);
  });

  it('splits byte runs exactly as the main thread would (CRLF, invalid UTF-8, over-long lines), in order with string items', () => {
    const bytes = Buffer.concat([
      Buffer.from(LINES.join('\n') + '\ncrlf line\r\n'),
      Buffer.from([0x62, 0x61, 0x64, 0x20, 0xc3, 0x28, 0xff, 0x0a]), // "bad " + invalid UTF-8
    ]);
    const res = runJob({ ...job, maxLineBytes: 1000, items: ['before', bytes, 'after'] });
    const expected: string[] = ['before'];
    const ls = new LineSplitter({ maxLineBytes: 1000, onLine: (l) => expected.push(l) });
    ls.push(bytes, 0);
    expected.push('after');
    expect(recordsOf(encoded(res), 1).map((r) => r.message)).toEqual(expected.map((l) => inline(l).message));
    expect(res.split).toEqual({ lines: LINES.length + 2, truncated: 1, repaired: 1 });
    expect(expected).toContain('crlf line');
  });
});

describe('parse worker: whole records with reserved seq digits', () => {
  it('are stamped in place: the worker buffer itself is the block, byte for byte the inline one', () => {
    const res = runJob({ ...job, seqDigits: 4 });
    const enc = encoded(res, 4);
    const seqs = seqsFrom(1000, LINES.length);
    const b = Block.fromEncoded(enc, 1000);
    expect(b.nd.buffer).toBe(res.buf.buffer); // no copy
    const ref = inlineBlock(LINES, seqs);
    expect(b.nd.toString()).toBe(ref.nd.toString());
    expect(Array.from(b.ndEnds)).toEqual(Array.from(ref.ndEnds));
    expect(Array.from(b.msg)).toEqual(Array.from(ref.msg));
    // the records still decode from their tails (unchanged by the stamping)
    expect(recordsOf(enc, 1000).map((r) => r.message)).toEqual(LINES.map((l) => inline(l).message));
  });

  it('are copied behind their seqs when the seqs have another width (999 -> 1000)', () => {
    const res = runJob({ ...job, seqDigits: 3 });
    const b = Block.fromEncoded(encoded(res, 3), 995); // crosses into 4 digits
    expect(b.nd.buffer).not.toBe(res.buf.buffer);
    const ref = inlineBlock(LINES, seqsFrom(995, LINES.length));
    expect(b.nd.toString()).toBe(ref.nd.toString());
    expect(Array.from(b.msg)).toEqual(Array.from(ref.msg));
    const narrow = Block.fromEncoded(encoded(runJob({ ...job, seqDigits: 3 }), 3), 5); // fewer digits than reserved
    expect(narrow.nd.toString()).toBe(inlineBlock(LINES, seqsFrom(5, LINES.length)).nd.toString());
  });
});

describe('parse worker records through the hub', () => {
  it('are published in place, the ring entries pointing into the worker buffer', () => {
    const hub = new Hub({ seqStart: 99, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
    const res = runJob({ ...job, seqDigits: 3 });
    expect(hub.publish(encoded(res, 3))).toBe(100);
    const entries = hub.records('main', 0, 100);
    expect(entries).toHaveLength(LINES.length);
    expect(entries.map((e) => e.seq)).toEqual(LINES.map((_, i) => 100 + i));
    expect(entries[0]!.block.nd.buffer).toBe(res.buf.buffer); // the worker's buffer is the block
    expect(entries.map(entryJson)).toEqual(LINES.map((l, i) => serializeRecord({ ...inline(l), seq: 100 + i })));
    expect(entries.map((e) => e.message)).toEqual(LINES.map((l) => inline(l).message));
    expect(entries.map((e) => e.level)).toEqual(LINES.map((l) => inline(l).level));
  });
});

describe('ParsePool', () => {
  const pool = new ParsePool(2);
  afterAll(() => pool.close());

  it('parses in worker threads, each job answered with its own lines', async () => {
    const jobs = Array.from({ length: 8 }, (_, k) => LINES.map((l) => `${k}:${l}`));
    const results = await Promise.all(jobs.map((lines) => pool.parse({ ...job, items: lines })));
    results.forEach((res, k) => {
      expect(recordsOf(encoded(res), 1).map((r) => r.message)).toEqual(jobs[k]!.map((l) => inline(l).message));
    });
    const st = pool.status();
    expect(st).toMatchObject({ threads: 2, running: 2, jobs: 8, failures: 0 });
  });

  it('a worker that dies fails its job, is reported and replaced; three failures in a row pause restarts', async () => {
    const logs: string[] = [];
    const p = new ParsePool(1, (m) => logs.push(m));
    try {
      // a job the worker cannot handle throws inside it: the worker dies
      const bad = { ...job, items: null as unknown as string[] };
      await expect(p.parse(bad)).rejects.toThrow();
      expect(p.status()).toMatchObject({ failures: 1, running: 0 });
      expect(logs[0]).toMatch(/parse worker failed/);
      // the next job starts a new worker
      const res = await p.parse(job);
      expect(res.ends.length).toBe(LINES.length);
      expect(p.status()).toMatchObject({ running: 1 });
      await expect(p.parse(bad)).rejects.toThrow();
      await expect(p.parse(bad)).rejects.toThrow();
      await expect(p.parse(bad)).rejects.toThrow();
      // three in a row: no new worker for a while, jobs are refused at once
      await expect(p.parse(job)).rejects.toThrow(/retrying later/);
      expect(logs.at(-1)).toMatch(/3 failures in a row/);
    } finally {
      await p.close();
    }
  });

  it('with no threads, refuses at once (the caller parses inline)', async () => {
    const none = new ParsePool(0);
    await expect(none.parse(job)).rejects.toThrow(/no threads/);
    await none.close();
  });
});
