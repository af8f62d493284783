import { describe, expect, it } from 'vitest';
import { truncateUtf8 } from './truncate.js';

describe('truncateUtf8', () => {
  it('keeps text that fits, to the byte, and cuts what does not with an ellipsis within the limit', () => {
    expect(truncateUtf8('abcdefghij', 10)).toBe('abcdefghij'); // 10 bytes in 10: kept (the fast path does not decide it)
    expect(truncateUtf8('abcdefghijk', 10)).toBe('abcdefg…');
    expect(Buffer.byteLength(truncateUtf8('abcdefghijk', 10))).toBe(10);
    expect(truncateUtf8('abc', 9)).toBe('abc');
  });

  it('cuts on a character boundary, never inside a multi-byte character', () => {
    // é is 2 bytes, 😀 is 4: the cut steps back to the start of the character it would split
    expect(truncateUtf8('ééééé', 8)).toBe('éé…');
    expect(truncateUtf8('a😀😀', 8)).toBe('a😀…');
    expect(truncateUtf8('a😀😀', 7)).toBe('a…');
    for (const t of ['ééééé', 'a😀😀b', '日本語のテキスト']) {
      for (let max = 3; max < Buffer.byteLength(t); max++) {
        const out = truncateUtf8(t, max);
        expect(Buffer.byteLength(out)).toBeLessThanOrEqual(max);
        expect(out.endsWith('…')).toBe(true);
        expect(out).not.toContain('\uFFFD');
      }
    }
  });
});
