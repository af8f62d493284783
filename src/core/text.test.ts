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
