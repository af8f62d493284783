import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LEVELS } from '../core/record.js';
import { levelFromNumber, normalizeLevel } from './level.js';

describe('normalizeLevel', () => {
  it('maps words in any case', () => {
    const cases: [string, string][] = [
      ['trace', 'trace'], ['TRACE', 'trace'], ['Verbose', 'trace'],
      ['debug', 'debug'], ['DBG', 'debug'], ['dEbUg', 'debug'],
      ['info', 'info'], ['Information', 'info'], ['INFORMATIONAL', 'info'], ['INF', 'info'],
      ['notice', 'notice'], ['NOTICE', 'notice'],
      ['warn', 'warn'], ['WARNING', 'warn'], ['Warning', 'warn'], ['WRN', 'warn'],
      ['err', 'error'], ['ERROR', 'error'], ['Error', 'error'], ['SEVERE', 'error'],
      ['crit', 'critical'], ['critical', 'critical'], ['FATAL', 'critical'], ['dpanic', 'critical'],
      ['alert', 'alert'], ['ALERT', 'alert'],
      ['emerg', 'emergency'], ['Emergency', 'emergency'], ['panic', 'emergency'],
      [' warn ', 'warn'],
    ];
    for (const [input, want] of cases) expect(normalizeLevel(input), input).toBe(want);
  });

  it('maps unambiguous single letters only', () => {
    expect(normalizeLevel('E')).toBe('error');
    expect(normalizeLevel('w')).toBe('warn');
    expect(normalizeLevel('I')).toBe('info');
    expect(normalizeLevel('D')).toBe('debug');
    expect(normalizeLevel('F')).toBe('critical');
    expect(normalizeLevel('V')).toBe('trace');
    expect(normalizeLevel('A')).toBeUndefined();
    expect(normalizeLevel('C')).toBeUndefined();
    expect(normalizeLevel('x')).toBeUndefined();
  });

  it('maps syslog severities 0-7 and pino/bunyan levels, as numbers and as digit strings', () => {
    const syslog = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'];
    for (let i = 0; i < 8; i++) {
      expect(normalizeLevel(i)).toBe(syslog[i]);
      expect(normalizeLevel(String(i))).toBe(syslog[i]);
    }
    const pino: [number, string][] = [[10, 'trace'], [20, 'debug'], [30, 'info'], [35, 'info'], [40, 'warn'], [50, 'error'], [60, 'critical']];
    for (const [n, want] of pino) {
      expect(normalizeLevel(n)).toBe(want);
      expect(normalizeLevel(String(n))).toBe(want);
    }
  });

  it('rejects what is not a level', () => {
    for (const v of [8, 9, 70, 100, -1, 3.5, NaN, Infinity, '', 'terror', 'errors', 'information!', '0x1', '1e1', '1000', '3 ', null, undefined, {}, [], true, 'x'.repeat(100)]) {
      expect(normalizeLevel(v), String(v)).toBeUndefined();
    }
    expect(levelFromNumber(70)).toBeUndefined();
  });

  it('property: any input gives a Level or undefined, never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.anything()), (v) => {
        const l = normalizeLevel(v);
        expect(l === undefined || (LEVELS as readonly string[]).includes(l)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
