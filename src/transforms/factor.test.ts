import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { factorIn, factorVerbatim, requiredFactor, type Factor } from './factor.js';

const bytesOf = (f: Factor, k: number): string => {
  let s = '';
  for (let b = 0; b < 256; b++) if (f.sets[256 * k + b] === 1) s += String.fromCharCode(b);
  return s;
};
const holds = (f: Factor, text: string): boolean => {
  const b = Buffer.from(text, 'utf8');
  return factorIn(f, b, 0, b.length);
};

describe('requiredFactor', () => {
  it('reads the IPv4 pattern as a digit, a dot and a digit, anchored at the dot', () => {
    const f = requiredFactor('(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)')!;
    expect(f.length).toBe(3);
    expect([0, 1, 2].map((k) => bytesOf(f, k))).toEqual(['0123456789', '.', '0123456789']);
    expect(f.anchor).toBe(1);
    expect(holds(f, 'from 10.1.2.3 on')).toBe(true);
    expect(holds(f, 'example.com 85% 1. .2')).toBe(false);
    expect(factorVerbatim(f)).toBe(true);
  });

  it('ends a run at a repeated atom, leaves out optional ones, passes over assertions', () => {
    // ab+c: "abbc" holds neither "abc" nor anything longer than "ab" or "bc"
    const f = requiredFactor('ab+c')!;
    expect(f.length).toBe(2);
    expect(holds(f, 'abbbc')).toBe(true);
    // x?: "ac" matches a x? c
    expect(holds(requiredFactor('ax?c')!, 'ac')).toBe(true);
    expect(requiredFactor('\\bERROR\\b')!.length).toBe(5);
    // a repeated group: what it needs holds inside it, not through it ("xababc" has no "xabc")
    expect(holds(requiredFactor('x(?:ab)+c')!, 'xababc')).toBe(true);
    expect(holds(requiredFactor('x(?:ab){0,2}yz')!, 'xyz')).toBe(true);
    expect(requiredFactor('^id=\\d+$')!.length).toBe(4);
  });

  it('gives no factor where it cannot be sure: alternation, flags, octal, a bare quantifier, unbalanced groups', () => {
    for (const p of ['a|b', '(?i)abc', '(?s:a.b)', '\\101bc', '+a', '(ab', 'ab)', '[[:alpha:]]x', '\\Qa|b\\E']) expect(requiredFactor(p), p).toBeUndefined();
  });

  it('a class past ASCII, a negated class or a dot ends the run, the rest still counts', () => {
    expect(holds(requiredFactor('ab[^x]cd')!, 'ab\u00e9cd')).toBe(true);
    expect(requiredFactor('ab.cd')!.length).toBe(2);
    expect(requiredFactor('\u00e9t\u00e9')!.length).toBe(1);
  });

  it('a factor of bytes JSON escapes is not verbatim', () => {
    expect(factorVerbatim(requiredFactor('\\tDROP')!)).toBe(false);
    expect(factorVerbatim(requiredFactor('key="x')!)).toBe(false);
    expect(factorVerbatim(requiredFactor('a\\sb')!)).toBe(false);
  });

  // the guarantee the gates rely on: wherever RE2 finds a match, the factor is in the text
  const atom = fc.constantFrom('a', 'b', '1', '-', ' ', '=', '\\.', '\\d', '\\w', '\\s', '\\S', '\\D', '[a-c]', '[0-9.]', '[-a]', '[]a]', '.', '\u00e9', '\\pL', '\\x41', '\\b', '^', '$', '\\n', '{', '}', ']');
  const quant = fc.constantFrom('', '', '', '+', '*', '?', '{2}', '{1,3}', '{0,2}', '{2,}', '+?');
  const piece: fc.Arbitrary<string> = fc.letrec((tie) => ({
    piece: fc.oneof({ weight: 4, arbitrary: fc.tuple(atom, quant).map(([a, q]) => (/^[\\^$]b?$|^\\b$/.test(a) && q !== '' ? a : a + q)) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('(', '(?:', '(?P<v>'), fc.array(tie('piece') as fc.Arbitrary<string>, { minLength: 1, maxLength: 3 }), quant).map(([o, xs, q]) => o + xs.join('') + ')' + q) }),
  })).piece;
  const pattern = fc.array(piece, { minLength: 1, maxLength: 6 }).map((xs) => xs.join(''));
  const text = fc.array(fc.constantFrom('a', 'b', 'c', '1', '2', '.', '-', ' ', '=', '\n', '\t', 'A', '\u00e9', '_', ']', '{', '}'), { minLength: 0, maxLength: 24 }).map((xs) => xs.join(''));

  it('never says no where RE2 matches (random patterns over the syntax it reads, random texts)', () => {
    let found = 0;
    let filtered = 0;
    fc.assert(
      fc.property(pattern, fc.array(text, { minLength: 20, maxLength: 20 }), (p, texts) => {
        let re: RE2;
        try {
          re = new RE2(p, 'u');
        } catch {
          return; // not a pattern RE2 takes: the config refuses it before any gate is made
        }
        const f = requiredFactor(p);
        if (f === undefined) return;
        found++;
        for (const t of texts) {
          const b = Buffer.from(t, 'utf8');
          const m = re.test(b);
          const h = factorIn(f, b, 0, b.length);
          if (m) expect(h, `${p} on ${JSON.stringify(t)}`).toBe(true);
          else if (!h) filtered++;
        }
      }),
      { numRuns: 3000 },
    );
    // the property is not empty: factors were read and they did keep texts from RE2
    expect(found).toBeGreaterThan(500);
    expect(filtered).toBeGreaterThan(1000);
  });

  it('looks only inside [from, to)', () => {
    const f = requiredFactor('\\d\\.\\d')!;
    const b = Buffer.from('1.2 ab 3.4', 'utf8');
    expect(factorIn(f, b, 0, 3)).toBe(true);
    expect(factorIn(f, b, 1, 3)).toBe(false);
    expect(factorIn(f, b, 0, 2)).toBe(false);
    expect(factorIn(f, b, 3, 10)).toBe(true);
    expect(factorIn(f, b, 3, 9)).toBe(false);
  });
});
