import { afterAll, describe, expect, it } from 'vitest';
import { ParsePool } from './pool.js';
import { runJob } from './worker.js';
import { LineSplitter } from '../framing/lines.js';
import { parseLine } from './detect.js';
import { serializeRecord, LEVELS, type LogRecord } from '../core/record.js';
import { Block, entryJson } from '../core/block.js';
import { Hub } from '../core/hub.js';
import { WireRecord } from '../core/wire-record.js';
import type { Entry } from '../core/ring.js';

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

/** The records of a result, laid out as ParseResult says (as the file source's builder reads them). */
function wireRecords(res: ReturnType<typeof runJob>, seqDigits = 0): WireRecord[] {
  const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length);
  const hold = seqDigits > 0 ? 7 + seqDigits : 0;
  let head = 0;
  return Array.from(res.ends, (end, i) => {
    const lv = res.levels[i]!;
    const r = new WireRecord(res.times[i]!, NOW, 'app', 'main', ORIGIN, lv === 0 ? undefined : LEVELS[lv - 1], buf, head + hold, end, hold > 0 ? head : -1, res.msg[2 * i]!, res.msg[2 * i + 1]!);
    head = hold > 0 ? end + 1 : end;
    return r;
  });
}

const job = { id: 1, items: LINES as (string | Uint8Array)[], maxLineBytes: 1 << 20, format: 'auto' as const, now: NOW, source: 'app', stream: 'main', origin: JSON.stringify(ORIGIN), seqDigits: 0 };
const entriesFor = (seqs: number[]): Entry[] => seqs.map((seq) => ({ seq }) as unknown as Entry);

describe('parse worker', () => {
  it('renders byte for byte what the main thread would, and the records decode back to the inline parse', () => {
    const res = runJob(job);
    expect(res.ends.length).toBe(LINES.length);
    const wire = wireRecords(res);
    const plain = LINES.map(inline);
    // the block built from worker tails equals the block built from inline serialization
    const entries = (recs: LogRecord[]) => recs.map((r, i) => ({ seq: 1000 + i }) as unknown as Entry);
    const fromWire = new Block(entries(wire), wire.map((r) => r.wire));
    const fromInline = new Block(
      entries(plain),
      plain.map((r, i) => serializeRecord({ ...r, seq: 1000 + i })),
    );
    expect(fromWire.nd.equals(fromInline.nd)).toBe(true);
    expect(Array.from(fromWire.ndEnds)).toEqual(Array.from(fromInline.ndEnds));
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
    expect(wireRecords(res).map((r) => r.message)).toEqual(expected.map((l) => inline(l).message));
    expect(res.split).toEqual({ lines: LINES.length + 2, truncated: 1, repaired: 1 });
    expect(expected).toContain('crlf line');
  });

  it('mixes with inline-serialized records in one block, multi-byte strings taking the room tails need', () => {
    const wire = wireRecords(runJob({ ...job, items: ['a', 'b', 'c'] }));
    for (const n of [1, 20, 60, 200]) {
      const wide = JSON.stringify({ seq: 8, m: 'ユ'.repeat(n) });
      const parts = [wire[0]!.wire, wide, wire[1]!.wire, wire[2]!.wire];
      const b = new Block([7, 8, 9, 10].map((seq) => ({ seq }) as unknown as Entry), parts);
      const lines = b.nd.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; message?: string; m?: string });
      expect(lines.map((l) => l.seq)).toEqual([7, 8, 9, 10]);
      expect([lines[0]!.message, lines[1]!.m, lines[2]!.message, lines[3]!.message]).toEqual(['a', 'ユ'.repeat(n), 'b', 'c']);
    }
  });
});

describe('parse worker: whole records with reserved seq digits', () => {
  const inlineBlock = (seqs: number[]) => new Block(entriesFor(seqs), LINES.map((l, i) => serializeRecord({ ...inline(l), seq: seqs[i]! })));

  it('are stamped in place: the worker buffer itself is the block, byte for byte the inline one', () => {
    const res = runJob({ ...job, seqDigits: 4 });
    const wire = wireRecords(res, 4);
    const seqs = LINES.map((_, i) => 1000 + i);
    const b = new Block(entriesFor(seqs), wire.map((r) => r.wire));
    expect(b.nd.buffer).toBe(res.buf.buffer); // no copy
    const ref = inlineBlock(seqs);
    expect(b.nd.toString()).toBe(ref.nd.toString());
    expect(Array.from(b.ndEnds)).toEqual(Array.from(ref.ndEnds));
    // the records still decode from their tails (unchanged by the stamping)
    expect(wire.map((r) => r.message)).toEqual(LINES.map((l) => inline(l).message));
    // stamped once: publishing the same records again copies them, with the new seqs
    const again = new Block(entriesFor(seqs.map((s) => s + 5000)), wire.map((r) => r.wire));
    expect(again.nd.buffer).not.toBe(res.buf.buffer);
    expect(again.nd.toString()).toBe(inlineBlock(seqs.map((s) => s + 5000)).nd.toString());
  });

  it('are copied with the right seqs when the seqs have another width (999 -> 1000), or are not back to back', () => {
    const wire = wireRecords(runJob({ ...job, seqDigits: 3 }), 3);
    const seqs = LINES.map((_, i) => 995 + i); // crosses into 4 digits
    const b = new Block(entriesFor(seqs), wire.map((r) => r.wire));
    expect(b.nd.toString()).toBe(inlineBlock(seqs).nd.toString());
    const wire2 = wireRecords(runJob({ ...job, seqDigits: 3 }), 3);
    const gap = wire2.filter((_, i) => i !== 2); // one left out: not contiguous
    const seqs2 = gap.map((_, i) => 100 + i);
    const b2 = new Block(entriesFor(seqs2), gap.map((r) => r.wire));
    expect(b2.nd.toString()).toBe(new Block(entriesFor(seqs2), LINES.filter((_, i) => i !== 2).map((l, i) => serializeRecord({ ...inline(l), seq: seqs2[i]! }))).nd.toString());
  });
});

describe('parse worker records through the hub', () => {
  it('are published in place and serve as their own ring entries', () => {
    const hub = new Hub({ seqStart: 99, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
    const res = runJob({ ...job, seqDigits: 3 });
    const wire = wireRecords(res, 3);
    hub.publish(wire);
    const entries = hub.records('main', 0, 100);
    expect(entries).toHaveLength(LINES.length);
    entries.forEach((e, i) => expect(e).toBe(wire[i])); // no separate entry object
    expect(entries.map((e) => e.seq)).toEqual(LINES.map((_, i) => 100 + i));
    expect(entries[0]!.block.nd.buffer).toBe(res.buf.buffer); // the worker's buffer is the block
    expect(entries.map(entryJson)).toEqual(LINES.map((l, i) => serializeRecord({ ...inline(l), seq: 100 + i })));
    expect(entries.map((e) => e.message)).toEqual(LINES.map((l) => inline(l).message));
  });
});

describe('ParsePool', () => {
  const pool = new ParsePool(2);
  afterAll(() => pool.close());

  it('parses in worker threads, each job answered with its own lines', async () => {
    const jobs = Array.from({ length: 8 }, (_, k) => LINES.map((l) => `${k}:${l}`));
    const results = await Promise.all(jobs.map((lines) => pool.parse({ ...job, items: lines })));
    results.forEach((res, k) => {
      const wire = wireRecords(res);
      expect(wire.map((r) => r.message)).toEqual(jobs[k]!.map((l) => inline(l).message));
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
