import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Hub } from '../hub/hub.js';
import { Block } from '../wire/block.js';
import type { Entry, RecordView } from '../hub/entry.js';
import { LEVELS, type Level, type LogRecord } from '../core/record.js';
import { E, SluiceError } from '../core/errors.js';
import { buildFilter } from './filter.js';

const rec = (message: string): LogRecord => ({ seq: 0, time: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' }, message, fields: {} });

function entriesOf(messages: string[]): Entry[] {
  const hub = new Hub({ seqStart: 0, defaults: { replay: 10_000, replayBytes: 1 << 26 }, streams: {}, drop: () => {} });
  hub.publish(messages.map(rec));
  return hub.records('a', 0, 10_000);
}

// text that exercises the byte path's edges: escapes, quotes, backslashes, controls, non-ASCII, the Kelvin sign
const piece = fc.constantFrom('a', 'B', 'k', 'K', 'n', '\n', '\\', '"', '\t', '\u0001', 'é', 'É', '\u212a', '日', '😀', ' ', 'x', 'N', 'u');
const text = fc.array(piece, { maxLength: 12 }).map((a) => a.join(''));

describe('live filters over a ring entry\'s bytes', () => {
  it('q: the same answer as a case-insensitive search of the decoded message', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), text, (messages, q) => {
        fc.pre(q.length > 0);
        const f = buildFilter({ q })!;
        const entries = entriesOf(messages);
        expect(entries.map((e) => f(e))).toEqual(messages.map((m) => m.toLowerCase().includes(q.toLowerCase())));
      }),
      { numRuns: 500 },
    );
  });

  it('re: the same answer as RE2 over the decoded message', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), fc.constantFrom('^a', 'k$', 'é+', '\\\\', '"', '\\n', '(?i)k', '.日', 'B.*x', '^$'), (messages, re) => {
        const f = buildFilter({ re })!;
        const entries = entriesOf(messages);
        const RE2 = new (createRequire(import.meta.url)('re2') as new (p: string) => { test(s: string): boolean })(re);
        expect(entries.map((e) => f(e))).toEqual(messages.map((m) => RE2.test(m)));
      }),
      { numRuns: 300 },
    );
  });

  it('q: a needle that is not printable ASCII is never searched as bytes (its latin1 bytes would be other letters)', () => {
    const entries = entriesOf(['q', 'quartz', 'CAFÉ']);
    // U+0171 in latin1 is 0x71 ('q'); U+212A (Kelvin) lowercases to an ASCII 'k'
    expect(entries.map((e) => buildFilter({ q: 'ű' })!(e))).toEqual([false, false, false]);
    expect(entries.map((e) => buildFilter({ q: 'é' })!(e))).toEqual([false, false, true]);
    expect(entriesOf(['ok']).map((e) => buildFilter({ q: '\u212a' })!(e))).toEqual([true]);
  });

  it('decides plain ASCII messages from the bytes: no message is decoded', () => {
    const entries = entriesOf(['GET /health 200', 'POST /login 401 Failed', 'failover done', 'ok']);
    const decode = vi.spyOn(Block.prototype, 'message');
    try {
      const q = buildFilter({ q: 'FAIL' })!;
      expect(entries.map((e) => q(e))).toEqual([false, true, true, false]);
      const re = buildFilter({ re: '^(GET|POST) ' })!;
      expect(entries.map((e) => re(e))).toEqual([true, true, false, false]);
      expect(decode).not.toHaveBeenCalled();
    } finally {
      decode.mockRestore();
    }
  });
});

describe('level, min_level and source filters, and how filters combine', () => {
  const view = (level: string | undefined, source = 's', message = 'm'): RecordView => ({ source, stream: 'a', message, ...(level !== undefined ? { level: level as Level } : {}) });

  it('no filter given: no test at all (every record passes without a call)', () => {
    expect(buildFilter({})).toBeUndefined();
    expect(buildFilter({ level: '', min_level: '', source: '', q: '', re: '' })).toBeUndefined();
  });

  it('level: a comma list (spaces and empty items ignored); a record without a level never matches', () => {
    const f = buildFilter({ level: ' warn , error,, ' })!;
    expect(['warn', 'error', 'info', 'critical', undefined].map((l) => f(view(l)))).toEqual([true, true, false, false, false]);
  });

  it('level: an unknown level is a FILTER_INVALID error naming it and the known ones', () => {
    const err = catchErr(() => buildFilter({ level: 'warn,loud' }));
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe(E.FILTER_INVALID.code);
    expect((err as Error).message).toBe(`level: unknown level "loud" (one of ${LEVELS.join(', ')})`);
  });

  it('min_level: that level and every more severe one; a record without a level never matches', () => {
    const f = buildFilter({ min_level: ' warn ' })!;
    expect(LEVELS.map((l) => f(view(l)))).toEqual(LEVELS.map((l) => LEVELS.indexOf(l) >= LEVELS.indexOf('warn')));
    expect(f(view(undefined))).toBe(false);
    const lowest = buildFilter({ min_level: 'trace' })!;
    expect(LEVELS.every((l) => lowest(view(l)))).toBe(true);
    expect(lowest(view(undefined))).toBe(false);
  });

  it('min_level: an unknown level is a FILTER_INVALID error', () => {
    const err = catchErr(() => buildFilter({ min_level: 'loud' }));
    expect((err as SluiceError).code).toBe(E.FILTER_INVALID.code);
    expect((err as Error).message).toBe('min_level: unknown level "loud"');
  });

  it('source: a comma list of exact names', () => {
    const f = buildFilter({ source: 'web, db' })!;
    expect(['web', 'db', 'webx', 'we', 'other'].map((s) => f(view('info', s)))).toEqual([true, true, false, false, false]);
  });

  it('re: an invalid pattern is a FILTER_INVALID error', () => {
    const err = catchErr(() => buildFilter({ re: '(unclosed' }));
    expect((err as SluiceError).code).toBe(E.FILTER_INVALID.code);
    expect((err as Error).message).toMatch(/^re: invalid RE2 pattern: /);
  });

  it('q and re on a record without message bytes look at its message', () => {
    expect(buildFilter({ q: 'FAIL' })!(view('info', 's', 'login failed'))).toBe(true);
    expect(buildFilter({ q: 'FAIL' })!(view('info', 's', 'ok'))).toBe(false);
    expect(buildFilter({ q: 'é' })!(view('info', 's', 'CAFÉ'))).toBe(true);
    expect(buildFilter({ re: '^lo' })!(view('info', 's', 'login'))).toBe(true);
    expect(buildFilter({ re: '^lo' })!(view('info', 's', 'a login'))).toBe(false);
  });

  it('all given filters must match (AND), whichever fails', () => {
    const f = buildFilter({ level: 'error', min_level: 'warn', source: 'web', q: 'disk', re: 'full$' })!;
    expect(f(view('error', 'web', 'disk full'))).toBe(true);
    expect(f(view('warn', 'web', 'disk full'))).toBe(false); // level
    expect(f(view('error', 'db', 'disk full'))).toBe(false); // source
    expect(f(view('error', 'web', 'cpu full'))).toBe(false); // q
    expect(f(view('error', 'web', 'disk fullness'))).toBe(false); // re
    const g = buildFilter({ min_level: 'error', source: 'web' })!;
    expect(g(view('info', 'web'))).toBe(false); // the first fails, the last passes
    expect(g(view('error', 'db'))).toBe(false); // the first passes, the last fails
    expect(g(view('alert', 'web'))).toBe(true);
  });
});

function catchErr(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
