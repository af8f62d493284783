/**
 * The wire layer at its edges (found by mutation testing, `npm run mutate`):
 * seq widths and the odometer, RFC 3339 times over the whole 0000..9999
 * range against Date, the cached origin segment, host/app/level in the head,
 * a message's bytes looked at in place (literal.ts), 16-digit seqs in both
 * block builders, wire runs over part of a block, and the encoded batch's
 * helpers.
 */
import { describe, expect, it } from 'vitest';
import { LEVELS, type LogRecord, type Origin } from '../core/record.js';
import { holdBytes, seqDigits, seqsFit, writeSeq } from './seq.js';
import { fieldsTail, headWith, isoTime, middleText, recordParts, serializeRecord, serializeTail } from './json.js';
import { literalIncludes, literalText } from './literal.js';
import { utf8Write } from './utf8.js';
import { Block, wireRuns, type BlockRef } from './block.js';
import { batchLength, batchStream, encodedTail, filterEncoded, isEncoded, messageLiteral, recordsOf, recordStart, tailStart, type EncodedBatch } from './encoded.js';

/** wireRuns over entries (BlockRefs): their blocks and indexes as the pump's Refs hold them. */
const runs = (refs: readonly BlockRef[], kind: 'nd' | 'sse', out: Buffer[]): void => wireRuns(refs.map((r) => r.block), refs.map((r) => r.idx), kind, out);

