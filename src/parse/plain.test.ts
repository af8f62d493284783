import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parsePlain } from './plain.js';

const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => new Date(y, mo - 1, d, h, mi, s, ms).getTime();
const NOW = local(2026, 11, 23, 13);

describe('parsePlain', () => {
  it('keeps the whole line as the message', () => {
    const line = '2026-11-23T12:00:00Z ERROR something broke';
    const r = parsePlain(line);
    expect(r.message).toBe(line);
    expect(r.fields).toEqual({});
    expect(r.host).toBeUndefined();
  });

  it('finds leading timestamps in the usual forms', () => {
    const cases: [string, number][] = [
      ['2026-11-23T12:00:00.5Z started', Date.UTC(2026, 10, 23, 12, 0, 0, 500)],
      ['2026-11-23 12:00:00,123 - app - INFO - hi', local(2026, 11, 23, 12, 0, 0, 123)],
      ['2026/11/23 12:00:00 [error] 123#0: *1 open() failed', local(2026, 11, 23, 12)],
      ['[2026-11-23 12:00:00] local.ERROR: boom', local(2026, 11, 23, 12)],
      ['[Mon Nov 23 12:00:00.123456 2026] [core:error] [pid 9] AH00037: x', local(2026, 11, 23, 12, 0, 0, 123)],
      ['Nov 23 12:00:00 kernel panic', local(2026, 11, 23, 12)],
      ['93.184.216.34 - - [23/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"', Date.UTC(2026, 10, 23, 12)],
      ['::1 - frank [23/Nov/2026:12:00:00 -0100] "GET / HTTP/1.1" 200 1', Date.UTC(2026, 10, 23, 13)],
      ['E1123 12:00:00.123456    1234 main.go:42] boom', local(2026, 11, 23, 12, 0, 0, 123)],
    ];
    for (const [line, t] of cases) expect(parsePlain(line, NOW).time, line).toBe(t);
    for (const line of ['hello 2026-11-23T12:00:00Z', '200 OK', '1795435200 epoch-looking', 'Error: x', '[not a date] x']) {
      expect(parsePlain(line, NOW).time, line).toBeUndefined();
    }
  });

  it('finds the first level word written as a level', () => {
    const cases: [string, string | undefined][] = [
      ['2026-11-23 12:00:00.123 [main] ERROR c.e.App - failed', 'error'],
      ['WARNING:root:disk almost full', 'warn'],
      ['2026-11-23T12:00:00.123Z  INFO 1234 --- [main] c.e.App : Started', 'info'],
      ['2026/11/23 12:00:00 [error] 123#0: open() failed', 'error'],
      ['[Mon Nov 23 12:00:00 2026] [core:error] [pid 9] x', 'error'],
      ['error: could not open file', 'error'],
      ['Warning: deprecated option', 'warn'],
      ['ts=1 level=warn something', 'warn'],
      ['x severity=Critical y', 'critical'],
      ['<E> broken', 'error'],
      ['[W] careful', 'warn'],
      ['(debug) value=3', 'debug'],
      ['W1123 12:00:00.000000 1 x.go:1] glog warning', 'warn'],
      ['FATAL: out of memory', 'critical'],
      // Not levels:
      ['a terror attack on errors', undefined],
      ['an error occurred in the trace', undefined],
      ['stack trace follows', undefined],
      ['error_code=5 errorCount=2', undefined],
      ['I think it works', undefined],
      ['x'.repeat(90) + ' ERROR late', undefined],
      ['Exception in thread "main" java.lang.NullPointerException: Cannot invoke "String.length()"', undefined],
      ['\tat com.example.App.main(App.java:10)', undefined],
      ['Traceback (most recent call last):', undefined],
      ['  File "/app/main.py", line 3, in <module>', undefined],
      ['ValueError: invalid literal for int() with base 10', undefined],
    ];
    for (const [line, level] of cases) expect(parsePlain(line, NOW).level, line).toBe(level);
  });

  it('property: never throws and always returns the line as message', () => {
    const inputs = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.stringMatching(/^[[<(]?[A-Za-z0-9:/ .,\-+]{0,30}[\]>)]? ?[A-Za-z=:[\]<> ]{0,40}$/),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('utf8')),
    );
    fc.assert(
      fc.property(inputs, (line) => {
        const r = parsePlain(line, NOW);
        expect(r.message).toBe(line);
        expect(r.time === undefined || Number.isFinite(r.time)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
