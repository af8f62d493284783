import { existsSync, readFileSync } from 'node:fs';
import { assert, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runJob } from './worker.js';
import { ST, STEP, localZoneIsUtc, nativeParse, nativeParseState, type NativeParse } from './native.js';
import type { Format } from './detect.js';
import type { ParseJob, ParseResult } from './pool.js';
import { buildTemplates, renderLine } from '../../bench/gen.js';
import { NATIVE_EDGE_LINES } from '../../test/helpers/native-edge-lines.js';
import { LEVELS, type Level } from '../core/record.js';
import { middleText } from '../wire/json.js';
import { LEVEL_LETTERS, LEVEL_WORDS, SYSLOG_SEVERITY, levelFromNumber } from './level.js';
import { LEVEL_KEYS, ROLES, ROLE_APP, ROLE_HOST, ROLE_LEVEL, ROLE_MESSAGE, ROLE_TIME } from './keys.js';
import { FACILITIES } from './syslog-common.js';
import { MONTH_NAMES, WEEKDAY_NAMES } from './time.js';
import { LEVEL_ASSIGN_KEYS, parsePlain } from './plain.js';
import { renderTables } from '../../native/gen-tables.js';

// The native writer must give exactly what the JS parsers and serializer give, for every
// line: the records' bytes, where their messages are, their times, levels, the parse
// counters and the split counters. JS (runJob(job, null)) is the definition.

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
const ORIGIN = JSON.stringify({ kind: 'file', path: '/var/log/app "ü".log' });

function jobOf(lines: (string | Buffer)[], format: Format = 'auto', seqDigits = 0, now = NOW, maxLineBytes = 4096): ParseJob {
  const bytes = Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l + '\n') : Buffer.concat([l, Buffer.from('\n')]))));
  return { id: 1, items: [new Uint8Array(bytes)], maxLineBytes, format, now, source: 'app', stream: 'main', origin: ORIGIN, seqDigits };
}

/** Everything a result carries, as comparable plain values. */
function view(r: ParseResult): unknown {
  return {
    text: Buffer.from(r.buf).toString('latin1'),
    ends: [...r.ends],
    msg: [...r.msg],
    times: [...r.times],
    levels: [...r.levels],
    counters: r.counters,
    split: r.split,
    unserializable: r.unserializable,
  };
}

function expectSame(job: ParseJob): ParseResult {
  const nat = runJob(job, nativeParse);
  const js = runJob(job, null);
  if (JSON.stringify(view(nat)) !== JSON.stringify(view(js))) {
    // show the first record that differs
    const recs = (r: ParseResult): string[] => Array.from(r.ends, (e, k) => Buffer.from(r.buf.subarray(k === 0 ? 0 : r.ends[k - 1]!, e)).toString());
    const a = recs(nat);
    const b = recs(js);
    const i = a.findIndex((l, k) => l !== b[k]);
    expect({ record: i, native: a[i] }).toEqual({ record: i, native: b[i] });
    expect(view(nat)).toEqual(view(js));
  }
  return nat;
}

/** Pieces of lines the parsers look for: random lines made of them reach deep into every parser. */
const PIECES = ['{', '}', '[', ']', '"', ':', ',', '=', ' ', '\t', '\\', '\\"', '\\u0041', '\\/', 'msg', 'level', 'time', 'ts', 'host', 'app', 'log',
  'INFO', 'error', 'warn', '30', '1764500000', '1.5', '-0', 'true', 'null', '<13>', '<34>1 ', 'Nov 30 10:00:03 ', '2026-11-30T10:00:00Z ',
  '2026-11-30 10:00:00 ', '[30/Nov/2026:10:00:04 +0000]', 'é', 'ユ', '🚀', '\u0001', '\r', 'x', 'y1', 'k=v ', 'a="b c" ', 'tag[12]: '];

const nativeOff = nativeParse === undefined && process.env.SLUICE_NATIVE_PARSE === '0';
const describeNative = nativeOff ? describe.skip : describe;
if (nativeOff) console.warn('SKIPPED native.test.ts "native writer against the JS parsers": SLUICE_NATIVE_PARSE=0 turns the native writer off for this run');

describe('native parse module', () => {
  it('is built and loaded (npm ci builds it with node-gyp; SLUICE_NATIVE_PARSE=0 turns it off)', () => {
    if (process.env.SLUICE_NATIVE_PARSE === '0') expect(nativeParse).toBeUndefined();
    else expect(nativeParseState).toBe('loaded');
  });
});

