import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayName, nameProblem } from './text.js';

describe('nameProblem', () => {
  it('accepts ordinary names in any script, emoji included', () => {
    for (const ok of ['payment failed', 'Zahlung fehlgeschlagen – Stufe 2', '支払い失敗', 'ops 🚨', 'a']) expect(nameProblem(ok)).toBeUndefined();
  });

  it('refuses NUL and other controls, naming the code point and where', () => {
    expect(nameProblem('a\u0000b')).toBe('contains a control character (U+0000 at index 1)');
    expect(nameProblem('\u001b[2Jclear')).toMatch(/control character \(U\+001B at index 0\)/);
    expect(nameProblem('tab\there')).toMatch(/U\+0009/);
    expect(nameProblem('del\u007f')).toMatch(/U\+007F/);
    expect(nameProblem('c1\u0085')).toMatch(/U\+0085/);
  });

  it('refuses bidi overrides, isolates and marks', () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      expect(nameProblem(`abc${String.fromCodePoint(cp)}def`), cp.toString(16)).toMatch(/bidirectional formatting character \(U\+[0-9A-F]{4} at index 3\)/);
    }
  });

  it('refuses lone surrogates, high or low, anywhere', () => {
    expect(nameProblem('x\ud800')).toBe('contains a lone surrogate (U+D800 at index 1)');
    expect(nameProblem('\udc00x')).toBe('contains a lone surrogate (U+DC00 at index 0)');
    expect(nameProblem('\ud83d\ud83d\udea8')).toBe('contains a lone surrogate (U+D83D at index 0)');
  });

  it('property: any string is refused exactly when it has a forbidden code point or is not well-formed', () => {
    const forbidden = (s: string) =>
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(s) || Buffer.from(s, 'utf8').toString('utf8') !== s; // a lone surrogate does not survive UTF-8
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      expect(nameProblem(s) !== undefined).toBe(forbidden(s));
    }), { numRuns: 2000 });
  });

  it('displayName trims and reports the problem through zod', () => {
    expect(displayName().parse('  ok  ')).toBe('ok');
    const r = displayName().safeParse('bad\u202ename');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/bidirectional/);
  });
});

describe('nameProblem and displayName at their edges', () => {
  it('names DEL and the C1 range as control characters, up to U+009F and not past it', () => {
    expect(nameProblem('a\u007f')).toBe('contains a control character (U+007F at index 1)');
    expect(nameProblem('a\u0080')).toBe('contains a control character (U+0080 at index 1)');
    expect(nameProblem('a\u009f')).toBe('contains a control character (U+009F at index 1)');
    expect(nameProblem('\u001f')).toBe('contains a control character (U+001F at index 0)');
    expect(nameProblem('\u00a0\u007e ')).toBeUndefined();
    expect(nameProblem('a\u061c')).toBe('contains a bidirectional formatting character (U+061C at index 1)');
  });

  it('a pair at the very end or the surrogate range edges', () => {
    expect(nameProblem('\ud7ff\ue000')).toBeUndefined(); // just outside the surrogates
    expect(nameProblem('\udbff\udfff')).toBeUndefined(); // the last pair
    expect(nameProblem('\ud800\udc00')).toBeUndefined();
    expect(nameProblem('\udbff')).toBe('contains a lone surrogate (U+DBFF at index 0)');
    expect(nameProblem('\udfff')).toBe('contains a lone surrogate (U+DFFF at index 0)');
    expect(nameProblem('\ud800\ue000')).toBe('contains a lone surrogate (U+D800 at index 0)'); // a high one before no low one
    expect(nameProblem('\udc00\udc00')).toBe('contains a lone surrogate (U+DC00 at index 0)'); // two lows are no pair
    expect(nameProblem('\ud800\ud800\udc00')).toBe('contains a lone surrogate (U+D800 at index 0)');
    expect(nameProblem('ok\ud83d\udea8\u0001')).toBe('contains a control character (U+0001 at index 4)');
  });

  it('displayName: 1 to 200 characters after trimming', () => {
    expect(displayName().safeParse('').success).toBe(false);
    expect(displayName().safeParse('   ').success).toBe(false);
    expect(displayName().parse('x'.repeat(200))).toBe('x'.repeat(200));
    expect(displayName().safeParse('x'.repeat(201)).success).toBe(false);
    expect(displayName().parse(' ' + 'x'.repeat(200) + ' ')).toBe('x'.repeat(200));
    expect(displayName().safeParse('a\u0000').error?.issues).toEqual([expect.objectContaining({ code: 'custom', message: 'contains a control character (U+0000 at index 1)' })]);
  });
});
