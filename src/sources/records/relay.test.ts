/**
 * A relayed wire record is written exactly as checking it the general way
 * writes it (parse, checkRecord, the JS writer with the sender's record in
 * origin.from): the same bytes, message places, times, levels and tally,
 * over records the wire writer wrote and over lines changed from them.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEVELS, type LogRecord, type Origin } from '../../core/record.js';
import type { ParseJob } from '../../parse/pool.js';
import { Records } from '../../parse/render.js';
import { middleText, serializeRecord } from '../../wire/json.js';
import { checkNdjsonBytes, newTally, relayNdjsonBytes, type RecordTally } from './ndjson.js';
import { isoMs, Relay } from './relay.js';
import { nativeParse, RELAY, RELAY_NO, RELAY_SLOTS, type NativeParse } from '../../parse/native.js';

/** The native scan (when built) and its JS twin. */
const SCANS = nativeParse !== undefined ? [nativeParse, null] : [null];

const SOURCE = 'edge';
const STREAM = 'edge';
const ORIGIN_JSON = JSON.stringify({ kind: 'http', remote: '127.0.0.1' });

interface Out {
  bytes: string;
  msg: string[];
  times: number[];
  levels: number[];
  tally: RecordTally;
}

function records(seqDigits: number): Records {
  const job = { seqDigits, now: 1_000, format: 'auto' } as unknown as ParseJob;
  return new Records(job, middleText(SOURCE, STREAM, ORIGIN_JSON), 4, 64);
}

function result(recs: Records, tally: RecordTally): Out {
  const buf = recs.out.buf;
  const msg: string[] = [];
  for (let i = 0; i < recs.i; i++) msg.push(buf.toString('utf8', recs.msg[2 * i], recs.msg[2 * i + 1]));
  return { bytes: buf.toString('latin1', 0, recs.out.off), msg, times: [...recs.times.subarray(0, recs.i)], levels: [...recs.levels.subarray(0, recs.i)], tally };
}

/** What the parse thread did before the relay (worker.ts checkedJob without it). */
function general(body: Buffer, seqDigits: number): Out {
  const origin = Object.freeze(JSON.parse(ORIGIN_JSON) as Origin);
  const ctx = { source: SOURCE, stream: STREAM, origin, now: 1_000 };
  const recs = records(seqDigits);
  const mid = middleText(SOURCE, STREAM, ORIGIN_JSON);
  const tally = newTally();
  checkNdjsonBytes(body, ctx, tally, (r) => recs.put(r, r.time, r.origin === origin ? mid : middleText(SOURCE, STREAM, JSON.stringify(r.origin))));
  return result(recs, tally);
}

function relayed(body: Buffer, seqDigits: number, native: NativeParse | null | undefined = nativeParse): Out & { relayed: number } {
  const origin = Object.freeze(JSON.parse(ORIGIN_JSON) as Origin);
  const ctx = { source: SOURCE, stream: STREAM, origin, now: 1_000 };
  const recs = records(seqDigits);
  const mid = middleText(SOURCE, STREAM, ORIGIN_JSON);
  const tally = newTally();
  const relay = Relay.for(SOURCE, STREAM, JSON.parse(ORIGIN_JSON) as object)!;
  let slow = 0;
  relayNdjsonBytes(
    body, relay, recs, ctx, tally, (r) => {
      slow++;
      recs.put(r, r.time, r.origin === origin ? mid : middleText(SOURCE, STREAM, JSON.stringify(r.origin)));
    },
    native,
  );
  return { ...result(recs, tally), relayed: tally.accepted - slow };
}

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('', '\u0000\u0008\u0009\u000a\u000c\u000d\u001f\u007f', '"\\/', '\ud800', '\udc00x\ud83d\ude00', '\u2028'),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -0, 1e21, 1e-7, 123456789012345, 1234567890123456, 2 ** 53, 0.1, -1.5e300),
    fc.boolean(),
    fc.constant(null),
    tie('object'),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
  object: fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) }, fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('0', '7', '10', '007', '-1', 'a', 'b', 'constructor', 'prototype', '__proto__')), tie('value'), { maxKeys: 5 }),
}));