describeNative('native writer against the JS parsers', () => {
  it('renders the bench corpus exactly as JS does (every template kind, tails and whole records)', () => {
    const groups = buildTemplates(3000, 7);
    const lines = groups.flat().map((t, i) => renderLine(t, i));
    for (const seqDigits of [0, 4]) {
      const res = expectSame(jobOf(lines, 'auto', seqDigits));
      expect(res.native.lines + res.native.bailed).toBe(lines.length);
      // most lines are the native writer's (RFC 5424 and a few others go to JS)
      expect(res.native.lines).toBeGreaterThan(lines.length * 0.8);
    }
  });

  it('agrees in every forced format', () => {
    const lines = buildTemplates(600, 11).flat().map((t, i) => renderLine(t, i));
    for (const f of ['json', 'logfmt', 'syslog', 'plain'] as const) expectSame(jobOf(lines, f, 3));
  });

  it('agrees on hand-picked edge cases', () => {
    const lines = [...NATIVE_EDGE_LINES];
    for (const f of ['auto', 'json', 'logfmt', 'syslog', 'plain'] as const) {
      for (const seqDigits of [0, 2]) expectSame(jobOf(lines, f, seqDigits));
    }
  });

  it('agrees on random lines (property)', () => {
    const line = fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((a) => a.join(''));
    const format = fc.constantFrom<Format>('auto', 'json', 'logfmt', 'syslog', 'plain');
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), format, fc.integer({ min: 0, max: 3 }), (lines, f, d) => {
        expectSame(jobOf(lines, f, d));
      }),
      { numRuns: 400 },
    );
  });

  it('agrees on random JSON objects (property)', () => {
    const key = fc.oneof(fc.constantFrom('msg', 'message', 'level', 'lvl', 'time', 'ts', 'host', 'app', 'service', 'log', 'pid', 'a', '0'), fc.string({ maxLength: 6 }));
    const obj = fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 });
    fc.assert(
      fc.property(fc.array(obj, { minLength: 1, maxLength: 10 }), fc.boolean(), (objs, spaced) => {
        const lines = objs.map((o) => (spaced ? JSON.stringify(o, null, 1).replace(/\n/g, ' ') : JSON.stringify(o)));
        expectSame(jobOf(lines, 'auto', 1));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees on random bytes, valid UTF-8 or not (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 60 }), { minLength: 1, maxLength: 10 }), (arrs) => {
        const lines = arrs.map((a) => Buffer.from(a.filter((b) => b !== 10)));
        expectSame(jobOf(lines, 'auto', 0));
      }),
      { numRuns: 300 },
    );
  });

  it('hands lines with a local wall-clock time back to JS unless the zone is UTC', () => {
    const nat = nativeParse!;
    const bytes = new Uint8Array(Buffer.from('2026-11-30 10:00:00 INFO local\n2026-11-30T10:00:00Z INFO utc\n'));
    const out = Buffer.alloc(4096);
    const ends = new Uint32Array(2);
    const st = new Float64Array(nat.stateSize);
    const run = (utc: number): { status: number; idx: number; bail: number } => {
      st.fill(0);
      st[ST.NOW] = NOW;
      st[ST.MAXLINE] = 4096;
      st[ST.UTC] = utc;
      const status = nat.step(bytes, out, ends, new Uint32Array(4), new Float64Array(2), new Uint8Array(2), Buffer.from('","source":"s"'), st);
      return { status, idx: st[ST.IDX]!, bail: st[ST.BAIL_START]! };
    };
    expect(run(0)).toEqual({ status: STEP.BAIL, idx: 0, bail: 0 });
    expect(run(1)).toEqual({ status: STEP.DONE, idx: 2, bail: 0 });
  });

  it('asks for room instead of writing past the output', () => {
    const nat = nativeParse!;
    const bytes = new Uint8Array(Buffer.from('a plain line\n'));
    const st = new Float64Array(nat.stateSize);
    st[ST.NOW] = NOW;
    st[ST.MAXLINE] = 4096;
    const out = Buffer.alloc(64);
    expect(nat.step(bytes, out, new Uint32Array(1), new Uint32Array(2), new Float64Array(1), new Uint8Array(1), Buffer.from(''), st)).toBe(STEP.ROOM);
    expect(st[ST.NEED]).toBeGreaterThan(64);
    expect(st[ST.IDX]).toBe(0);
    expect(out.every((b) => b === 0)).toBe(true);
    // with the room it asked for, the line is written
    const bigger = Buffer.alloc(st[ST.NEED]!);
    expect(nat.step(bytes, bigger, new Uint32Array(1), new Uint32Array(2), new Float64Array(1), new Uint8Array(1), Buffer.from(''), st)).toBe(STEP.DONE);
    expect(st[ST.IDX]).toBe(1);
  });

  it('refuses arrays of the wrong kind or size and state out of range, before it writes anything', () => {
    const nat = nativeParse!;
    const st = new Float64Array(nat.stateSize);
    st[ST.NOW] = NOW;
    st[ST.MAXLINE] = 4096;
    const region = new Uint8Array(Buffer.from('one\ntwo\n'));
    const out = Buffer.alloc(4096);
    type Args = Parameters<NativeParse['step']>;
    const ok: Args = [region, out, new Uint32Array(4), new Uint32Array(8), new Float64Array(4), new Uint8Array(4), Buffer.from(''), st];
    const withArg = (i: number, v: unknown): Args => ok.map((x, k) => (k === i ? v : x)) as Args;
    expect(() => nat.step(...withArg(0, new Uint16Array(4)))).toThrow(/region/);
    expect(() => nat.step(...withArg(1, new Uint32Array(4)))).toThrow(/out/);
    expect(() => nat.step(...withArg(2, new Uint8Array(16)))).toThrow(/ends/);
    expect(() => nat.step(...withArg(3, new Uint32Array(7)))).toThrow(/msg/);
    expect(() => nat.step(...withArg(4, new Uint32Array(4)))).toThrow(/times/);
    expect(() => nat.step(...withArg(5, new Uint8Array(3)))).toThrow(/levels/);
    expect(() => nat.step(...withArg(6, 'mid'))).toThrow(/mid/);
    expect(() => nat.step(...withArg(7, new Float64Array(1)))).toThrow(/st/);
    expect(() => (nat.step as (...a: unknown[]) => number)(region)).toThrow(/8 arguments/);
    for (const [slot, v] of [[ST.POS, 99], [ST.POS, -1], [ST.POS, 0.5], [ST.OFF, 5000], [ST.IDX, 5], [ST.FORMAT, 9], [ST.SEQDIGITS, 33], [ST.OFF, NaN]] as const) {
      const bad = Float64Array.from(st);
      bad[slot] = v;
      expect(() => nat.step(...withArg(7, bad)), `st[${slot}] = ${v}`).toThrow(/st\[/);
    }
    expect(out.every((b) => b === 0)).toBe(true);
    // room for one record here, so the second line asks for room
    expect(nat.step(region, out, new Uint32Array(1), new Uint32Array(2), new Float64Array(1), new Uint8Array(1), Buffer.from(''), st)).toBe(STEP.ROOM);
    expect(st[ST.IDX]).toBe(1);
  });
});

// ------------------------------------------------------------ every byte value, lines up to 64 KiB

const FORMATS = ['auto', 'json', 'logfmt', 'syslog', 'plain'] as const;

/** A job over raw bytes: lines and separators as they come, cut at maxLineBytes by the splitter. */
function bytesJob(bytes: Uint8Array, format: Format, seqDigits: number, maxLineBytes: number): ParseJob {
  return { id: 1, items: [bytes], maxLineBytes, format, now: NOW, source: 'app', stream: 'main', origin: ORIGIN, seqDigits };
}

