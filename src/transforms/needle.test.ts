import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holds, NeedleSearch } from './needle.js';

// a small alphabet, so that needles and their parts occur often and near misses are the rule
const text = fc.uint8Array({ minLength: 0, maxLength: 300, size: 'max' }).map((a) => Buffer.from(a.map((b) => 0x61 + (b % 3))));
const needle = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((a) => Buffer.from(a.map((b) => 0x61 + (b % 3))));

describe('NeedleSearch', () => {
  it('finds what indexOf finds, from any offset, anchored at any byte of the needle', () => {
    fc.assert(
      fc.property(text, needle, fc.nat(320), fc.nat(5), (buf, nd, from, k) => {
        const s = new NeedleSearch(nd);
        s.anchorAt(k % nd.length);
        expect(s.find(buf, from)).toBe(buf.indexOf(nd, from));
      }),
      { numRuns: 3000 },
    );
  });

  it('anchors at the byte of the needle the text holds least of', () => {
    const s = new NeedleSearch(Buffer.from('token='));
    s.newText(Buffer.from('a=b c=d e=f tone '.repeat(60)));
    expect(s.anchor).toBe(2); // "k" is not in the text, every other byte of the needle is
    const t = new NeedleSearch(Buffer.from('token='));
    t.newText(Buffer.from('xyz '.repeat(60)));
    expect(t.anchor).toBe(5); // none is: the last, the shortest tail
    expect(t.find(Buffer.from('tokeX= token='), 0)).toBe(7);
  });

  it('counts again only every 64th text', () => {
    const s = new NeedleSearch(Buffer.from('ab'));
    s.newText(Buffer.from('aaaa'));
    expect(s.anchor).toBe(1);
    for (let i = 1; i < 64; i++) s.newText(Buffer.from('bbbb'));
    expect(s.anchor).toBe(1);
    s.newText(Buffer.from('bbbb'));
    expect(s.anchor).toBe(0);
  });

  it('an empty needle or an anchor outside it is refused', () => {
    expect(() => new NeedleSearch(Buffer.alloc(0))).toThrow(/empty needle/);
    expect(() => new NeedleSearch(Buffer.from('ab')).anchorAt(2)).toThrow(/outside the needle/);
  });
});

describe('holds', () => {
  it('says whether buf[from, to) holds the needle, as a view and includes would', () => {
    fc.assert(
      fc.property(text, needle, fc.nat(300), fc.nat(300), (buf, nd, a, b) => {
        const [from, to] = a <= b ? [a, Math.min(b, buf.length)] : [b, Math.min(a, buf.length)];
        expect(holds(buf, from, to, nd)).toBe(from <= to && buf.subarray(from, to).includes(nd));
      }),
      { numRuns: 3000 },
    );
  });
});
