import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SyslogFrameDecoder, utf8Head, type FrameMode } from './syslog-frames.js';

interface Out {
  frames: string[];
  truncated: boolean[];
  d: SyslogFrameDecoder;
}

function decoder(maxFrameBytes = 64, mode?: FrameMode): Out {
  const out: Out = { frames: [], truncated: [], d: undefined as unknown as SyslogFrameDecoder };
  out.d = new SyslogFrameDecoder({
    maxFrameBytes,
    mode,
    onFrame: (buf, s, e, t) => {
      out.frames.push(buf.toString('latin1', s, e));
      out.truncated.push(t);
    },
  });
  return out;
}

/** Feed `buf` cut at the given points, then end the stream. */
function feed(o: Out, buf: Buffer, cuts: number[] = []): Out {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const c of pts) {
    o.d.push(buf.subarray(prev, c));
    prev = c;
  }
  o.d.push(buf.subarray(prev));
  o.d.end();
  return o;
}

const octet = (...msgs: string[]) => Buffer.from(msgs.map((m) => `${Buffer.byteLength(m)} ${m}`).join(''));

describe('SyslogFrameDecoder: LF framing', () => {
  it('detects LF framing from a non-digit first byte and splits on LF, CRLF and NUL', () => {
    const o = feed(decoder(), Buffer.from('<13>a b\r\n<14>c\n\n<15>d\u0000<16>e'));
    expect(o.d.mode).toBe('lf');
    expect(o.frames).toEqual(['<13>a b', '<14>c', '<15>d', '<16>e']);
    expect(o.d.counters.frames).toBe(4);
  });

  it('holds a frame split across reads, byte by byte', () => {
    const buf = Buffer.from('<13>first line\n<14>second line\n');
    const o = feed(decoder(), buf, [...Array(buf.length).keys()]);
    expect(o.frames).toEqual(['<13>first line', '<14>second line']);
  });

  it('keeps the head of an oversize line, skips the rest and resyncs at the next LF', () => {
    const o = decoder(8);
    o.d.push(Buffer.from('<13>0123456789'));
    o.d.push(Buffer.from('abcdef'.repeat(100)));
    expect(o.d.held).toBe(0); // nothing of the long line is held
    o.d.push(Buffer.from('xyz\n<14>ok\n'));
    o.d.end();
    expect(o.frames).toEqual(['<13>0123', '<14>ok']);
    expect(o.truncated).toEqual([true, false]);
    expect(o.d.counters.oversize).toBe(1);
  });

  it('cuts an oversize frame on a UTF-8 character boundary', () => {
    const o = feed(decoder(5), Buffer.from('abcd\u00e9f\n'));
    expect(Buffer.from(o.frames[0]!, 'latin1').toString()).toBe('abcd');
    expect(utf8Head(Buffer.from('ab\u20ac'), 0, 4)).toBe(2);
    expect(utf8Head(Buffer.from('ab\u20ac'), 0, 5)).toBe(5);
  });

  it('a frame of exactly maxFrameBytes whose CRLF is split across reads is not oversize', () => {
    const o = feed(decoder(8), Buffer.from('<13>abcd\r\n<13>x\n'), [9]);
    expect(o.frames).toEqual(['<13>abcd', '<13>x']);
    expect(o.d.counters.oversize).toBe(0);
  });

  it('emits the last unterminated frame at the end of the stream', () => {
    expect(feed(decoder(), Buffer.from('<13>no newline')).frames).toEqual(['<13>no newline']);
  });

  it('in forced LF mode (UDP) a leading digit is text, not a length', () => {
    expect(feed(decoder(64, 'lf'), Buffer.from('12 abc\n34 def')).frames).toEqual(['12 abc', '34 def']);
  });
});