const anyFormat = fc.constantFrom<Format>(...FORMATS);
const PIECE_BYTES = PIECES.map((p) => Buffer.from(p));
/** Valid text: a parser's token, any ASCII byte (controls too), or any character as UTF-8. */
const textChunk = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...PIECE_BYTES) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 127 }).map((b) => Buffer.of(b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }).map((t) => Buffer.from(t)) },
);
/** Mostly valid text, sometimes a byte from 0x80 to 0xff alone (a broken sequence, mostly) or a run of any bytes. */
const chunk = fc.oneof(
  { weight: 40, arbitrary: textChunk },
  { weight: 1, arbitrary: fc.integer({ min: 128, max: 255 }).map((b) => Buffer.of(b)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 6 }).map((a) => Buffer.from(a)) },
);
const bodyOf = (c: fc.Arbitrary<Buffer>, max: number): fc.Arbitrary<Buffer> => fc.array(c, { maxLength: max }).map((a) => Buffer.concat(a));
/** A body inside the frame of a format; `clean` JSON frames get no quote, backslash or control byte (so they stay JSON). */
const FRAMES: [string, string, boolean][] = [
  ['', '', false], ['', '', false], ['{"msg":"', '","level":"warn"}', true], ['{"a":"', '","n":1}', true], ['{"msg":"', '"}', false],
  ['msg="', '" level=info a=1', false], ['k="', '" a=1 b=2', false], ['level=error ', ' a=1', false],
  ['<13>Nov 30 10:00:03 web-2 app[1]: ', '', false], ['<34>1 2026-11-30T10:00:02Z h a p m [x@1 a="1"] ', '', false], ['2026-11-30T10:00:00Z ERROR ', '', false],
];
const cleanJson = (b: Buffer): Buffer => Buffer.from(b.filter((x) => x >= 0x20 && x !== 0x22 && x !== 0x5c));
const framed = (body: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> =>
  fc.tuple(body, fc.constantFrom(...FRAMES)).map(([b, [pre, post, clean]]) => Buffer.concat([Buffer.from(pre), clean ? cleanJson(b) : b, Buffer.from(post)]));
const separator = fc.constantFrom('\n', '\n', '\n', '\r\n', '\r');
const noLf = (b: Buffer): Buffer => Buffer.from(b.filter((x) => x !== 10));

/** Run the property; then the share of its lines the native writer rendered itself must be at least `min` (else it tested JS against JS). */
function expectNativeShare<T>(prop: fc.IPropertyWithHooks<T>, numRuns: number, min: number, share: { native: number; bailed: number }): void {
  fc.assert(prop, { numRuns });
  const total = share.native + share.bailed;
  expect(total, 'lines').toBeGreaterThan(0);
  expect(share.native / total, `native share of ${total} lines`).toBeGreaterThanOrEqual(min);
}

describeNative('native writer against the JS parsers: every byte value, lines up to 64 KiB (properties)', () => {
  it('agrees on uniformly random bytes, all 256 values, in every format, with lines past max_line_bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), anyFormat, fc.integer({ min: 0, max: 3 }), fc.constantFrom(8, 64, 4096), (bytes, f, d, max) => {
        expectSame(bytesJob(bytes, f, d, max));
      }),
      { numRuns: 200 },
    );
  });

  it('agrees on lines of tokens, every byte value and any character (valid and invalid UTF-8, controls, CR), framed in every format', () => {
    const share = { native: 0, bailed: 0 };
    const region = fc.array(fc.tuple(framed(bodyOf(chunk, 30)), separator), { minLength: 1, maxLength: 16 }).map((ls) => Buffer.concat(ls.flatMap(([l, sep]) => [l, Buffer.from(sep)])));
    const prop = fc.property(region, anyFormat, fc.integer({ min: 0, max: 3 }), fc.constantFrom(16, 100, 4096), (bytes, f, d, max) => {
      const r = expectSame(bytesJob(bytes, f, d, max));
      share.native += r.native.lines;
      share.bailed += r.native.bailed;
    });
    expectNativeShare(prop, 500, 0.2, share);
  });

  it('renders lines near 64 KiB itself (the worst case of the output budget among them) and hands longer ones to JS', () => {
    const ctl = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(1 + (i % 8))).join('');
    const lines = [
      'x'.repeat(65_000),
      'ERROR ' + ctl(65_000),
      JSON.stringify({ msg: 'm'.repeat(65_000), level: 'info' }),
      JSON.stringify({ a: '"\\'.repeat(16_000), level: 30 }),
      // logfmt without a message key, raw control bytes in quoted values: 12 output bytes per input byte
      Array.from({ length: 190 }, (_, i) => `k${i}="${ctl(330)}"`).join(' '),
      `level=warn msg="${'q '.repeat(32_000)}" a=1`,
      `<34>1 2026-11-30T10:00:02.000Z h a p m [x@1 a="1"] ${'s'.repeat(65_000)}`,
      `<13>Nov 30 10:00:03 web-2 CRON[99]: ${ctl(65_000)}`,
    ];
    for (const l of lines) expect(l.length, l.slice(0, 20)).toBeLessThanOrEqual(65_536);
    const res = expectSame(jobOf(lines, 'auto', 3, NOW, 65_536));
    expect(res.native).toEqual({ lines: lines.length, bailed: 0 });
    // the logfmt line's record: close to 12 bytes per line byte (FP_BYTES_PER_BYTE), within the budget the native side asks for
    const rec = res.ends[4]! - res.ends[3]!;
    expect(rec / lines[4]!.length).toBeGreaterThan(10.5);
    const past = expectSame(jobOf(lines.map((l) => l + 'y'.repeat(65_537 - l.length)), 'auto', 0, NOW, 65_536));
    expect(past.native).toEqual({ lines: 0, bailed: lines.length });
    expect(past.split.truncated).toBe(lines.length);
  });

  it('agrees on lines near 64 KiB and past max_line_bytes (64 KiB here), framed in every format', () => {
    // a unit of tokens and bytes repeated to 60-70 KB, inside the frame of a format (or none)
    const share = { native: 0, bailed: 0 };
    const long = fc.tuple(fc.oneof({ weight: 3, arbitrary: bodyOf(textChunk, 12) }, { weight: 1, arbitrary: bodyOf(chunk, 12) }).map(noLf), fc.integer({ min: 60_000, max: 70_000 }))
      .map(([unit, target]) => Buffer.alloc(target, unit.length === 0 ? Buffer.from('x') : unit));
    const prop = fc.property(fc.array(fc.oneof(framed(long), framed(bodyOf(chunk, 20)).map(noLf)), { minLength: 1, maxLength: 4 }), anyFormat, fc.integer({ min: 0, max: 2 }), (lines, f, d) => {
      const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
      const r = expectSame(bytesJob(bytes, f, d, 65536));
      share.native += r.native.lines;
      share.bailed += r.native.bailed;
    });
    expectNativeShare(prop, 60, 0.2, share);
  });
});

