import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiteralDecoder } from './literal.js';

/** `s` as a JSON literal, each character escaped or not at random (all the forms JSON allows, not only JSON.stringify's). */
function literalOf(s: string, picks: number[]): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    const pick = picks[i % Math.max(1, picks.length)] ?? 0;
    const must = c === '"' || c === '\\' || code < 0x20 || (code >= 0xd800 && code < 0xe000);
    const short = c === '/' ? '\\/' : JSON.stringify(c).slice(1, -1);
    if (pick % 3 === 1 || (must && pick % 3 === 0)) out += short === c ? '\\u' + code.toString(16).padStart(4, '0') : short;
    else if (pick % 3 === 2 || must) out += '\\u' + (pick % 2 ? code.toString(16).toUpperCase() : code.toString(16)).padStart(4, '0');
    else out += c;
  }
  return out + '"';
}

describe('LiteralDecoder', () => {
  const d = new LiteralDecoder();
  const decode = (lit: string, pad = ''): Buffer => {
    const b = Buffer.from(pad + lit + pad);
    return Buffer.from(d.decode(b, Buffer.byteLength(pad), Buffer.byteLength(pad + lit)));
  };

  it('gives the bytes of Buffer.from(JSON.parse(literal)) for any text, escaped in any form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: fc.constantFrom('/', '"', '\\', '\n', 'a', 'é', '\ud83d', '\ude00'), maxLength: 20 })), fc.array(fc.nat(5), { maxLength: 8 }), fc.constantFrom('', 'x"\\', 'é'), (s, picks, pad) => {
        const lit = literalOf(s, picks);
        expect(decode(lit, pad)).toEqual(Buffer.from(JSON.parse(lit) as string, 'utf8'));
      }),
      { numRuns: 5000 },
    );
  });

  it('a pair of escaped surrogates is one character, a lone one U+FFFD', () => {
    expect(decode('"\\ud83d\\ude00"').toString()).toBe('😀');
    expect(decode('"a\\ud83d"')).toEqual(Buffer.from('a\ufffd'));
    expect(decode('"\\ude00\\ud83d x"')).toEqual(Buffer.from('\ufffd\ufffd x'));
    expect(decode('"\\ud83d\\u0041"')).toEqual(Buffer.from('\ufffdA'));
  });

  it('grows for a long literal, and each result is its own text', () => {
    const long = 'ü\\n'.repeat(2000);
    expect(decode(`"${long}"`).toString()).toBe('ü\n'.repeat(2000));
    expect(decode('"short"').toString()).toBe('short');
  });

  it('a literal that is not JSON throws', () => {
    for (const bad of ['"\\x41"', '"\\u12"', '"\\u12G4"', '"a\\"']) expect(() => decode(bad), bad).toThrow(SyntaxError);
  });
});