const record = fc.record({
  seq: fc.oneof(fc.nat(), fc.constantFrom(0, 9, 10, 999_999_999_999_999, Number.MAX_SAFE_INTEGER)),
  time: fc.oneof(fc.integer({ min: -62167219200000, max: 253402300799999 }), fc.constantFrom(0, 951782400000, 1717245591491, -1, 253402300799999, -62167219200000)),
  // a few shared ones too: a sender's records mostly have the same source, stream and origin (relay.ts takes them by their bytes)
  source: fc.oneof(fc.constantFrom('app', 'ü'), fc.string({ unit: 'binary', maxLength: 8 })),
  stream: fc.oneof(fc.constant('app'), fc.string({ maxLength: 8 })),
  origin: fc.oneof(fc.constantFrom({ kind: 'file', path: '/var/log/app.log' }, { kind: 'file', path: '/var/log/app.log', k: { a: [1] } }), json.object),
  host: fc.option(fc.string({ unit: 'binary', maxLength: 8 }), { nil: undefined }),
  app: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
  level: fc.option(fc.constantFrom(...LEVELS), { nil: undefined }),
  message: fc.oneof({ weight: 3, arbitrary: fc.string({ unit: 'grapheme' }) }, fc.string({ unit: 'binary' }), fc.string({ unit: 'binary-ascii' })),
  fields: json.object,
}).map((r) => {
  const rec: LogRecord = { seq: r.seq, time: r.time, received: 0, source: r.source, stream: r.stream, origin: r.origin as Origin, message: r.message, fields: r.fields };
  if (r.host !== undefined) rec.host = r.host;
  if (r.app !== undefined) rec.app = r.app;
  if (r.level !== undefined) rec.level = r.level;
  return serializeRecord(rec);
});

/** A wire line changed: a byte set to any value, a piece cut out or repeated, a space, a CR. */
const edit = fc.tuple(record, fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('set', 'cut', 'dup', 'space', 'cr', 'key')).map(([line, k, v, how]) => {
  const b = Buffer.from(line, 'utf8');
  const i = k % b.length;
  switch (how) {
    case 'set':
      b[i] = v;
      return b;
    case 'cut':
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + (v % 8)))]);
    case 'dup':
      return Buffer.concat([b.subarray(0, i + 1), b.subarray(Math.max(0, i - (v % 8)))]);
    case 'space':
      return Buffer.concat([b.subarray(0, i), Buffer.from(' '), b.subarray(i)]);
    case 'cr':
      return Buffer.concat([b, Buffer.from('\r')]);
    default:
      // a key of `fields` twice
      return Buffer.from(line.replace(/,"fields":\{(.*)\}\}$/, (all, inner: string) => (inner === '' ? all : `,"fields":{${inner},${inner}}}`)), 'utf8');
  }
});

const body = fc.tuple(fc.array(fc.oneof({ weight: 6, arbitrary: record.map((l) => Buffer.from(l, 'utf8')) }, edit, fc.constant(Buffer.from(''))), { maxLength: 12 }), fc.boolean(), fc.nat({ max: 12 })).map(([lines, lastNl]) => {
  const parts: Buffer[] = [];
  lines.forEach((l, i) => parts.push(l, ...(i < lines.length - 1 || lastNl ? [Buffer.from('\n')] : [])));
  return Buffer.concat(parts);
});