// ------------------------------------------------------------ the C tables against their TypeScript twins
//
// The C writer's lookup tables (level names, level words and letters, syslog severities and
// facilities, pino decades, glog letters, role keys, month and weekday names, the `level=` keys
// and character classes of the plain scan, JSON.stringify's escapes) are generated into
// native/tables.h by native/gen-tables.ts from the TypeScript tables; the C code has no hand
// copy. Three checks hold them together: the committed header (and the tables.gen.h an install
// wrote, which the build prefers) must be exactly what the generator writes now, and the built
// addon must carry that header's tables id; the header is read back and compared entry by entry
// with its TypeScript twin (a missing, extra or different entry is named); and lines generated
// from the union of both tables put every entry in every place a parser looks it up, each
// rendered by the native writer and by JS and compared byte for byte (a line that differs is
// named). The lines must be the native writer's own: a line it hands to JS proves nothing about
// its tables, so that fails too.

const C_FILE = 'native/tables.h';
const TABLES_URL = new URL('../../native/tables.h', import.meta.url);
const GEN_TABLES_URL = new URL('../../native/tables.gen.h', import.meta.url);
const C_SOURCE = readFileSync(TABLES_URL, 'utf8');

/** The first capture of `re` in `text`; a reshaped source fails here, by name, instead of comparing nothing. */
function part(text: string, file: string, re: RegExp, what: string): string {
  const m = re.exec(text);
  if (m === null) throw new Error(`${file}: cannot find ${what} by ${String(re)} (native.test.ts reads the table there; update the pattern with native/gen-tables.ts)`);
  return m[1]!;
}
const cPart = (re: RegExp, what: string): string => part(C_SOURCE, C_FILE, re, what);
const captures = (text: string, re: RegExp): string[][] => [...text.matchAll(re)].map((m) => m.slice(1));
const quoted = (text: string): string[] => captures(text, /"((?:[^"\\]|\\.)*)"/g).map(([s]) => s!);

/** The C level enum: identifier -> Level (L_NONE: none), by its value as the JS LEVEL_CODE counts (index + 1). */
const C_LEVEL_IDS = new Map(captures(cPart(/enum \{ (L_NONE = 0,[^}]*)\}/, 'the level enum'), /(L_\w+) = (\d+)/g).map(([id, v]) => [id!, Number(v)]));
function cLevel(id: string): Level | 'none' | string {
  const i = C_LEVEL_IDS.get(id) ?? -1;
  return i === 0 ? 'none' : i > 0 && i <= LEVELS.length ? LEVELS[i - 1]! : `${id} (not in the enum)`;
}
const cLevels = (body: string): (Level | string)[] => body.split(',').map((x) => x.trim()).filter((x) => x !== '').map(cLevel);
/** A 128-entry table by character code, as [character, level] for the entries that are levels. */
const byCodeLevels = (body: string): [string, Level | string][] =>
  cLevels(body).flatMap((l, c) => (l === 'none' ? [] : [[String.fromCharCode(c), l] as [string, Level | string]]));
/** `{"text", length, value}` entries; a length that is not the text's is named. */
function entries(body: string, what: string): [string, string][] {
  return captures(body, /\{"([^"]*)", (\d+), (\w+)\}/g).map(([t, len, v]) => [Number(len) === t!.length ? t! : `${t} (${what} length ${len})`, v!]);
}
const unpack3 = (body: string): string[] => captures(body, /0x([0-9a-f]+)/g).map(([h]) => { const k = parseInt(h!, 16); return String.fromCharCode(k >> 16, (k >> 8) & 255, k & 255); });

const C_TABLES = (() => {
  const roleIds = new Map(captures(cPart(/enum \{ R_NONE = -1, ([^}]*)\}/, 'the role enum'), /(R_\w+) = (\d+)/g).map(([id, v]) => [id!, Number(v)]));
  return {
    levelIds: [...C_LEVEL_IDS].filter(([, v]) => v > 0).sort((x, y) => x[1] - y[1]).map(([id]) => id.slice(2).toLowerCase()),
    levelText: captures(cPart(/LEVEL_MESSAGE\[FP_NLEVELS\] = \{([\s\S]*?)\};/, 'LEVEL_MESSAGE'), /\\"level\\":\\"(\w+)\\"/g).map(([l]) => l!),
    words: entries(cPart(/LEVEL_WORD_TABLE\[FP_NWORDS\] = \{([\s\S]*?)\n\};/, 'LEVEL_WORD_TABLE'), 'word').map(([w, id]) => [w, cLevel(id)] as const),
    letters: byCodeLevels(cPart(/LETTER_LEVEL\[128\] = \{([\s\S]*?)\};/, 'LETTER_LEVEL')),
    severity: cLevels(cPart(/SYSLOG_SEVERITY\[8\] = \{([^}]*)\}/, 'SYSLOG_SEVERITY')),
    decades: cLevels(cPart(/DECADES\[6\] = \{([^}]*)\}/, 'DECADES')),
    glog: byCodeLevels(cPart(/GLOG_LEVEL\[128\] = \{([\s\S]*?)\};/, 'GLOG_LEVEL')),
    roleIds,
    roleKeys: entries(cPart(/ROLE_KEYS\[FP_NROLEKEYS\] = \{([\s\S]*?)\n\};/, 'ROLE_KEYS'), 'key').map(([k, r]) => [k, Number(r)] as const),
    facilities: quoted(cPart(/FACILITIES\[24\] = \{([\s\S]*?)\};/, 'FACILITIES')),
    months: unpack3(cPart(/MONTH_KEYS\[12\] = \{([^}]*)\}/, 'MONTH_KEYS')),
    weekdays: unpack3(cPart(/WEEKDAY_KEYS\[7\] = \{([^}]*)\}/, 'WEEKDAY_KEYS')),
    plainKeys: entries(cPart(/LEVEL_ASSIGN_KEY_TABLE\[FP_NASSIGNKEYS\] = \{([\s\S]*?)\n\};/, 'LEVEL_ASSIGN_KEY_TABLE'), 'key').map(([k]) => k),
  };
})();

