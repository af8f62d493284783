import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isoTime, serializeRecord, type LogRecord } from './record.js';

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

  it('renders RFC 3339 with milliseconds, cached per second', () => {
    expect(isoTime(Date.UTC(2026, 10, 23, 12, 0, 0, 5))).toBe('2026-11-23T12:00:00.005Z');
    expect(isoTime(Date.UTC(2026, 10, 23, 12, 0, 0, 999))).toBe('2026-11-23T12:00:00.999Z');
    expect(isoTime(Date.UTC(2026, 10, 23, 12, 0, 1, 0))).toBe('2026-11-23T12:00:01.000Z');
  });
});
