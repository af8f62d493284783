import { describe, expect, it } from 'vitest';
import { captures, compilePattern, groupNames, hasGroups, MAX_CAPTURE_CHARS, MAX_PATTERN_LENGTH, testPattern, Utf8Scratch } from './compile.js';
import { truncateUtf8 } from './truncate.js';

describe('compilePattern', () => {
  it('returns RE2 compile errors as messages', () => {
    const look = compilePattern('foo(?=bar)');
    expect(look.ok).toBe(false);
    expect(!look.ok && look.error).toMatch(/invalid perl operator/);
    const paren = compilePattern('(unclosed');
    expect(!paren.ok && paren.error).toMatch(/missing \)/);
    expect(compilePattern('').ok).toBe(false);
    expect(compilePattern('x'.repeat(5000)).ok).toBe(false);
    expect(compilePattern('(?i)error').ok).toBe(true);
  });

  it('backreferences are refused (not RE2)', () => {
    expect(compilePattern('(a)\\1').ok).toBe(false);
  });
});

describe('captures', () => {
  it('names named groups and numbers the rest distinctly', () => {
    const c = compilePattern('(?P<code>\\d{3}) (\\w+) (?<user>u\\d+)?(x)?');
    if (!c.ok) throw new Error(c.error);
    expect(captures(c.re, 'status 503 refused u7')).toEqual({ code: '503', $2: 'refused', user: 'u7' });
    expect(captures(c.re, 'nothing here')).toBeUndefined();
  });

  it('parses group names past character classes and escapes', () => {
    const c = compilePattern('[(\\]](a)\\((?P<n>b)(?:c)(?i:d)');
    if (!c.ok) throw new Error(c.error);
    expect(groupNames(c.re)).toEqual([undefined, 'n']);
    expect(captures(c.re, '(a(bcD')).toEqual({ $1: 'a', n: 'b' });
  });

  it('testPattern answers matched/captures and throws on a bad pattern', () => {
    expect(testPattern('took (?P<ms>\\d+)ms', 'GET / took 532ms')).toEqual({ matched: true, captures: { ms: '532' } });
    expect(testPattern('timeout', 'all good')).toEqual({ matched: false, captures: {} });
    expect(() => testPattern('(?<!x)y', 'y')).toThrow(/invalid/);
  });

  it('runs the catastrophic-backtracking pattern correctly (RE2, no backtracking)', () => {
    expect(testPattern('^(a+)+$', 'a'.repeat(100_000) + '!').matched).toBe(false);
    expect(testPattern('^(a+)+$', 'a'.repeat(1000)).matched).toBe(true);
  });
});

describe('Utf8Scratch', () => {
  it('encodes exactly, including multi-byte text and lines longer than the initial buffer', () => {
    const s = new Utf8Scratch();
    for (const text of ['', 'plain', 'héllo ✓ 😀', 'é'.repeat(70_000), '😀'.repeat(40_000)]) {
      expect(s.encode(text).equals(Buffer.from(text, 'utf8'))).toBe(true);
    }
  });
});

describe('truncateUtf8', () => {
  it('keeps short text and cuts long text on a character boundary with an ellipsis', () => {
    expect(truncateUtf8('short', 10)).toBe('short');
    const t = truncateUtf8('abcdefghij', 8);
    expect(t).toBe('abcde…');
    expect(Buffer.byteLength(t)).toBeLessThanOrEqual(8);
    // 'é' is 2 bytes: never split one
    const e = truncateUtf8('é'.repeat(10), 10);
    expect(e).toBe('ééé…');
    expect(Buffer.byteLength(e)).toBeLessThanOrEqual(10);
    expect(e.endsWith('…')).toBe(true);
    expect(e.includes('\ufffd')).toBe(false);
    const emoji = truncateUtf8('😀'.repeat(10), 13);
    expect(emoji).toBe('😀😀…');
  });
});

describe('compile at its edges (found by mutation testing)', () => {
  it('names why a pattern is refused: empty, or longer than MAX_PATTERN_LENGTH (which itself is allowed)', () => {
    expect(compilePattern('')).toEqual({ ok: false, error: 'empty pattern' });
    expect(compilePattern('a'.repeat(MAX_PATTERN_LENGTH + 1))).toEqual({ ok: false, error: `pattern longer than ${MAX_PATTERN_LENGTH} characters` });
    expect(compilePattern('a'.repeat(MAX_PATTERN_LENGTH)).ok).toBe(true);
  });

  it('matches Unicode by character (the u flag): . is one code point, and captures of a Buffer line decode UTF-8', () => {
    expect(testPattern('^(?P<c>.)$', '😀')).toEqual({ matched: true, captures: { c: '😀' } });
    const c = compilePattern('user=(?P<u>\\S+)');
    if (!c.ok) throw new Error(c.error);
    expect(captures(c.re, Buffer.from('user=zoë x'))).toEqual({ u: 'zoë' });
    expect(captures(c.re, 'nobody')).toBeUndefined();
  });

  it('a pattern without groups gives {} on a match; hasGroups says so', () => {
    const plain = compilePattern('error');
    const grouped = compilePattern('(error)');
    if (!plain.ok || !grouped.ok) throw new Error('compile');
    expect(captures(plain.re, 'an error')).toEqual({});
    expect(hasGroups(plain.re)).toBe(false);
    expect(hasGroups(grouped.re)).toBe(true);
  });

  it('a capture longer than MAX_CAPTURE_CHARS is cut with an ellipsis; one of exactly that length is kept', () => {
    const c = compilePattern('v=(?P<v>\\S+)');
    if (!c.ok) throw new Error(c.error);
    expect(captures(c.re, 'v=' + 'x'.repeat(MAX_CAPTURE_CHARS))!.v).toBe('x'.repeat(MAX_CAPTURE_CHARS));
    expect(captures(c.re, 'v=' + 'x'.repeat(MAX_CAPTURE_CHARS + 1))!.v).toBe('x'.repeat(MAX_CAPTURE_CHARS) + '…');
    expect(captures(c.re, Buffer.from('v=' + 'y'.repeat(MAX_CAPTURE_CHARS + 5)))!.v).toBe('y'.repeat(MAX_CAPTURE_CHARS) + '…');
  });

  it('group names: a class ends at its first unescaped ], both (?P<n>) and (?<n>) name, a name is only at the group start', () => {
    const c = compilePattern('[a](?P<x>b)[\\]](?<y>c)(d(?:e))');
    if (!c.ok) throw new Error(c.error);
    expect(groupNames(c.re)).toEqual(['x', 'y', undefined]);
    expect(groupNames(c.re)).toBe(groupNames(c.re)); // parsed once (cached)
    expect(captures(c.re, 'abc]cde')).toBeUndefined();
    expect(captures(c.re, 'ab]cde')).toEqual({ x: 'b', y: 'c', $3: 'de' });
    // a non-capturing group followed by a named one: the name belongs to the second only
    const nc = compilePattern('(?:a)(?i)(?P<n>b)');
    if (!nc.ok) throw new Error(nc.error);
    expect(groupNames(nc.re)).toEqual(['n']);
    expect(captures(nc.re, 'aB')).toEqual({ n: 'B' });
  });

  it('testPattern carries the compile error for the API', () => {
    let e: unknown;
    try {
      testPattern('(x', 'x');
    } catch (err) {
      e = err;
    }
    expect((e as { compileError?: string }).compileError).toMatch(/missing \)/);
  });
});