/** The TS side of the same tables, from the modules that define them (the glog letters as parsePlain applies them). */
const GLOG_LINE = (c: string): string => `${c}1130 10:00:00.123456 1 main.go:1] x`;
const TS_TABLES = {
  words: [...LEVEL_WORDS].filter(([w]) => w === w.toLowerCase()),
  letters: [...LEVEL_LETTERS],
  decades: [1, 2, 3, 4, 5, 6].map((d) => levelFromNumber(d * 10) ?? 'none'),
  // plain.ts's glogLevel, as parsePlain applies it: every letter tried
  glog: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].flatMap((c) => {
    const l = parsePlain(GLOG_LINE(c), NOW).level;
    return l === undefined ? [] : [[c, l] as const];
  }),
  plainKeys: [...LEVEL_ASSIGN_KEYS] as string[],
};

/** Entry-by-entry differences of a C table and its TS twin, each named. */
function tableDiff(name: string, tsFile: string, ts: Iterable<readonly [string | number, unknown]>, c: Iterable<readonly [string | number, unknown]>): string[] {
  const out: string[] = [];
  const tsList = [...ts];
  const cList = [...c];
  const tsMap = new Map(tsList);
  const cMap = new Map(cList);
  const show = (v: unknown): string => JSON.stringify(v);
  if (cMap.size !== cList.length) out.push(`${name}: ${C_FILE} lists an entry twice`);
  for (const [k, v] of tsMap) {
    if (!cMap.has(k)) out.push(`${name}: ${show(k)} (${show(v)}) is in ${tsFile} but not in ${C_FILE}`);
    else if (show(cMap.get(k)) !== show(v)) out.push(`${name}: ${show(k)} is ${show(v)} in ${tsFile} but ${show(cMap.get(k))} in ${C_FILE}`);
  }
  for (const [k, v] of cMap) if (!tsMap.has(k)) out.push(`${name}: ${show(k)} (${show(v)}) is in ${C_FILE} but not in ${tsFile}`);
  return out;
}
const indexed = <T,>(a: readonly T[]): [number, T][] => a.map((v, i) => [i, v]);

const UTC = localZoneIsUtc();

interface Rec {
  text: string;
  time: number;
  level: number;
  msg: number[];
}
// the source, stream and origin segment every record of jobOf carries: shortened in failure messages
const MID = middleText('app', 'main', ORIGIN);
function records(r: ParseResult): Rec[] {
  return Array.from(r.ends, (e, k) => {
    const s = k === 0 ? 0 : r.ends[k - 1]!;
    return { text: Buffer.from(r.buf.subarray(s, e)).toString(), time: r.times[k]!, level: r.levels[k]!, msg: [r.msg[2 * k]! - s, r.msg[2 * k + 1]! - s] };
  });
}
const shown = (r: Rec): string => JSON.stringify({ ...r, text: r.text.replace(MID, '<source, stream, origin>'), level: r.level === 0 ? 'none' : LEVELS[r.level - 1] });

/**
 * Each line through the native writer and through JS, compared record by record (bytes, time,
 * level, where the message is) and as a job (parse and split counters); a failure names every
 * line that differs. `render`: the native writer must render every line itself ('always'), or
 * only when the process zone is UTC ('utc': lines with a local wall-clock time, which go to JS
 * otherwise). `mayGoToJs` names the lines it may hand to JS (and why).
 */
function expectLinesSame(what: string, lines: readonly string[], formats: readonly Format[], render: 'always' | 'utc', mayGoToJs?: (line: string) => boolean): void {
  expect(lines.length, `${what}: no lines`).toBeGreaterThan(0);
  for (const format of formats) {
    const job = jobOf([...lines], format, 0);
    const nat = runJob(job, nativeParse);
    const js = runJob(job, null);
    const a = records(nat);
    const b = records(js);
    expect([a.length, b.length], `${what} as ${format}: one record per line`).toEqual([lines.length, lines.length]);
    const bad: string[] = [];
    for (let k = 0; k < lines.length; k++) {
      if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) bad.push(`  line ${JSON.stringify(lines[k])}\n    native: ${shown(a[k]!)}\n    js:     ${shown(b[k]!)}`);
    }
    if (bad.length > 0) {
      const more = bad.length > 12 ? `\n  ... and ${bad.length - 12} more` : '';
      assert.fail(`${what} as ${format}: ${bad.length} of ${lines.length} lines differ between ${C_FILE} and the TypeScript parsers:\n${bad.slice(0, 12).join('\n')}${more}`);
    }
    expect(nat.counters, `${what} as ${format}: parse counters`).toEqual(js.counters);
    expect(nat.split, `${what} as ${format}: split counters`).toEqual(js.split);
    if (render === 'always' || UTC) {
      const handed = nat.native.bailed === 0 ? [] : lines.filter((l) => !(mayGoToJs?.(l) ?? false) && runJob(jobOf([l], format, 0), nativeParse).native.bailed > 0);
      if (handed.length > 0) assert.fail(`${what} as ${format}: the native writer handed ${handed.length} lines to JS, so they test nothing of its tables:\n${handed.slice(0, 12).map((l) => '  ' + JSON.stringify(l)).join('\n')}`);
    }
  }
}

