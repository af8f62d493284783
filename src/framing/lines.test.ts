import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { LineSplitter, TRUNCATED_MARKER, type LineInfo } from './lines.js';

interface Got {
  line: string;
  end: number;
  truncated: boolean;
  repaired: boolean;
}

function collect(maxLineBytes = 1024) {
  const out: Got[] = [];
  const s = new LineSplitter({
    maxLineBytes,
    onLine(line: string, end: number, info: LineInfo) {
      out.push({ line, end, truncated: info.truncated, repaired: info.repaired });
    },
  });
  return { s, out };
}

/** Push `buf` cut at the given (sorted, in-range) points, at absolute offset `base`. */
function pushCut(s: LineSplitter, buf: Buffer, cuts: number[], base = 0): void {
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    if (c < prev) continue;
    s.push(buf.subarray(prev, c), base + prev);
    prev = c;
  }
}

/** Independent reference: split the whole byte string naively. */
function reference(buf: Buffer, max: number, base = 0): { lines: Got[]; pending: number } {
  const lines: Got[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 10) continue;
    let seg = buf.subarray(start, i);
    if (seg.length > 0 && seg[seg.length - 1] === 13) seg = seg.subarray(0, seg.length - 1);
    let truncated = false;
    if (seg.length > max) {
      truncated = true;
      // Keep max bytes, minus a trailing character that would be cut in two.
      let head = seg.subarray(0, max);
      let lead = head.length - 1;
      while (lead > 0 && head.length - lead <= 3 && (head[lead] & 0xc0) === 0x80) lead--;
      const b = head[lead];
      const len = b >= 0xf8 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if ((head[lead] & 0xc0) !== 0x80 && head.length - lead < len) head = head.subarray(0, lead);
      seg = head;
    }
    lines.push({
      line: seg.toString('utf8') + (truncated ? TRUNCATED_MARKER : ''),
      end: base + i + 1,
      truncated,
      repaired: !isUtf8(seg),
    });
    start = i + 1;
  }
  return { lines, pending: Math.min(buf.length - start, max) };
}