describe('SyslogFrameDecoder: octet counting', () => {
  it('detects octet counting from a leading digit and keeps LF inside a frame', () => {
    const o = feed(decoder(), octet('<13>1 - h a - - - one', '<13>two\nlines'));
    expect(o.d.mode).toBe('octet');
    expect(o.frames).toEqual(['<13>1 - h a - - - one', '<13>two\nlines']);
  });

  it('tolerates a newline after each counted frame and strips trailing LF/CR/NUL', () => {
    const o = feed(decoder(), Buffer.from('5 <13>a\n\n6 <13>b\n7 <13>c\r\u0000'));
    expect(o.frames).toEqual(['<13>a', '<13>b', '<13>c']);
  });

  it('skips exactly the tail of an oversize frame and resyncs on the next header', () => {
    const big = '<13>' + 'x'.repeat(500);
    const o = feed(decoder(16), octet(big, '<14>after'), [3, 20, 100, 300]);
    expect(o.frames).toEqual([big.slice(0, 16), '<14>after']);
    expect(o.truncated).toEqual([true, false]);
    expect(o.d.counters.oversize).toBe(1);
    expect(o.d.held).toBe(0);
  });

  it('a bad header loses the sync: error set, the rest ignored', () => {
    const o = feed(decoder(), Buffer.from('5 <13>a12x <13>b\n5 <13>c'));
    expect(o.frames).toEqual(['<13>a']);
    expect(o.d.error).toBe('bad_octet_count');
    const long = feed(decoder(), Buffer.from('12345678901 x'));
    expect(long.d.error).toBe('bad_octet_count');
  });

  it('counts a frame cut short by the end of the stream as incomplete and keeps its bytes', () => {
    const o = feed(decoder(), Buffer.from('20 <13>short'));
    expect(o.frames).toEqual(['<13>short']);
    expect(o.d.counters.incomplete).toBe(1);
  });
});

describe('SyslogFrameDecoder: properties', () => {
  const bytes = fc.uint8Array({ maxLength: 400 });
  const cuts = fc.array(fc.nat(), { maxLength: 12 });

  it('never throws and never holds more than maxFrameBytes, on any bytes in any chunks', () => {
    fc.assert(
      fc.property(bytes, cuts, fc.integer({ min: 1, max: 64 }), (b, c, max) => {
        const o = decoder(max);
        const buf = Buffer.from(b);
        const pts = [...new Set(c.map((x) => x % (buf.length + 1)))].sort((x, y) => x - y);
        let prev = 0;
        for (const p of [...pts, buf.length]) {
          o.d.push(buf.subarray(prev, p));
          expect(o.d.held).toBeLessThanOrEqual(max);
          prev = p;
        }
        o.d.end();
        for (const f of o.frames) expect(f.length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 500 },
    );
  });

  // frames of printable text, some with CR/LF/NUL inside: the way senders would write them
  const msg = fc.string({ unit: fc.constantFrom('a', 'b', '<', '1', ' ', '\u00e9', '\r', '\n', '\u0000'), maxLength: 40 });
  const stream = fc.oneof(
    fc.array(msg, { maxLength: 12 }).map((ms) => Buffer.from(ms.map((m) => `${Buffer.byteLength(m)} ${m}`).join(''))),
    fc.array(msg, { maxLength: 12 }).map((ms) => Buffer.from('<1>' + ms.join('\n'))),
    bytes.map((b) => Buffer.from(b)),
  );

  it('any split of a stream into chunks gives the same frames, flags and counters as one read', () => {
    fc.assert(
      fc.property(stream, cuts, fc.integer({ min: 1, max: 48 }), (buf, c, max) => {
        const whole = feed(decoder(max), buf);
        const split = feed(decoder(max), buf, c);
        expect(split.frames).toEqual(whole.frames);
        expect(split.truncated).toEqual(whole.truncated);
        expect(split.d.counters).toEqual(whole.d.counters);
        expect(split.d.error).toEqual(whole.d.error);
      }),
      { numRuns: 1000 },
    );
  });

  // the TCP listener reads every connection into one reused buffer (core/read-into.ts): a chunk's bytes
  // are overwritten by the next read, so what the decoder holds across reads must be its own copy
  it('chunks pushed from one reused buffer, overwritten after each push, give the same frames as one read', () => {
    fc.assert(
      fc.property(stream, cuts, fc.integer({ min: 1, max: 48 }), (buf, c, max) => {
        const whole = feed(decoder(max), buf);
        const o = decoder(max);
        const scratch = Buffer.alloc(buf.length + 1);
        const pts = [...new Set(c.map((x) => x % (buf.length + 1)))].sort((x, y) => x - y);
        let prev = 0;
        for (const p of [...pts, buf.length]) {
          const n = buf.copy(scratch, 0, prev, p);
          o.d.push(scratch.subarray(0, n));
          scratch.fill(0x7a); // the next read lands here
          prev = p;
        }
        o.d.end();
        expect(o.frames).toEqual(whole.frames);
        expect(o.truncated).toEqual(whole.truncated);
        expect(o.d.counters).toEqual(whole.d.counters);
      }),
      { numRuns: 1000 },
    );
  });
});
