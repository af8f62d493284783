import { describe, expect, it } from 'vitest';
import { isMainThread } from 'node:worker_threads';
import fc from 'fast-check';
import { parseTimestamp, scanTimestamp, timeScan } from './time.js';

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo - 1, d, h, mi, s, ms).getTime();

describe('parseTimestamp', () => {
  it('parses RFC 3339 with Z, offsets, and fractions of any precision', () => {
    expect(parseTimestamp('2026-11-23T12:00:00Z')).toBe(Date.UTC(2026, 10, 23, 12));
    expect(parseTimestamp('2026-11-23T12:00:00.1Z')).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 100));
    expect(parseTimestamp('2026-11-23T12:00:00.123456789Z')).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 123));
    expect(parseTimestamp('2026-11-23T12:00:00.123456+00:00')).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 123));
    expect(parseTimestamp('2026-11-23T12:00:00+05:30')).toBe(Date.UTC(2026, 10, 23, 6, 30));
    expect(parseTimestamp('2026-11-23T12:00:00-0800')).toBe(Date.UTC(2026, 10, 23, 20));
    expect(parseTimestamp('2026-11-23T12:00:00-08')).toBe(Date.UTC(2026, 10, 23, 20));
    expect(parseTimestamp('2026-11-23 12:00:00.5z')).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 500));
    expect(parseTimestamp('2026-11-23t12:00Z')).toBe(Date.UTC(2026, 10, 23, 12));
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('2026-12-31T23:59:60Z')).toBe(Date.UTC(2027, 0, 1)); // leap second
  });

  it('agrees with Date.parse on many generated RFC 3339 strings', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1971, 0, 1)), max: new Date(Date.UTC(9998, 0, 1)), noInvalidDate: true }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (d, offMin) => {
          const shifted = new Date(d.getTime() + offMin * 60000);
          const sign = offMin < 0 ? '-' : '+';
          const a = Math.abs(offMin);
          const off = offMin === 0 ? 'Z' : `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
          const s = shifted.toISOString().slice(0, 23) + off;
          expect(parseTimestamp(s)).toBe(Date.parse(s));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('takes wall-clock times without an offset as local time, with , or . fractions and / dates', () => {
    expect(parseTimestamp('2026-11-23 12:00:00,123')).toBe(local(2026, 11, 23, 12, 0, 0, 123));
    expect(parseTimestamp('2026-11-23T12:00:00')).toBe(local(2026, 11, 23, 12));
    expect(parseTimestamp('2026/11/23 12:00:00')).toBe(local(2026, 11, 23, 12));
  });

  it('parses a bare date only as a whole value (midnight UTC)', () => {
    expect(parseTimestamp('2026-11-23')).toBe(Date.UTC(2026, 10, 23));
    expect(scanTimestamp('2026-11-23 boot', 0)).toBeNaN();
  });

  it("parses Go's time.String form", () => {
    expect(parseTimestamp('2026-11-23 12:00:00.123456789 -0700 MST')).toBe(Date.UTC(2026, 10, 23, 19, 0, 0, 123));
    expect(parseTimestamp('2026-11-23 12:00:00 +0000 UTC')).toBe(Date.UTC(2026, 10, 23, 12));
  });

  it('parses epoch numbers by magnitude', () => {
    const ms = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    expect(parseTimestamp(ms / 1000)).toBe(ms);
    expect(parseTimestamp(ms)).toBe(ms);
    expect(parseTimestamp(ms * 1000 + 456)).toBe(ms);
    expect(parseTimestamp(ms * 1e6)).toBe(ms);
    expect(parseTimestamp(String(ms))).toBe(ms);
    expect(parseTimestamp('1795435200.123')).toBe(1795435200123);
    expect(parseTimestamp(String(ms) + '456789')).toBe(ms); // ns as a string
  });

  it('parses RFC 3164 timestamps with the year inferred from now', () => {
    const now = local(2026, 11, 23, 13);
    expect(parseTimestamp('Nov 23 12:00:00', now)).toBe(local(2026, 11, 23, 12));
    expect(parseTimestamp('Nov  3 01:02:03', now)).toBe(local(2026, 11, 3, 1, 2, 3));
    expect(parseTimestamp('nov 3 01:02:03.250', now)).toBe(local(2026, 11, 3, 1, 2, 3, 250));
    // Within a day ahead (clock skew) stays this year; further ahead is last year.
    expect(parseTimestamp('Nov 24 12:00:00', now)).toBe(local(2026, 11, 24, 12));
    expect(parseTimestamp('Dec 31 23:59:59', local(2027, 1, 1, 0, 0, 5))).toBe(local(2026, 12, 31, 23, 59, 59));
    expect(parseTimestamp('Nov 25 12:00:00', now)).toBe(local(2025, 11, 25, 12));
    // An explicit year wins.
    expect(parseTimestamp('Nov 25 2026 12:00:00', now)).toBe(local(2026, 11, 25, 12));
  });

  it('parses ctime and common log format', () => {
    expect(parseTimestamp('Mon Nov 23 12:00:00 2026')).toBe(local(2026, 11, 23, 12));
    expect(parseTimestamp('Sat Nov 23 12:00:00.123456 2026')).toBe(local(2026, 11, 23, 12, 0, 0, 123));
    expect(parseTimestamp('23/Nov/2026:12:00:00 +0100')).toBe(Date.UTC(2026, 10, 23, 11));
  });

  // TZ is read per process: a worker thread (StrykerJS runs tests in one) cannot change it
  if (!isMainThread) console.log('skipped: setting TZ needs the main thread; this run is in a worker thread');
  it.skipIf(!isMainThread)('uses the local zone for local forms (run under a non-UTC zone)', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      expect(parseTimestamp('2026-05-07T08:09:10')).toBe(Date.UTC(2026, 4, 7, 2, 39, 10));
      expect(parseTimestamp('May  7 08:19:10', Date.UTC(2026, 4, 8))).toBe(Date.UTC(2026, 4, 7, 2, 49, 10));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('rejects nonsense', () => {
    for (const v of [
      '', 'now', 'yesterday', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-11-23T24:00:00Z',
      '2026-11-23T12:60:00Z', '2026-11-23T12:00:61Z', '2026-11-23T12:00:00+25:00', '2026-11-23T12:00:00Zjunk', '0001-01-01T00:00:00Z',
      '1969-01-01T00:00:00Z', 'Foo 23 12:00:00', 'Nov 32 12:00:00', 'Nov 23 12:00', '12', '12.5', '1e12', '0x5f5e1000', '-1795435200',
      NaN, Infinity, -5, 0, 12345, 1e25, null, undefined, {}, [], true,
    ]) {
      expect(parseTimestamp(v), String(v)).toBeUndefined();
    }
  });

  it('scanTimestamp finds a timestamp prefix and its end', () => {
    const s = '2026-11-23T12:00:00.5Z host app: msg';
    expect(scanTimestamp(s, 0)).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 500));
    expect(timeScan.end).toBe(22);
    expect(scanTimestamp('x Nov 23 12:00:00 rest', 2, local(2026, 12, 1))).toBe(local(2026, 11, 23, 12));
    expect(timeScan.end).toBe(17);
  });

  it('property: never throws, returns a finite in-range number or undefined', () => {
    const texty = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.stringMatching(/^[0-9:T .,+\-Z/]{0,40}$/),
      fc.stringMatching(/^(Jan|Nov|Mon|Sat) [ 0-9]{1,3}[0-9: .]{0,20}$/),
    );
    fc.assert(
      fc.property(fc.oneof(texty, fc.double(), fc.anything()), (v) => {
        const t = parseTimestamp(v, 1795435200000);
        expect(t === undefined || (Number.isFinite(t) && t >= 0 && t <= 253402300799999)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
