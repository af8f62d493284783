import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BodyDecoder } from './http-body.js';

/** Serialize `pieces` as a chunked body (with optional extensions and a trailer). */
function chunked(pieces: Buffer[], ext: boolean, trailer: boolean, upper: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const p of pieces) {
    let size = p.length.toString(16);
    if (upper) size = size.toUpperCase();
    parts.push(Buffer.from(`${size}${ext ? ';name=value' : ''}\r\n`), p, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailer ? 'X-Trailer: yes\r\n' : ''}\r\n`));
  return Buffer.concat(parts);
}

/** Feed `wire` to a decoder in reads cut at `cuts`, each read into its own scratch buffer; the payload ranges joined. */
function decode(d: BodyDecoder, wire: Buffer, cuts: number[]): Buffer {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < wire.length).sort((a, b) => a - b), wire.length]) {
    const read = Buffer.alloc(c - prev + 7, 0xee);
    // the read lands at an offset in its buffer, as a range of a bigger one would
    wire.copy(read, 3, prev, c);
    const end = d.push(read, 3, 3 + c - prev);
    out.push(Buffer.from(read.subarray(3, end)));
    prev = c;
  }
  return Buffer.concat(out);
}

describe('BodyDecoder', () => {
  it('property: any chunking and any split into reads gives the payload back, and ends at the last chunk', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(8000), { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (arrays, cuts, ext, trailer, upper) => {
          const pieces = arrays.map((a) => Buffer.from(a));
          const wire = chunked(pieces, ext, trailer, upper);
          const d = new BodyDecoder('chunked');
          const got = decode(d, wire, cuts);
          expect(d.error).toBeUndefined();
          expect(got.equals(Buffer.concat(pieces))).toBe(true);
          expect(d.done).toBe(true);
          expect(d.bytes).toBe(got.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('moves a read\'s payload together in place: one range per read, chunk headers gone', () => {
    const wire = chunked([Buffer.from('hello '), Buffer.from('big '), Buffer.from('world')], false, false, false);
    const d = new BodyDecoder('chunked');
    const buf = Buffer.from(wire);
    const end = d.push(buf, 0, buf.length);
    expect(buf.toString('latin1', 0, end)).toBe('hello big world');
    expect(d.done).toBe(true);
  });

  it('is not done before the last chunk, and ignores what follows it', () => {
    const d = new BodyDecoder('chunked');
    const a = Buffer.from('3\r\nabc\r\n');
    expect(a.toString('latin1', 0, d.push(a, 0, a.length))).toBe('abc');
    expect(d.done).toBe(false);
    const b = Buffer.from('0\r\n\r\nHTTP/1.1 200 OK\r\n');
    expect(d.push(b, 0, b.length)).toBe(0);
    expect(d.done).toBe(true);
    expect(d.bytes).toBe(3);
  });

  it.each([
    ['a size line that is not hex', 'zz\r\nabc\r\n', 'chunk size is not hexadecimal'],
    ['a size past the cap', 'fffffffff\r\n', 'chunk size too large'],
    ['data not followed by CRLF', '3\r\nabcX\r\n', 'chunk data not followed by CRLF'],
    ['a size line with a lone CR', '3\rabc', 'chunk size line not ended by CRLF'],
  ])('stops at %s, with the payload before it delivered', (_name, tail, why) => {
    const d = new BodyDecoder('chunked');
    const buf = Buffer.from(`2\r\nok\r\n${tail}3\r\nnot\r\n0\r\n\r\n`);
    const end = d.push(buf, 0, buf.length);
    expect(d.error).toBe(why);
    expect(buf.toString('latin1', 0, end)).toBe(why === 'chunk data not followed by CRLF' ? 'okabc' : 'ok');
    expect(d.done).toBe(false);
    // nothing more after an error
    expect(d.push(Buffer.from('3\r\nabc\r\n'), 0, 8)).toBe(0);
  });

  it('Content-Length: the body ends after that many bytes; a close-delimited body takes everything', () => {
    const d = new BodyDecoder('length', 5);
    const a = Buffer.from('abc');
    expect(d.push(a, 0, 3)).toBe(3);
    expect(d.done).toBe(false);
    const b = Buffer.from('defgh');
    expect(d.push(b, 0, 5)).toBe(2);
    expect(d.done).toBe(true);
    expect(new BodyDecoder('length', 0).done).toBe(true);
    const c = new BodyDecoder('close');
    expect(c.push(b, 1, 5)).toBe(5);
    expect(c.done).toBe(false);
    expect(c.bytes).toBe(4);
  });
});
