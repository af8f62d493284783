/**
 * The UI's pure parts, in Node: the SSE parser (chunking anywhere, CRLF, CR,
 * comments, multi-line data, ids), the line ring (bounds, absolute indices,
 * seq search past markers) and the highlighter (RE2 flags, no empty
 * matches, text escaped).
 */
import { describe, expect, it } from 'vitest';
import { GAP, LINE, LineRing, NOTE } from './ring';
import { SseParser, type SseMessage } from './sse';
import { highlighter, matchRanges, oneLine } from './text';

function parseAll(chunks: string[]): { out: SseMessage[]; parser: SseParser } {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  for (const c of chunks) parser.push(c, (m) => out.push(m));
  return { out, parser };
}

describe('SseParser', () => {
  const stream = 'retry: 2000\n: connected\n\nid: 7\nevent: log\ndata: {"seq":7}\n\nevent: gap\ndata: {"missed":3}\n\n: ping\n\nid: 9\nevent: log\ndata: a\ndata: b\n\n';

  it('parses the server\'s stream, however it is cut', () => {
    const want = [
      { event: 'log', id: '7', data: '{"seq":7}' },
      { event: 'gap', id: '7', data: '{"missed":3}' },
      { event: 'log', id: '9', data: 'a\nb' },
    ];
    for (let cut = 0; cut <= stream.length; cut++) {
      const { out, parser } = parseAll([stream.slice(0, cut), stream.slice(cut)]);
      expect(out, `cut at ${cut}`).toEqual(want);
      expect(parser.retry).toBe(2000);
    }
    expect(parseAll([...stream]).out).toEqual(want); // one character at a time
  });

  it('takes CRLF and CR line ends, a CR split from its LF, and a field without a space', () => {
    expect(parseAll(['id:1\r\nevent:log\r\ndata:x\r', '\n\r\n']).out).toEqual([{ event: 'log', id: '1', data: 'x' }]);
    // a CR that ends a chunk waits for the next (an LF may follow it)
    expect(parseAll(['data: y\r\r']).out).toEqual([]);
    expect(parseAll(['data: y\r\r', ': ping\n']).out).toEqual([{ event: 'message', id: undefined, data: 'y' }]);
  });

  it('does not dispatch without data, and ignores unknown fields and a bad retry', () => {
    const { out, parser } = parseAll(['event: log\n\nfoo: bar\nretry: soon\n\n']);
    expect(out).toEqual([]);
    expect(parser.retry).toBeUndefined();
  });
});

describe('LineRing', () => {
  it('keeps the newest `capacity` lines, addressed by absolute index', () => {
    const r = new LineRing(3);
    for (let i = 1; i <= 5; i++) r.push(LINE, i * 10, `l${i}`);
    expect(r.size).toBe(3);
    expect(r.start).toBe(2);
    expect(r.end).toBe(5);
    expect([2, 3, 4].map((i) => r.dataAt(i))).toEqual(['l3', 'l4', 'l5']);
    expect(r.has(1)).toBe(false);
    expect(r.lastSeq).toBe(50);
    r.clear();
    expect(r.size).toBe(0);
    expect(r.lastSeq).toBe(0);
  });

  it('finds a record by seq, stepping over markers that carry the seq before them', () => {
    const r = new LineRing(10);
    r.push(LINE, 5, 'a');
    r.push(GAP, 5, '3');
    r.push(LINE, 9, 'b');
    r.push(NOTE, 9, 'reconnected');
    r.push(LINE, 12, 'c');
    expect(r.indexOfSeq(5)).toBe(0);
    expect(r.indexOfSeq(9)).toBe(2);
    expect(r.indexOfSeq(12)).toBe(4);
    expect(r.indexOfSeq(7)).toBe(-1);
    expect(r.kindAt(1)).toBe(GAP);
    expect(r.lastSeq).toBe(12);
  });
});

describe('highlighter', () => {
  it('marks text case-insensitively, with regex characters taken literally', () => {
    expect(matchRanges(highlighter('a.b', ''), 'xA.B a-b a.b')).toEqual([[1, 4], [9, 12]]);
  });

  it('marks an RE2 pattern: (?i) and (?P<name>) translated, empty matches skipped', () => {
    expect(matchRanges(highlighter('', '(?i)err(?P<n>\\d)'), 'ERR1 err2')).toEqual([[0, 4], [5, 9]]);
    expect(matchRanges(highlighter('', 'x*'), 'abxxc')).toEqual([[2, 4]]);
    expect(highlighter('', '\\C')).toBeNull(); // RE2 only: nothing marked, nothing thrown
    expect(highlighter('', '')).toBeNull();
  });

  it('one display line keeps the length, so ranges still apply', () => {
    const s = 'a\nb\tc\u0001d';
    expect(oneLine(s)).toBe('a⏎b c·d');
    expect(oneLine(s).length).toBe(s.length);
  });
});