describe('LineSplitter', () => {
  it('splits LF and CRLF lines, strips only the CR of a CRLF, keeps empty lines', () => {
    const { s, out } = collect();
    s.push(Buffer.from('a\r\nb\n\n\r\nc\rd\n'), 100);
    expect(out.map((g) => g.line)).toEqual(['a', 'b', '', '', 'c\rd']);
    expect(out.map((g) => g.end)).toEqual([103, 105, 106, 108, 112]);
    expect(s.counters).toEqual({ lines: 5, truncated: 0, repaired: 0, bytes: 12 });
    expect(s.pendingBytes).toBe(0);
  });

  it('joins a line that spans many chunks, with the offset of its newline', () => {
    const { s, out } = collect();
    const text = 'first\n' + 'x'.repeat(50) + '\r\nlast';
    const buf = Buffer.from(text);
    for (let i = 0; i < buf.length; i += 3) s.push(buf.subarray(i, i + 3), 1000 + i);
    expect(out.map((g) => g.line)).toEqual(['first', 'x'.repeat(50)]);
    expect(out[1].end).toBe(1000 + text.indexOf('\n', 6) + 1);
    expect(s.pendingBytes).toBe(4);
    expect(s.flushPartial()).toBe(true);
    expect(out[2]).toEqual({ line: 'last', end: 1000 + buf.length, truncated: false, repaired: false });
    expect(s.flushPartial()).toBe(false);
  });

  it('a CRLF split between chunks is still one terminator', () => {
    const { s, out } = collect();
    s.push(Buffer.from('abc\r'), 0);
    s.push(Buffer.from('\ndef\r'), 4);
    s.push(Buffer.from('\n'), 9);
    expect(out.map((g) => [g.line, g.end])).toEqual([
      ['abc', 5],
      ['def', 10],
    ]);
  });

  it('holds at most maxLineBytes of a partial line, even when its CRLF is split off', () => {
    const { s, out } = collect(4);
    s.push(Buffer.from('abcd\r'), 0);
    expect(s.pendingBytes).toBe(4);
    s.push(Buffer.from('\n'), 5);
    expect(out).toEqual([{ line: 'abcd', end: 6, truncated: false, repaired: false }]);
    s.push(Buffer.from('abcd\r'), 6);
    s.push(Buffer.from('x\n'), 11);
    expect(out[1]).toEqual({ line: 'abcd' + TRUNCATED_MARKER, end: 13, truncated: true, repaired: false });
  });

  it('keeps lines of exactly maxLineBytes whole (with LF, CRLF, in one chunk or spanning)', () => {
    for (const term of ['\n', '\r\n']) {
      const line = 'y'.repeat(8);
      const buf = Buffer.from(line + term + line + term);
      for (const cuts of [[], [3], [8], [9], [8, 9, 10, 17]]) {
        const { s, out } = collect(8);
        pushCut(s, buf, cuts);
        expect(out.map((g) => g.line)).toEqual([line, line]);
        expect(out.every((g) => !g.truncated)).toBe(true);
        expect(out[1].end).toBe(buf.length);
      }
    }
  });

  it('truncates a line one byte over the limit and appends the marker', () => {
    for (const cuts of [[], [5], [9]]) {
      const { s, out } = collect(8);
      pushCut(s, Buffer.from('123456789\nok\n'), cuts);
      expect(out[0]).toEqual({ line: '12345678' + TRUNCATED_MARKER, end: 10, truncated: true, repaired: false });
      expect(out[1].line).toBe('ok');
      expect(s.counters.truncated).toBe(1);
    }
  });

  it('cuts a truncated line on a UTF-8 character boundary', () => {
    // "aé€" = 61 c3a9 e282ac: a cut at 2 or 4 bytes would split a character.
    const text = 'aé€😀b\n';
    for (const [max, kept] of [
      [1, 'a'],
      [2, 'a'],
      [3, 'aé'],
      [4, 'aé'],
      [5, 'aé'],
      [6, 'aé€'],
      [9, 'aé€'],
      [10, 'aé€😀'],
    ] as const) {
      for (const cuts of [[], [1], [4], [7]]) {
        const { s, out } = collect(max);
        pushCut(s, Buffer.from(text), cuts);
        expect(out[0].line).toBe(kept + TRUNCATED_MARKER);
        expect(out[0].repaired).toBe(false);
      }
    }
  });

  it('discards the rest of an over-long line without buffering it (bounded memory)', () => {
    const { s, out } = collect(1024);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let off = 0;
    // 256 MiB without a newline: the held part never exceeds max bytes.
    for (let i = 0; i < 4096; i++) {
      s.push(chunk, off);
      off += chunk.length;
      expect(s.pendingBytes).toBeLessThanOrEqual(1024);
    }
    s.push(Buffer.from('tail\nnext\n'), off);
    expect(out).toHaveLength(2);
    expect(out[0].line).toBe('a'.repeat(1024) + TRUNCATED_MARKER);
    expect(out[0].end).toBe(off + 5);
    expect(out[1]).toEqual({ line: 'next', end: off + 10, truncated: false, repaired: false });
    expect(s.counters.bytes).toBe(off + 10);
  });

  it('does not count a multi-byte character split across chunks as repaired', () => {
    const buf = Buffer.from('héllo wörld €uro 😀!\n');
    for (let cut = 1; cut < buf.length; cut++) {
      const { s, out } = collect();
      pushCut(s, buf, [cut]);
      expect(out).toEqual([{ line: 'héllo wörld €uro 😀!', end: buf.length, truncated: false, repaired: false }]);
      expect(s.counters.repaired).toBe(0);
    }
  });

  it('repairs invalid UTF-8 to U+FFFD and counts only the bad lines', () => {
    const { s, out } = collect();
    const bad = Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xff, 0xc3]), Buffer.from('\nfine é\n')]);
    s.push(bad, 0);
    expect(out.map((g) => [g.line, g.repaired])).toEqual([
      ['ok', false],
      ['bad \uFFFD\uFFFD', true],
      ['fine é', false],
    ]);
    expect(s.counters.repaired).toBe(1);
  });

  it('repairs an invalid line that spans chunks', () => {
    const { s, out } = collect();
    s.push(Buffer.from([0x61, 0xe2, 0x82]), 0);
    s.push(Buffer.from('z\n'), 3);
    expect(out).toEqual([{ line: 'a\uFFFDz', end: 5, truncated: false, repaired: true }]);
  });

  it('flushPartial emits the held line with the offset past its last byte; a following LF ends it', () => {
    const { s, out } = collect();
    s.push(Buffer.from('one\ntw'), 10);
    expect(s.pendingBytes).toBe(2);
    s.push(Buffer.from('o'), 16);
    expect(s.flushPartial()).toBe(true);
    expect(out[1]).toEqual({ line: 'two', end: 17, truncated: false, repaired: false });
    expect(s.pendingBytes).toBe(0);
    // The writer finishes the line: that LF belongs to "two", it is not an empty line.
    s.push(Buffer.from('\nthree\n'), 17);
    expect(out.map((g) => [g.line, g.end])).toEqual([
      ['one', 14],
      ['two', 17],
      ['three', 24],
    ]);
    // Without a flush just before, a leading LF is an empty line.
    s.push(Buffer.from('\n'), 24);
    expect(out[3]).toEqual({ line: '', end: 25, truncated: false, repaired: false });
  });

  it('flushPartial of an over-long partial emits it truncated at the offset past everything read', () => {
    const { s, out } = collect(4);
    s.push(Buffer.from('abcdefgh'), 0);
    s.push(Buffer.from('ij'), 8);
    expect(s.flushPartial()).toBe(true);
    expect(out[0]).toEqual({ line: 'abcd' + TRUNCATED_MARKER, end: 10, truncated: true, repaired: false });
    s.push(Buffer.from('kl\n'), 10);
    expect(out[1]).toEqual({ line: 'kl', end: 13, truncated: false, repaired: false });
  });

  it('reset drops the partial line', () => {
    const { s, out } = collect();
    s.push(Buffer.from('stale partial'), 0);
    s.reset();
    expect(s.pendingBytes).toBe(0);
    s.push(Buffer.from('fresh\n'), 0);
    expect(out).toEqual([{ line: 'fresh', end: 6, truncated: false, repaired: false }]);
  });

  it('splits large chunks (decoded in pieces) exactly like the reference, long lines included', () => {
    const parts: string[] = [];
    for (let i = 0; i < 3000; i++) parts.push(i % 500 === 7 ? 'L'.repeat(70_000 + i) : i % 3 === 0 ? `línea ${i} €` : `line ${i} ${'x'.repeat(i % 200)}`);
    const buf = Buffer.from(parts.join('\n') + '\r\n' + 'tail');
    for (const max of [100_000, 1000]) {
      const whole = collect(max);
      whole.s.push(buf, 5);
      const ref = reference(buf, max, 5);
      expect(whole.out).toEqual(ref.lines);
      expect(whole.s.pendingBytes).toBe(4);
      const chunked = collect(max);
      const cuts: number[] = [];
      for (let c = 1; c < buf.length; c += 300_007) cuts.push(c);
      pushCut(chunked.s, buf, cuts, 5);
      expect(chunked.out).toEqual(ref.lines);
    }
  });

  it('rejects a maxLineBytes below 1', () => {
    expect(() => new LineSplitter({ maxLineBytes: 0, onLine() {} })).toThrow(RangeError);
  });

  // Byte pieces: ASCII, line ends, valid multi-byte characters and invalid or incomplete sequences.
  const piece = fc.constantFrom(
    ...['a', 'bc', 'hello world ', '\n', '\n', '\r\n', '\r', 'é', '€', '😀'].map((t) => Buffer.from(t)),
    Buffer.from([0xff]),
    Buffer.from([0x80]),
    Buffer.from([0xc3]),
    Buffer.from([0xe2, 0x82]),
  );
  const content = fc.array(piece, { maxLength: 80 }).map((ps) => Buffer.concat(ps));

  // Valid UTF-8 runs of a few KiB, mostly ASCII lines: the halving of mixed regions (#emitMixed) at work.
  const longLine = fc.tuple(fc.constantFrom('a', 'hello world ', '"q"', '\t', 'é', '€', '😀'), fc.integer({ min: 1, max: 120 })).map(([t, n]) => t.repeat(n));
  const mixedText = fc.array(fc.tuple(longLine, fc.constantFrom('\n', '\r\n')), { minLength: 1, maxLength: 120 }).map((ls) => Buffer.from(ls.map(([l, nl]) => l + nl).join('')));

  it('property: valid mixed ASCII / non-ASCII regions split like the reference', () => {
    fc.assert(
      fc.property(mixedText, fc.integer({ min: 40, max: 2000 }), (buf, max) => {
        const whole = collect(max);
        whole.s.push(buf, 3);
        const ref = reference(buf, max, 3);
        expect(whole.out).toEqual(ref.lines);
        expect(whole.s.counters.truncated).toBe(ref.lines.filter((l) => l.truncated).length);
      }),
      { numRuns: 500 },
    );
  });

  it('property: any chunking gives the same lines, offsets and flags as the whole buffer and the reference', () => {
    fc.assert(
      fc.property(
        content,
        fc.integer({ min: 1, max: 24 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat({ max: 1e9 }),
        (buf, max, rawCuts, base) => {
          const cuts = rawCuts.map((c) => c % (buf.length + 1)).sort((a, b) => a - b);
          const whole = collect(max);
          whole.s.push(buf, base);
          const chunked = collect(max);
          pushCut(chunked.s, buf, cuts, base);
          const ref = reference(buf, max, base);
          expect(chunked.out).toEqual(whole.out);
          expect(whole.out).toEqual(ref.lines);
          expect(chunked.s.pendingBytes).toBe(ref.pending);
          expect(whole.s.pendingBytes).toBe(ref.pending);
          expect(chunked.s.counters).toEqual(whole.s.counters);
          expect(whole.s.counters.lines).toBe(ref.lines.length);
          expect(whole.s.counters.truncated).toBe(ref.lines.filter((l) => l.truncated).length);
          expect(whole.s.counters.repaired).toBe(ref.lines.filter((l) => l.repaired).length);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
