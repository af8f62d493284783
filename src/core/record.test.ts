import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { emptyFields, LEVEL_CODE, LEVELS, levelOfCode, type LogRecord } from './record.js';
import { isoTime, serializeRecord } from '../wire/json.js';

describe('serializeRecord', () => {
  it('matches JSON.stringify of the contract shape for any content', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 0, max: 4102444800000 }), (msg, src, fields, t) => {
        const r: LogRecord = { seq: 7, time: t, received: t, source: src, stream: 's', origin: { kind: 'file', path: '/x' }, level: 'warn', message: msg, fields };
        const parsed = JSON.parse(serializeRecord(r));
        expect(parsed).toEqual(
          JSON.parse(JSON.stringify({ seq: 7, time: new Date(t).toISOString(), source: src, stream: 's', origin: { kind: 'file', path: '/x' }, level: 'warn', message: msg, fields })),
        );
      }),
    );
  });

  it('renders RFC 3339 with milliseconds exactly as Date#toISOString for any time', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62167219200000, max: 253402300799999 }), (t) => {
        expect(isoTime(t)).toBe(new Date(t).toISOString());
      }),
      { numRuns: 20_000 },
    );
    expect(isoTime(1.5)).toBe('1970-01-01T00:00:00.001Z');
    expect(isoTime(NaN)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(2e15)).toBe(new Date(2e15).toISOString());
  });

  it('renders RFC 3339 with milliseconds', () => {
    expect(isoTime(Date.UTC(2026, 10, 23, 12, 0, 0, 5))).toBe('2026-11-23T12:00:00.005Z');
    expect(isoTime(Date.UTC(2026, 10, 23, 12, 0, 0, 999))).toBe('2026-11-23T12:00:00.999Z');
    expect(isoTime(Date.UTC(2026, 10, 23, 12, 0, 1, 0))).toBe('2026-11-23T12:00:01.000Z');
  });
});

describe('level codes', () => {
  it('0 is no level; 1..9 are LEVELS in order, and LEVEL_CODE is the inverse', () => {
    expect(levelOfCode(0)).toBeUndefined();
    expect(levelOfCode(1)).toBe('trace');
    expect(levelOfCode(9)).toBe('emergency');
    expect(levelOfCode(10)).toBeUndefined();
    for (const [i, l] of LEVELS.entries()) {
      expect(LEVEL_CODE.get(l)).toBe(i + 1);
      expect(levelOfCode(i + 1)).toBe(l);
    }
  });

  it('emptyFields is one frozen empty object', () => {
    expect(emptyFields()).toBe(emptyFields());
    expect(emptyFields()).toEqual({});
    expect(Object.isFrozen(emptyFields())).toBe(true);
  });
});
