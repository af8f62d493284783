/**
 * The inline parse of a raw batch (batch.ts), found open by mutation testing
 * (`npm run mutate`): a record's time (the source's, the line's, the read
 * time), its origin per item, level/host/app only when the line has them,
 * byte runs split with their counters (an optional counter made only when
 * there is something to count), a records lane's tally, and what the
 * source's transforms dropped.
 */
import { describe, expect, it } from 'vitest';
import type { TransformPlan } from '../transforms/plan.js';
import { add, parseInline, parseOnly, textSize, type LaneSpec, type RawBatch, type StageCounters } from './batch.js';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const ORIGIN = { kind: 'test' };

const counters = (): StageCounters => ({ lines: 0, records: 0, parsed_inline: 0, push_errors: 0 });
const spec = (o: Partial<LaneSpec> = {}): LaneSpec => ({ source: 'src', stream: 'main', format: 'auto', maxLineBytes: 1 << 20, dropStage: 'test', counters: counters(), ...o });
const raw = (items: RawBatch['items'], o: Partial<RawBatch> = {}): RawBatch => ({ items, size: textSize(items), now: NOW, origin: ORIGIN, ...o });

describe('textSize', () => {
  it('adds string lengths and byte counts', () => {
    expect(textSize([])).toBe(0);
    expect(textSize(['ab', Buffer.from('cde'), new Uint8Array(4), 'é'])).toBe(10);
  });
});

describe('parseOnly', () => {
  it('a line becomes a record of the lane, at the line\'s time or else the read time; level, host and app only when the line has them', () => {
    const out = parseOnly(spec(), raw(['plain words', '{"level":"error","msg":"boom","time":"2025-05-05T05:05:05.000Z","host":"h1","app":"a1"}']));
    expect(out).toEqual([
      { seq: 0, time: NOW, received: NOW, source: 'src', stream: 'main', origin: ORIGIN, message: 'plain words', fields: {} },
      { seq: 0, time: Date.UTC(2025, 4, 5, 5, 5, 5), received: NOW, source: 'src', stream: 'main', origin: ORIGIN, message: 'boom', fields: {}, level: 'error', host: 'h1', app: 'a1' },
    ]);
    expect(Object.keys(out[0]!)).not.toContain('level');
    expect(Object.keys(out[0]!)).not.toContain('host');
    expect(Object.keys(out[0]!)).not.toContain('app');
  });

  it('the lane\'s format decides how a line is read', () => {
    const line = '{"level":"warn","msg":"m"}';
    expect(parseOnly(spec({ format: 'plain' }), raw([line]))[0]).toMatchObject({ message: line });
    expect(parseOnly(spec({ format: 'json' }), raw([line]))[0]).toMatchObject({ message: 'm', level: 'warn' });
  });

  it('a time the source knows wins over the line\'s; an item without one keeps the line\'s', () => {
    const withTime = '{"msg":"m","time":"2025-05-05T05:05:05.000Z"}';
    const out = parseOnly(spec(), raw([withTime, withTime, 'no time'], { times: [1000, undefined, 2000] }));
    expect(out.map((r) => r.time)).toEqual([1000, Date.UTC(2025, 4, 5, 5, 5, 5), 2000]);
    expect(out.map((r) => r.received)).toEqual([NOW, NOW, NOW]); // when it was read, whatever its time
  });

  it('items of several origins each get their own', () => {
    const origins = [{ kind: 'docker', std: 'stdout' }, { kind: 'docker', std: 'stderr' }];
    const out = parseOnly(spec(), raw(['a', 'b', 'c'], { origins, originIdx: Uint8Array.from([1, 0, 1]) }));
    expect(out.map((r) => r.origin)).toEqual([origins[1], origins[0], origins[1]]);
    expect(out[0]!.origin).toBe(origins[1]);
  });

  it('byte runs are split into lines, in order with string items, counting lines, truncated and repaired', () => {
    const c = counters();
    const run = new Uint8Array(Buffer.from('xxone\ntwo\n\xff\nthis line is too long\n', 'latin1')).subarray(2);
    const out = parseOnly(spec({ counters: c, maxLineBytes: 8, format: 'plain' }), raw(['first', run, Buffer.from('last\n')]));
    expect(out.map((r) => r.message)).toEqual(['first', 'one', 'two', '\ufffd', expect.stringMatching(/^this lin/), 'last']);
    expect(out.every((r) => r.origin === ORIGIN && r.received === NOW && r.time === NOW)).toBe(true);
    expect(c).toEqual({ lines: 5, truncated: 1, repaired: 1, records: 0, parsed_inline: 0, push_errors: 0 });
  });

  it('a byte run with nothing to repair or cut makes no such counter', () => {
    const c = counters();
    parseOnly(spec({ counters: c }), raw([Buffer.from('a\nb\n')]));
    expect(c).toEqual({ lines: 2, records: 0, parsed_inline: 0, push_errors: 0 });
    expect('truncated' in c).toBe(false);
    expect('repaired' in c).toBe(false);
  });

  it('a records lane checks NDJSON records and leaves its tally on the batch', () => {
    const b = raw(['{"message":"ok","level":"info"}\n{"nope":1}\nnot json\n']);
    const out = parseOnly(spec({ records: true }), b);
    expect(out.map((r) => [r.message, r.level, r.source, r.stream])).toEqual([['ok', 'info', 'src', 'main']]);
    expect(b.tally).toMatchObject({ accepted: 1, rejected: 2 });
    // not a records lane: the same text is three log lines
    expect(parseOnly(spec(), raw(['{"message":"ok"}', '{"nope":1}'])).map((r) => r.message)).toEqual(['ok', '{"nope":1}']);
  });
});

describe('parseInline', () => {
  it('runs the source\'s stateless transforms over the parsed records and counts what they dropped', () => {
    const c = counters();
    const seen: string[][] = [];
    const plan = { applyThreaded: (rs: { message: string }[]) => (seen.push(rs.map((r) => r.message)), 2) } as unknown as TransformPlan;
    const out = parseInline(spec({ counters: c, transforms: plan }), raw(['a', 'b', 'c']));
    expect(seen).toEqual([['a', 'b', 'c']]);
    expect(out.map((r) => r.message)).toEqual(['a', 'b', 'c']);
    expect(c.transform_dropped).toBe(2);
    parseInline(spec({ counters: c, transforms: plan }), raw(['d']));
    expect(c.transform_dropped).toBe(4);
  });

  it('without transforms, only the parse', () => {
    const c = counters();
    expect(parseInline(spec({ counters: c }), raw(['a'])).map((r) => r.message)).toEqual(['a']);
    expect('transform_dropped' in c).toBe(false);
  });
});

describe('add', () => {
  it('adds to a counter, and makes an optional one only for a count that is not 0', () => {
    const c = counters();
    add(c, 'truncated', 0);
    expect('truncated' in c).toBe(false);
    add(c, 'truncated', 3);
    add(c, 'truncated', 2);
    expect(c.truncated).toBe(5);
    add(c, 'lines', -1);
    expect(c.lines).toBe(-1);
    add(c, 'records', 0);
    expect(c.records).toBe(0);
  });
});