const uniq = <T,>(a: Iterable<T>): T[] => [...new Set(a)];
const cap = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1);
const alternate = (w: string, upperFirst: boolean): string => [...w].map((c, i) => ((i % 2 === 0) === upperFirst ? c.toUpperCase() : c.toLowerCase())).join('');
/** The case forms the JS lookups accept: exact (lower, UPPER, Capitalized) and, after lowercasing, any other. */
const caseForms = (w: string): string[] => uniq([w, w.toUpperCase(), cap(w), alternate(w, false), alternate(w, true)]);
/** Near misses: a table that matched prefixes, suffixes or substrings would take these. */
const nearMisses = (w: string): string[] => uniq([w.slice(0, -1), w + 'x', 'x' + w, w.slice(1)]).filter((x) => x.length > 0);
const ASCII = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)).filter((c) => c !== '\n');

// the union of both sides: an entry only one side has is tried too
const WORDS = uniq([...TS_TABLES.words.map(([w]) => w), ...C_TABLES.words.map(([w]) => w)]);
const ROLE_KEYS = uniq([...ROLES.keys(), ...C_TABLES.roleKeys.map(([k]) => k)]);
const LEVEL_ROLE_KEYS = uniq([...LEVEL_KEYS, ...C_TABLES.roleKeys.filter(([, r]) => typeof r === 'number' && r >> 4 === ROLE_LEVEL).map(([k]) => k)]);
const PLAIN_KEYS = uniq([...TS_TABLES.plainKeys, ...C_TABLES.plainKeys]);
const MONTHS = uniq([...MONTH_NAMES, ...C_TABLES.months]);
const WEEKDAYS = uniq([...WEEKDAY_NAMES, ...C_TABLES.weekdays]);
const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0_!'];