describe('relayed wire records', () => {
  it('come out as the general check writes them, over generated records and changed lines (whole records and tails)', () => {
    let relayedLines = 0;
    fc.assert(
      fc.property(body, fc.constantFrom(0, 3, 16), fc.constantFrom(...SCANS), (b, seqDigits, native) => {
        const want = general(b, seqDigits);
        const { relayed: n, ...got } = relayed(b, seqDigits, native);
        relayedLines += n;
        expect(got).toEqual(want);
      }),
      { numRuns: 3000 },
    );
    // the relay took many of the records (about 40% of those generated: the rest carry what it leaves to the general check)
    expect(relayedLines).toBeGreaterThan(2500);
  });

  it.runIf(nativeParse !== undefined)('the native scan and its JS twin agree: a line C relays JS relays with the same parts, a line C refuses JS refuses', () => {
    const slots = new Int32Array(64 * RELAY_SLOTS);
    const times = new Float64Array(64);
    const relay = Relay.for(SOURCE, STREAM, JSON.parse(ORIGIN_JSON) as object)!;
    let cRelayed = 0;
    fc.assert(
      fc.property(body, (b) => {
        fc.pre(isUtf8(b));
        const k = nativeParse!.relayScan(b, 0, slots, times);
        for (let i = 0; i < k; i++) {
          const o = i * RELAY_SLOTS;
          const [s, e, q] = [slots[o + RELAY.START]!, slots[o + RELAY.END]!, slots[o + RELAY.SEQ_END]!];
          const js = relay.scan(b, s, e);
          if (q === RELAY_NO) expect(js, b.toString('utf8', s, e)).toBe(false);
          if (q >= 0) {
            cRelayed++;
            expect(js, b.toString('utf8', s, e)).toBe(true);
            // the same parts: what JS found written out equals what C found written out
            const a = records(0);
            relay.write(a);
            const c = records(0);
            relay.found(b, slots, o, times[i]!);
            relay.write(c);
            expect(result(c, newTally())).toEqual(result(a, newTally()));
          }
        }
      }),
      { numRuns: 2000 },
    );
    expect(cRelayed).toBeGreaterThan(1000);
  });

  it.runIf(nativeParse !== undefined)('the native scan refuses arguments of the wrong kind or out of range, and scans no more lines than its arrays hold', () => {
    const n = nativeParse!;
    const b = Buffer.from('{"a":1}\n{"b":2}\n{"c":3}\n');
    const slots = new Int32Array(2 * RELAY_SLOTS);
    const times = new Float64Array(2);
    expect(() => n.relayScan(new Uint16Array(4) as unknown as Uint8Array, 0, slots, times)).toThrow(/bytes/);
    expect(() => n.relayScan(b, b.length + 1, slots, times)).toThrow(/pos/);
    expect(() => n.relayScan(b, 1.5, slots, times)).toThrow(/pos/);
    expect(() => n.relayScan(b, 0, new Uint32Array(16) as unknown as Int32Array, times)).toThrow(/out/);
    expect(() => n.relayScan(b, 0, slots, new Float32Array(2) as unknown as Float64Array)).toThrow(/times/);
    // two lines' room: two lines, and the first line's bytes and its '\n' as it found them
    expect(n.relayScan(b, 0, slots, times)).toBe(2);
    expect([slots[RELAY.START], slots[RELAY.END], slots[RELAY_SLOTS + RELAY.START], slots[RELAY.SEQ_END]]).toEqual([0, 7, 8, RELAY_NO]);
    expect(n.relayScan(b, 16, slots, new Float64Array(1))).toBe(1);
    expect(n.relayScan(b, 0, new Int32Array(RELAY_SLOTS - 1), times)).toBe(0);
  });

  it('takes a record the wire writer wrote, and declines one it did not write that way', () => {
    const rec: LogRecord = { seq: 42, time: 1717245591491, received: 0, source: 'app', stream: 'app', origin: { kind: 'file', path: '/var/log/ü.log' }, level: 'warn', message: 'héllo "x"\n\u0001', fields: { a: [1, 2.5, { b: null }], c: true } };
    const wire = serializeRecord(rec);
    const takes = (line: string) => SCANS.every((n) => relayed(Buffer.from(line + '\n', 'utf8'), 0, n).relayed === 1);
    const declines = (line: string) => SCANS.every((n) => relayed(Buffer.from(line + '\n', 'utf8'), 0, n).relayed === 0);
    expect(takes(wire)).toBe(true);
    const declined = [
      wire.replace('"a":', '"c":'), // a key twice
      wire.replace('"c":true', '"1":true'), // a key V8 enumerates first
      wire.replace('2.5', '2.50'),
      wire.replace('2.5', '-0'),
      wire.replace('\\u0001', '\\u0041'),
      wire.replace('\\u0001', '\\u000A'),
      wire.replace('\\n', '\\u000a'),
      wire.replace('"x\\"', '"x\\/'),
      wire.replace('"warn"', '"warning"'),
      wire.replace('2024-06-01', '2024-02-30'),
      wire.replace('"c":true', '"__proto__":true'),
      wire.replace(',"c"', ', "c"'),
      wire.replace('"seq":42', '"seq":042'),
      wire.replace('"seq":42', '"seq":9007199254740993'),
    ];
    for (const line of declined) {
      expect(line).not.toBe(wire);
      expect(declines(line), line).toBe(true);
      const b = Buffer.from(line + '\n', 'utf8');
      expect(relayed(b, 0)).toMatchObject(general(b, 0));
    }
  });

  it('checks in full a record whose source, stream and origin are not the last relayed ones byte for byte', () => {
    const line = (v: string) => `{"seq":1,"time":"2024-06-01T12:39:51.491Z","source":"a","stream":"a","origin":{"a":"${v}"},"message":"m","fields":{}}`;
    // the same length, the last byte of the origin's value a raw tab (not JSON): refused, not relayed as the line before it was
    const b = Buffer.from(line('abcd') + '\n' + line('abc\t') + '\n', 'utf8');
    for (const native of SCANS) {
      const got = relayed(b, 0, native);
      expect(got.relayed).toBe(1);
      expect(got).toMatchObject(general(b, 0));
      expect(got.tally.reasons).toEqual({ bad_json: 1 });
    }
  });

  it('reads the wire time as epoch ms over years 0 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62167219200000, max: 253402300799999 }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(isoMs(Buffer.from(iso, 'latin1'), 0)).toBe(ms);
      }),
      { numRuns: 5000 },
    );
    for (const bad of ['2023-02-29T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-01-01T24:00:00.000Z', '2024-01-01T00:60:00.000Z', '2024-01-01T00:00:60.000Z', '2024-01-01T00:00:00.000+', '2024-01-00T00:00:00.000Z']) {
      expect(isoMs(Buffer.from(bad, 'latin1'), 0), bad).toBeNaN();
    }
    expect(isoMs(Buffer.from('2024-02-29T23:59:59.999Z', 'latin1'), 0)).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
  });

  it('is not made for an origin that has a "from" of its own', () => {
    expect(Relay.for(SOURCE, STREAM, { kind: 'http', from: 'x' })).toBeUndefined();
    expect(Relay.for(SOURCE, STREAM, {})).toBeDefined();
  });
});