const rec = (message: string, extra: Partial<LogRecord> = {}): LogRecord => ({ seq: 0, time: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' }, message, fields: {}, ...extra });

describe('seq.ts', () => {
  it('seqDigits at every power of ten', () => {
    expect(seqDigits(0)).toBe(1);
    for (let d = 1; d <= 15; d++) {
      expect(seqDigits(10 ** d - 1)).toBe(d);
      expect(seqDigits(10 ** d)).toBe(d + 1);
    }
  });

  it('holdBytes: the key and the digits, or nothing without digits', () => {
    expect(holdBytes(0)).toBe(0);
    expect(holdBytes(1)).toBe(8);
    expect(holdBytes(3)).toBe(10);
  });

  it('seqsFit: all of first..first+n-1 have the width; an empty run never fits', () => {
    expect(seqsFit(10, 90, 2)).toBe(true);
    expect(seqsFit(10, 91, 2)).toBe(false);
    expect(seqsFit(9, 2, 2)).toBe(false);
    expect(seqsFit(9, 1, 1)).toBe(true);
    expect(seqsFit(11, 0, 2)).toBe(false);
    expect(seqsFit(10, 0, 2)).toBe(false);
    expect(seqsFit(100, 1, 2)).toBe(false);
  });

  it('writeSeq writes the key and the digits and returns the offset after them, counting up in place and jumping', () => {
    const buf = Buffer.alloc(64, 0x2e);
    const write = (seq: number, off = 3) => {
      const end = writeSeq(buf, off, seq);
      return buf.toString('latin1', off, end);
    };
    expect(write(5)).toBe('{"seq":5');
    expect(buf[2]).toBe(0x2e); // nothing before the offset
    expect(write(6)).toBe('{"seq":6');
    expect(write(9)).toBe('{"seq":9');
    expect(write(10)).toBe('{"seq":10');
    expect(write(11)).toBe('{"seq":11');
    expect(write(199)).toBe('{"seq":199');
    expect(write(200)).toBe('{"seq":200');
    expect(write(999)).toBe('{"seq":999');
    expect(write(1000, 0)).toBe('{"seq":1000');
    expect(write(1001, 20)).toBe('{"seq":1001');
    expect(write(3)).toBe('{"seq":3');
    expect(write(0)).toBe('{"seq":0');
    expect(write(1)).toBe('{"seq":1');
    expect(write(8)).toBe('{"seq":8');
    expect(write(7)).toBe('{"seq":7'); // one down is no count up
    expect(write(99_999)).toBe('{"seq":99999');
    expect(write(100_000)).toBe('{"seq":100000');
  });
});

describe('isoTime', () => {
  it('equals Date#toISOString over years 0000..9999, before and after 1970 and at leap days', () => {
    const DAY = 86_400_000;
    const min = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
    const max = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    const check = (ms: number) => expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
    // Date.UTC reads years 0..99 as 1900..1999: set the full year
    const utc = (y: number, mo: number, d: number, h = 0, mi = 0, sec = 0, ms = 0) => new Date(0).setUTCFullYear(y, mo, d) + ((h * 60 + mi) * 60 + sec) * 1000 + ms;
    expect(utc(0, 0, 1)).toBe(min);
    // every 97th day, at a time of day that moves through hours, minutes, seconds and milliseconds
    const wrong: number[] = [];
    for (let t = min; t <= max; t += 389 * DAY + 3_723_457) if (isoTime(t) !== new Date(t).toISOString()) wrong.push(t);
    expect(wrong).toEqual([]);
    for (const y of [0, 4, 99, 100, 400, 999, 1000, 1600, 1900, 1969, 1970, 2000, 2024, 2100, 9999]) {
      check(utc(y, 1, 28, 23, 59, 59, 999));
      check(utc(y, 1, 29, 12));
      check(utc(y, 2, 1));
      check(utc(y, 11, 31, 12, 0, 0, 1));
      check(utc(y, 0, 1));
    }
    check(min);
    check(max);
    check(-1);
    check(0);
    check(1_700_000_000_123.9); // a fraction of a millisecond is cut
  });

  it('outside 0000..9999 and for non-numbers falls back to Date (the epoch for what Date cannot show)', () => {
    expect(isoTime(-62_167_219_200_001)).toBe(new Date(-62_167_219_200_001).toISOString());
    expect(isoTime(253_402_300_800_000)).toBe('+010000-01-01T00:00:00.000Z');
    expect(isoTime(8.64e15)).toBe(new Date(8.64e15).toISOString());
    expect(isoTime(-8.64e15)).toBe(new Date(-8.64e15).toISOString());
    expect(isoTime(8.64e15 + 1)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(Number.NaN)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(Infinity)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(-Infinity)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('stays right past the day cache\'s bound (4096 days)', () => {
    const DAY = 86_400_000;
    for (let d = 0; d < 5000; d++) isoTime(d * DAY);
    expect(isoTime(5 * DAY + 1)).toBe('1970-01-06T00:00:00.001Z');
    expect(isoTime(4999 * DAY)).toBe(new Date(4999 * DAY).toISOString());
  });
});

describe('the record\'s wire JSON', () => {
  it('host, app and each level in the head; fields after the message', () => {
    for (const level of [...LEVELS, undefined]) {
      const r = rec('m', { seq: 7, time: 1000, host: 'h"1', app: 'ap', fields: { k: [1, 'x'] }, ...(level ? { level } : {}) });
      const j = JSON.parse(serializeRecord(r)) as Record<string, unknown>;
      expect(Object.keys(j)).toEqual(['seq', 'time', 'source', 'stream', 'origin', 'host', 'app', ...(level ? ['level'] : []), 'message', 'fields']);
      expect(j).toMatchObject({ seq: 7, time: '1970-01-01T00:00:01.000Z', host: 'h"1', app: 'ap', message: 'm', fields: { k: [1, 'x'] } });
      expect(j.level).toBe(level);
    }
    const bare = JSON.parse(serializeRecord(rec('m'))) as Record<string, unknown>;
    expect(Object.keys(bare)).toEqual(['seq', 'time', 'source', 'stream', 'origin', 'message', 'fields']);
    expect(headWith(middleText('s', 'a', '{"kind":"t"}'), 0, undefined, 'x', 'warn')).toBe(',"time":"1970-01-01T00:00:00.000Z","source":"s","stream":"a","origin":{"kind":"t"},"app":"x","level":"warn","message":');
    expect(fieldsTail({})).toBe(',"fields":{}}');
    expect(fieldsTail({ a: 1 })).toBe(',"fields":{"a":1}}');
  });

  it('an origin that can change is rendered anew each time; a frozen one is cached per source and stream', () => {
    const mutable: Origin = { kind: 'file', path: '/a' };
    expect(serializeTail(rec('m', { origin: mutable }))).toContain('"origin":{"kind":"file","path":"/a"}');
    mutable.path = '/b';
    expect(serializeTail(rec('m', { origin: mutable }))).toContain('"origin":{"kind":"file","path":"/b"}');
    const frozen: Origin = Object.freeze({ kind: 'docker', id: 'c1' });
    expect(serializeTail(rec('m', { origin: frozen }))).toContain('"source":"s","stream":"a","origin":{"kind":"docker","id":"c1"}');
    expect(serializeTail(rec('m', { origin: frozen, source: 'other' }))).toContain('"source":"other","stream":"a","origin":{"kind":"docker","id":"c1"}');
    expect(serializeTail(rec('m', { origin: frozen, source: 'other', stream: 'b' }))).toContain('"source":"other","stream":"b","origin"');
    expect(serializeTail(rec('m', { origin: frozen }))).toContain('"source":"s","stream":"a","origin"');
    expect(serializeTail(rec('m', { origin: frozen }))).toContain('"source":"s","stream":"a","origin"');
  });
});

describe('literal.ts', () => {
  const lit = (s: string) => {
    const body = Buffer.from('xx' + JSON.stringify(s) + 'yy');
    return { buf: body, start: 2, end: body.length - 2 };
  };
  const inc = (s: string, needle: string) => {
    const l = lit(s);
    return literalIncludes(l.buf, l.start, l.end, Buffer.from(needle, 'latin1'));
  };

  it('decides from the bytes when it can, ASCII case folded', () => {
    expect(inc('Hello World', 'world')).toBe(true);
    expect(inc('Hello World', 'hello')).toBe(true);
    expect(inc('HELLO', 'hello')).toBe(true);
    expect(inc('Hello World', 'worlds')).toBe(false);
    expect(inc('abc', 'abc')).toBe(true);
    expect(inc('abc', 'abcd')).toBe(false);
    expect(inc('ab', 'b')).toBe(true);
    expect(inc('[@]`{', '[@]`{')).toBe(true); // the characters beside A and Z are not folded
    expect(inc('@', '`')).toBe(false);
    expect(inc('[', '{')).toBe(false);
    expect(inc('Zz', 'zz')).toBe(true);
    expect(inc('Aa', 'aa')).toBe(true);
    expect(inc('xy', '')).toBe(true);
    expect(inc('', '')).toBe(true);
    expect(inc('', 'a')).toBe(false);
  });

  it('does not look at the quotes or past the literal', () => {
    const l = lit('abc');
    // the needle `"` is the quote: not part of the message
    expect(literalIncludes(l.buf, l.start, l.end, Buffer.from('"'))).toBe(false);
    expect(literalIncludes(l.buf, l.start, l.end, Buffer.from('cy'))).toBe(false);
    expect(literalIncludes(l.buf, l.start, l.end, Buffer.from('xa'))).toBe(false);
    expect(literalIncludes(l.buf, l.start, l.end, Buffer.from('c'))).toBe(true);
    expect(literalIncludes(l.buf, l.start, l.end, Buffer.from('a'))).toBe(true);
  });

  it('undefined where only the decoded message can tell: a hit in text with an escape, a miss in non-ASCII text', () => {
    expect(inc('line\none', 'none')).toBeUndefined(); // `\n` holds an n
    expect(inc('say "hi"', 'hi')).toBeUndefined();
    expect(inc('tab\there', 'zzz')).toBe(false); // a miss is a miss, escapes or not
    expect(inc('Kelvin \u212a', 'k')).toBe(true); // found in the ASCII part
    expect(inc('\u212a', 'k')).toBeUndefined(); // K (Kelvin) lower-cases to k
    expect(inc('café', 'tea')).toBeUndefined();
    expect(inc('café', 'caf')).toBe(true);
  });

  it('literalText: the message\'s bytes when no escape is in them', () => {
    const l = lit('plain ü text');
    expect(literalText(l.buf, l.start, l.end)!.toString('utf8')).toBe('plain ü text');
    const e = lit('a\\b');
    expect(literalText(e.buf, e.start, e.end)).toBeUndefined();
    const q = lit('"');
    expect(literalText(q.buf, q.start, q.end)).toBeUndefined();
    const empty = lit('');
    expect(literalText(empty.buf, empty.start, empty.end)!.length).toBe(0);
    // a backslash just outside the literal is not its own
    const out = Buffer.from('\\"ab"\\');
    expect(literalText(out, 1, 5)!.toString()).toBe('ab');
  });
});

describe('utf8Write', () => {
  it('writes at the offset, whole characters up to the buffer\'s end, and says how many bytes', () => {
    const b = Buffer.alloc(8, 0x2e);
    expect(utf8Write(b, 'ab', 3)).toBe(2);
    expect(b.toString('latin1')).toBe('...ab...');
    expect(utf8Write(b, 'üüü', 3)).toBe(4); // two of three fit
    expect(b.toString('utf8', 3, 7)).toBe('üü');
    expect(b[7]).toBe(0x2e);
    expect(utf8Write(b, 'xyz', 6)).toBe(2);
    expect(b.toString('latin1', 6)).toBe('xy');
  });
});

describe('blocks with 16-digit seqs', () => {
  const SEQ = 1_000_000_000_000_000; // 16 digits, below 2^53

  it('fromParts leaves room for them', () => {
    const msgs = ['a', 'b'.repeat(40), 'c', 'ü'.repeat(5), 'd'];
    const parts = msgs.map((m) => recordParts(rec(m)));
    const seqs = msgs.map((_, i) => SEQ + i);
    const b = Block.fromParts(seqs, parts);
    expect(b.nd.toString('utf8')).toBe(msgs.map((m, i) => serializeRecord(rec(m, { seq: seqs[i]! })) + '\n').join(''));
    expect(msgs.map((_, i) => b.message(i))).toEqual(msgs);
  });

  it('fromEncoded copies tails behind them', () => {
    const recs = ['one', 'two ü', 'three'].map((m) => rec(m));
    const enc = tailsBatch(recs);
    const b = Block.fromEncoded(enc, SEQ);
    expect(b.nd.toString('utf8')).toBe(recs.map((r, i) => serializeRecord({ ...r, seq: SEQ + i }) + '\n').join(''));
    expect(b.nd.length).toBe(Buffer.byteLength(b.nd.toString('utf8')));
    expect([0, 1, 2].map((i) => b.message(i))).toEqual(['one', 'two ü', 'three']);
  });
});

/** Tails back to back (digits 0), with each message's place. */
function tailsBatch(recs: LogRecord[]): EncodedBatch {
  const tails = recs.map((r) => serializeTail(r));
  const ends = new Uint32Array(recs.length);
  const msg = new Uint32Array(2 * recs.length);
  let at = 0;
  tails.forEach((t, i) => {
    const m = at + Buffer.byteLength(t.slice(0, t.indexOf(',"message":') + 11));
    msg[2 * i] = m;
    msg[2 * i + 1] = m + Buffer.byteLength(JSON.stringify(recs[i]!.message));
    at += Buffer.byteLength(t);
    ends[i] = at;
  });
  return { kind: 'encoded', buf: Buffer.from(tails.join('')), ends, msg, times: new Float64Array(recs.length), levels: new Uint8Array(recs.length), digits: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' } };
}

describe('wireRuns', () => {
  const b = Block.fromParts([1, 2, 3, 4], ['w', 'x', 'y', 'z'].map((m) => recordParts(rec(m))));
  const ref = (idx: number) => ({ block: b, idx });
  const nd = (idxs: number[]) => {
    const out: Buffer[] = [];
    runs(idxs.map(ref), 'nd', out);
    return out.map((x) => x.toString('utf8').split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { message: string }).message).join(''));
  };
  const sse = (idxs: number[]) => {
    const out: Buffer[] = [];
    runs(idxs.map(ref), 'sse', out);
    return out.map((x) => x.toString('utf8').match(/^id: \d+/gm)!.map((l) => l.slice(4)).join(','));
  };

  it('one buffer a run of consecutive entries, the run\'s bytes only: at the start, in the middle, at the end, whole', () => {
    expect(nd([0, 1, 2, 3])).toEqual(['wxyz']);
    expect(nd([0, 1])).toEqual(['wx']);
    expect(nd([1, 2])).toEqual(['xy']);
    expect(nd([2, 3])).toEqual(['yz']);
    expect(nd([0, 2, 3])).toEqual(['w', 'yz']);
    expect(nd([3])).toEqual(['z']);
    expect(nd([1, 1])).toEqual(['x', 'x']);
    expect(nd([2, 1])).toEqual(['y', 'x']);
    expect(sse([0, 1, 2, 3])).toEqual(['1,2,3,4']);
    expect(sse([0, 1])).toEqual(['1,2']);
    expect(sse([1, 2])).toEqual(['2,3']);
    expect(sse([2, 3])).toEqual(['3,4']);
    expect(sse([0, 3])).toEqual(['1', '4']);
  });

  it('the whole block is its own buffer; a part is a view of it', () => {
    const out: Buffer[] = [];
    runs([0, 1, 2, 3].map(ref), 'nd', out);
    expect(out[0]).toBe(b.nd);
    const s: Buffer[] = [];
    runs([0, 1, 2, 3].map(ref), 'sse', s);
    expect(s[0]).toBe(b.sse().buf);
    expect(b.sse().buf).toBe(b.sse().buf); // rendered once
    expect(b.sse().buf.toString()).toBe([1, 2, 3, 4].map((seq, i) => `id: ${seq}\nevent: log\ndata: ${b.json(i)}\n\n`).join(''));
  });

  it('the exact bytes of a block: no slack after the last record', () => {
    expect(b.nd.length).toBe(b.ndEnds[3]);
    expect(b.length).toBe(4);
    expect(b.ndStart(0)).toBe(0);
    expect(b.ndStart(2)).toBe(b.ndEnds[1]);
    expect(b.sse().buf.length).toBe(b.sse().ends[3]);
  });
});

describe('encoded.ts helpers', () => {
  const recs = ['p', 'q'].map((m) => rec(m));

  it('isEncoded, batchLength, batchStream', () => {
    const enc = tailsBatch(recs);
    expect(isEncoded(enc)).toBe(true);
    expect(isEncoded(recs)).toBe(false);
    expect(batchLength(enc)).toBe(2);
    expect(batchLength(recs)).toBe(2);
    expect(batchStream(enc)).toBe('a');
    expect(batchStream([rec('x', { stream: 'zz' })])).toBe('zz');
    expect(batchStream([])).toBeUndefined();
  });

  it('recordStart and tailStart in both layouts', () => {
    const enc = tailsBatch(recs);
    expect(recordStart(enc, 0)).toBe(0);
    expect(recordStart(enc, 1)).toBe(enc.ends[0]);
    expect(tailStart(enc, 1)).toBe(enc.ends[0]);
    const whole = { ...enc, digits: 2 };
    expect(recordStart(whole, 0)).toBe(0);
    expect(recordStart(whole, 1)).toBe(enc.ends[0]! + 1);
    expect(tailStart(whole, 0)).toBe(9);
    expect(tailStart(whole, 1)).toBe(enc.ends[0]! + 10);
  });

  it('encodedTail and messageLiteral only for a record of an encoded batch', () => {
    const enc = tailsBatch(recs);
    const [r0, r1] = recordsOf(enc, 5);
    const t = encodedTail(r1!)!;
    expect('{"seq":6' + t.buf.toString('utf8', t.start, t.end)).toBe(serializeRecord({ ...recs[1]!, seq: 6 }));
    expect(encodedTail(recs[0]!)).toBeUndefined();
    const span = { buf: Buffer.alloc(0), from: 0, to: 0 };
    expect(messageLiteral(r0!, span)).toBe(true);
    expect(span.buf.toString('utf8', span.from, span.to)).toBe('p');
    expect(messageLiteral(recs[0]!, span)).toBe(false);
    expect(r0!.seq).toBe(5);
    expect(r1!.seq).toBe(6);
    expect(r0!.received).toBe(0);
    expect(r0!.origin).toEqual({ kind: 't' });
  });

  it('filterEncoded keeps each kept record\'s own origin, host and app', () => {
    const rs = [rec('r0', { host: 'h0' }), rec('r1', { app: 'a1' }), rec('r2', { host: 'h2', app: 'a2' }), rec('r3')];
    const enc = { ...tailsBatch(rs), origins: [{ kind: 'o0' }, { kind: 'o1' }], originIdx: Uint8Array.from([0, 1, 1, 0]) };
    const f = filterEncoded(enc, Uint8Array.from([0, 1, 1, 1]));
    expect(Array.from(f.originIdx!)).toEqual([1, 1, 0]);
    expect(recordsOf(f, 1).map((r) => [r.message, r.origin.kind, r.host, r.app])).toEqual([
      ['r1', 'o1', undefined, 'a1'],
      ['r2', 'o1', 'h2', 'a2'],
      ['r3', 'o0', undefined, undefined],
    ]);
    const none = filterEncoded(tailsBatch(rs), Uint8Array.from([1, 0, 1, 1]));
    expect(none.originIdx).toBeUndefined();
    expect('originIdx' in none).toBe(false);
    expect(recordsOf(none, 1).map((r) => [r.message, r.host])).toEqual([['r0', 'h0'], ['r2', 'h2'], ['r3', undefined]]);
  });

  it('a record whose origin is in its bytes reads it from there', () => {
    const withFrom = [rec('x', { origin: { kind: 'ingest', from: 'a' } }), rec('y', { origin: { kind: 'ingest', from: 'b' } })];
    const enc = { ...tailsBatch(withFrom), origin: { kind: 'ingest' }, originsInWire: true };
    expect(recordsOf(enc, 1).map((r) => r.origin)).toEqual([{ kind: 'ingest', from: 'a' }, { kind: 'ingest', from: 'b' }]);
    const plain = { ...tailsBatch(withFrom), origin: { kind: 'common' } };
    expect(recordsOf(plain, 1).map((r) => r.origin)).toEqual([{ kind: 'common' }, { kind: 'common' }]);
  });
});