describe('the tables native/gen-tables.ts generates from TypeScript', () => {
  it('native/tables.h is what the generator writes (run `node --import tsx native/gen-tables.ts` and commit it)', () => {
    const want = renderTables();
    expect(C_SOURCE === want, `${C_FILE} is not what native/gen-tables.ts writes now: run \`node --import tsx native/gen-tables.ts\` and commit native/tables.h`).toBe(true);
    // an install with tsx generated tables.gen.h, which the build prefers: it must be current too
    if (existsSync(GEN_TABLES_URL)) {
      expect(readFileSync(GEN_TABLES_URL, 'utf8') === want, 'native/tables.gen.h is stale: npm rebuild (or delete it to build from native/tables.h)').toBe(true);
    }
  });

  it('the built addon has these tables (rebuild after the tables change)', () => {
    if (nativeParse === undefined) return;
    expect(nativeParse.tables, 'the addon was built from other tables: npm rebuild').toBe(part(renderTables(), 'gen-tables.ts', /#define FP_TABLES_ID "([0-9a-f]+)"/, 'FP_TABLES_ID'));
  });

  it('hold the same entries as their TypeScript twins, no more, no fewer, each the same', () => {
    const problems = [
      ...tableDiff('level names (the C enum)', 'src/core/record.ts LEVELS', indexed(LEVELS), indexed(C_TABLES.levelIds)),
      ...tableDiff('LEVEL_MESSAGE', 'src/core/record.ts LEVELS', indexed(LEVELS), indexed(C_TABLES.levelText)),
      ...tableDiff('LEVEL_WORD_TABLE', 'src/parse/level.ts', TS_TABLES.words, C_TABLES.words),
      ...tableDiff('LETTER_LEVEL', 'src/parse/level.ts LETTERS', TS_TABLES.letters, C_TABLES.letters),
      ...tableDiff('SYSLOG_SEVERITY', 'src/parse/level.ts', indexed(SYSLOG_SEVERITY), indexed(C_TABLES.severity)),
      ...tableDiff('DECADES', 'src/parse/level.ts', indexed(TS_TABLES.decades), indexed(C_TABLES.decades)),
      ...tableDiff('GLOG_LEVEL', 'src/parse/plain.ts', TS_TABLES.glog, C_TABLES.glog),
      ...tableDiff('the role enum', 'src/parse/keys.ts', [['R_MESSAGE', ROLE_MESSAGE], ['R_LEVEL', ROLE_LEVEL], ['R_TIME', ROLE_TIME], ['R_HOST', ROLE_HOST], ['R_APP', ROLE_APP]], C_TABLES.roleIds),
      ...tableDiff('ROLE_KEYS (role * 16 + rank)', 'src/parse/keys.ts', ROLES, C_TABLES.roleKeys),
      ...tableDiff('FACILITIES', 'src/parse/syslog-common.ts', indexed(FACILITIES), indexed(C_TABLES.facilities)),
      ...tableDiff('MONTH_KEYS', 'src/parse/time.ts', indexed(MONTH_NAMES), indexed(C_TABLES.months)),
      ...tableDiff('WEEKDAY_KEYS', 'src/parse/time.ts', indexed(WEEKDAY_NAMES), indexed(C_TABLES.weekdays)),
      ...tableDiff('LEVEL_ASSIGN_KEY_TABLE', 'src/parse/plain.ts', indexed(TS_TABLES.plainKeys), indexed(C_TABLES.plainKeys)),
    ];
    expect(problems).toEqual([]);
    // the readers found the tables (an empty read on both sides would compare nothing)
    expect([WORDS.length, C_TABLES.letters.length, C_TABLES.glog.length, C_TABLES.roleKeys.length, C_TABLES.facilities.length, C_TABLES.plainKeys.length]).toEqual([
      TS_TABLES.words.length, TS_TABLES.letters.length, TS_TABLES.glog.length, ROLES.size, 24, TS_TABLES.plainKeys.length,
    ]);
    expect(TS_TABLES.words.length).toBeGreaterThan(20);
    expect(TS_TABLES.glog.length).toBeGreaterThan(0);
    expect(TS_TABLES.plainKeys.length).toBeGreaterThan(0);
  });

  it('no C source has a hand copy: the tables appear only in the generated header', () => {
    const sources = ['fastparse_core.c', 'fastparse_core.h', 'binding.c'].map((f) => [f, readFileSync(new URL(`../../native/${f}`, import.meta.url), 'utf8')] as const);
    const copies: string[] = [];
    for (const [f, text] of sources) {
      for (const w of ['"informational"', '"solaris-cron"', '"__REALTIME_TIMESTAMP"', '"janfeb', '"montue', '"severity"']) if (text.includes(w)) copies.push(`${f}: ${w}`);
    }
    expect(copies).toEqual([]);
  });
});

describeNative('native writer against the JS parsers, on every entry of every table', () => {
  it('level words: each in every case form, padded, and near misses, as the value of every level key in JSON and logfmt', () => {
    const json: string[] = [];
    const logfmt: string[] = [];
    for (const w of WORDS) {
      const forms = [...caseForms(w), ` ${w} `, ` ${w.toUpperCase()}`, `${cap(w)}  `, ...nearMisses(w)];
      for (const key of LEVEL_ROLE_KEYS) {
        for (const f of forms) {
          json.push(`{"msg":"m","${key}":"${f}"}`, `{"${key}":"${f}"}`);
          logfmt.push(f.includes(' ') ? `msg=m ${key}="${f}"` : `msg=m ${key}=${f}`, `${key}="${f}" a=1 b=2`);
        }
      }
      // String#trim's ASCII whitespace (and the controls it does not trim) around the word
      for (const c of ASCII.filter((x) => x < ' ' || x === '\x7f')) logfmt.push(`msg=m level="${c}${w}${c}"`);
    }
    expectLinesSame('level words in JSON', json, ['auto', 'json'], 'always');
    expectLinesSame('level words in logfmt', logfmt, ['auto', 'logfmt'], 'always');
  });

  it('level words: each in every case form and decoration in plain text, after a time, and where a syslog header would take it for a host or tag', () => {
    const plain: string[] = [];
    const syslogish: string[] = [];
    for (const w of WORDS) {
      for (const f of [...caseForms(w), ...nearMisses(w)]) {
        plain.push(`${f} something happened`, `[${f}] x`, `<${f}> x`, `(${f}) x`, `${f}: x`, `an ${f} occurred`, `x${f} y`, `${f}_x y`, `${f}1 y`, `[${f}> x`);
        plain.push(`2026-11-30T10:00:00Z ${f} x`, `[2026-11-30T10:00:00.5Z] [${f}] x`, `2026-11-30T10:00:00+01:00 (${f}) x`);
        for (const k of uniq([...PLAIN_KEYS, ...PLAIN_KEYS.map((x) => x.toUpperCase()), ...PLAIN_KEYS.map((x) => 'x' + x), ...PLAIN_KEYS.map((x) => x.slice(0, -1)), ...LEVEL_ROLE_KEYS])) {
          plain.push(`x ${k}=${f} y`);
        }
        syslogish.push(`2026-11-30T10:00:00Z ${f} main: x`, `2026-11-30T10:00:00Z host ${f}: x`, `2026-11-30T10:00:00Z ${f}: x`, `2026-11-30T10:00:00Z ${f}[12]: x`);
      }
    }
    expectLinesSame('level words in plain text', plain, ['auto', 'plain'], 'always');
    expectLinesSame('level words in syslog-shaped lines', syslogish, ['auto', 'syslog'], 'always');
  });

  it('level letters and glog headers: every letter, both cases', () => {
    const json: string[] = [];
    const logfmt: string[] = [];
    const plain: string[] = [];
    for (const c of LETTERS) {
      for (const key of LEVEL_ROLE_KEYS) {
        json.push(`{"msg":"m","${key}":"${c}"}`, `{"msg":"m","${key}":" ${c} "}`);
        logfmt.push(`msg=m ${key}=${c}`, `msg=m ${key}=" ${c} "`);
      }
      plain.push(`[${c}] x`, `<${c}> x`, `(${c}) x`, `${c}: x`, `x ${c} y`, `[${c}> x`, `2026-11-30T10:00:00Z [${c}] x`);
    }
    expectLinesSame('level letters in JSON', json, ['auto', 'json'], 'always');
    expectLinesSame('level letters in logfmt', logfmt, ['auto', 'logfmt'], 'always');
    expectLinesSame('level letters in plain text', plain, ['auto', 'plain'], 'always');
    // a glog header's time has no zone: local wall-clock time
    expectLinesSame('glog headers', LETTERS.map(GLOG_LINE), ['auto', 'plain'], 'utc');
  });

  it('numeric levels: syslog severities, pino decades and the numbers around them, as numbers and strings', () => {
    const values = [...Array.from({ length: 111 }, (_, i) => String(i)), '255', '999', '1000', '-1', '1.5', '0.5'];
    const lines: string[] = [];
    for (const key of LEVEL_ROLE_KEYS) {
      for (const v of values) lines.push(`{"msg":"m","${key}":${v}}`, `{"msg":"m","${key}":"${v}"}`, `msg=m ${key}=${v}`);
    }
    expectLinesSame('numeric levels', lines, ['auto'], 'always');
  });

  it('syslog PRI: every facility and severity, and the values around them, in RFC 3164 and RFC 5424', () => {
    const pris = [...Array.from({ length: 192 }, (_, i) => String(i)), '192', '200', '255', '999', '1000', '07', '00', ''];
    const iso: string[] = [];
    const bsd: string[] = [];
    for (const p of pris) {
      iso.push(`<${p}>2026-11-30T10:00:03Z web-2 app[12]: m`, `<${p}>2026-11-30T10:00:03.5+02:00 app: m`, `<${p}>1 2026-11-30T10:00:02.000Z web-1 app 4123 ID47 [x@1 a="1"] m`, `<${p}>1 - - - - - m`);
      bsd.push(`<${p}>Nov 30 10:00:03 web-2 app[12]: m`, `<${p}>Nov  3 10:00:03 kernel: m`);
    }
    expectLinesSame('syslog PRI with zoned times', iso, ['auto', 'syslog'], 'always');
    expectLinesSame('syslog PRI with BSD times', bsd, ['auto', 'syslog'], 'utc');
  });

  it('month and weekday names: each in every case form, and near misses, in every timestamp that has one', () => {
    const zoned: string[] = [];
    const local: string[] = [];
    for (const m of MONTHS) {
      for (const f of [...caseForms(m), m.slice(0, 2) + 'x', ...WEEKDAYS.slice(0, 2)]) {
        zoned.push(
          `10.0.0.1 - - [28/${f}/2026:10:00:04 +0000] "GET / HTTP/1.1" 200 2`,
          `{"msg":"m","time":"28/${f}/2026:10:00:04 -0700"}`,
          `msg=m time="31/${f}/2026:23:59:59 +0100"`,
        );
        local.push(
          `<13>${f} 28 10:00:03 host app: m`,
          `<13>${f}  1 10:00:03 host app: m`,
          `<13>${f} 31 10:00:03 host app: m`,
          `<13>${f} 29 2024 10:00:03 host app: m`,
          `${f} 28 10:00:03 host app[1]: m`,
          `{"msg":"m","time":"${f} 28 10:00:03"}`,
          `[Mon ${f} 28 10:00:00.123 2026] [core:error] x`,
        );
      }
    }
    for (const d of WEEKDAYS) {
      for (const f of [...caseForms(d), d.slice(0, 2) + 'x']) for (const m of MONTHS) local.push(`[${f} ${cap(m)} 28 10:00:00.123 2026] [core:error] x`);
    }
    expectLinesSame('month names in zoned times', zoned, ['auto'], 'always');
    expectLinesSame('month and weekday names in local times', local, ['auto'], 'utc');
  });

  it('role keys: each key and its case forms and near misses, with every kind of value, in JSON and logfmt', () => {
    const keys = uniq(ROLE_KEYS.flatMap((k) => [k, k.toUpperCase(), k.toLowerCase(), cap(k), ...nearMisses(k)]));
    const jsonValues = ['"hello"', '"warn"', '"ERROR"', '30', '"2026-11-30T10:00:00.5Z"', '1764500000123', '"1764500000"', '"h1"', '""', '"  "', 'true', 'null', '{"a":1}', '[1]'];
    const logfmtValues = ['hello', 'warn', 'ERROR', '30', '2026-11-30T10:00:00.5Z', '1764500000', 'h1', '', '"two words"'];
    const json: string[] = [];
    const logfmt: string[] = [];
    for (const k of keys) {
      for (const v of jsonValues) if (!(k === 'log' && v.startsWith('{'))) json.push(`{"${k}":${v}}`, `{"zz":"m","${k}":${v},"z":1}`);
      for (const v of logfmtValues) logfmt.push(`${k}=${v} a=1`, `b=2 ${k}=${v} a=1`);
      logfmt.push(`a=1 b=2 ${k}`);
    }
    expectLinesSame('role keys in JSON', json, ['auto', 'json'], 'always');
    expectLinesSame('role keys in logfmt', logfmt, ['auto', 'logfmt'], 'always');
  });

  it('role key ranks: every ordered pair of keys of one role, in JSON and logfmt', () => {
    const byRole = new Map<number, string[]>();
    for (const k of ROLE_KEYS) {
      const r = ROLES.get(k) ?? C_TABLES.roleKeys.find(([x]) => x === k)![1];
      if (typeof r !== 'number') continue;
      byRole.set(r >> 4, [...(byRole.get(r >> 4) ?? []), k]);
    }
    const values: Record<number, [string, string]> = {
      [ROLE_MESSAGE]: ['mA', 'mB'],
      [ROLE_LEVEL]: ['warn', 'error'],
      [ROLE_TIME]: ['2026-11-30T10:00:01Z', '2026-11-30T10:00:02Z'],
      [ROLE_HOST]: ['hA', 'hB'],
      [ROLE_APP]: ['aA', 'aB'],
    };
    const lines: string[] = [];
    for (const [role, keys] of byRole) {
      const [va, vb] = values[role]!;
      for (const a of keys) for (const b of keys) if (a !== b) lines.push(`{"${a}":"${va}","${b}":"${vb}"}`, `${a}=${va} ${b}=${vb}`);
    }
    expect(byRole.size).toBe(5);
    expectLinesSame('role key ranks', lines, ['auto'], 'always');
  });

  it('escaping: every ASCII character in messages, keys and values of every format, and every escape the JSON and logfmt parsers know', () => {
    const plain: string[] = [];
    const logfmt: string[] = [];
    const syslog: string[] = [];
    const json: string[] = [];
    const jsonEsc = (c: string): string => (c === '"' || c === '\\' ? '\\' + c : c);
    for (const c of ASCII) {
      plain.push(`a${c}b ERROR x`);
      logfmt.push(`msg="a${c}b" k=v`, `msg=a${c}b k=v`, `k${c}y=1 msg=m`, `msg="m" k="\\${c}"`);
      syslog.push(`<13>2026-11-30T10:00:03Z host app: a${c}b`, `<13>1 2026-11-30T10:00:02Z h a p m [x@1 k="a${c}b"] a${c}b`);
      if (c >= ' ') json.push(`{"msg":"a${jsonEsc(c)}b","k${c === '"' || c === '\\' ? '' : c}":"v${jsonEsc(c)}"}`);
    }
    for (const e of ['"', '\\', '/', 'b', 'f', 'n', 'r', 't']) json.push(`{"msg":"a\\${e}b","k":"\\${e}","n":{"x":"\\${e}"}}`);
    for (const u of ['0041', '007f', '001f', '0000', 'zzzz', '12']) logfmt.push(`msg="a\\u${u}b" k=v`);
    expectLinesSame('ASCII characters in plain text', plain, ['auto', 'plain'], 'always');
    expectLinesSame('ASCII characters and escapes in logfmt', logfmt, ['auto', 'logfmt'], 'always');
    // an RFC 5424 SD value with a backslash goes to JS on purpose (JS unescapes it)
    expectLinesSame('ASCII characters in syslog', syslog, ['auto', 'syslog'], 'always', (l) => l.includes('k="a\\b"'));
    expectLinesSame('ASCII characters and escapes in JSON', json, ['auto', 'json'], 'always');
    // what the native writer leaves to JS on purpose, still compared: a raw control character in a JSON
    // string (invalid JSON: JSON.parse says what it is), a JSON key with an escape, a logfmt \u past ASCII
    const toJs = [
      ...ASCII.filter((c) => c < ' ').map((c) => `{"msg":"a${c}b"}`),
      '{"k\\"":"v","msg":"m"}',
      '{"k\\\\":"v","msg":"m"}',
      'msg="a\\u00e9b" k=v',
    ];
    expectLinesSame('lines the native writer leaves to JS', toJs, ['auto'], 'always', () => true);
  });
});
