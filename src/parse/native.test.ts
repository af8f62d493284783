import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runJob } from './worker.js';
import { ST, STEP, nativeParse, nativeParseState } from './native.js';
import type { Format } from './detect.js';
import type { ParseJob, ParseResult } from './pool.js';
import { buildTemplates, renderLine } from '../../bench/gen.js';

// The native writer must give exactly what the JS parsers and serializer give, for every
// line: the records' bytes, where their messages are, their times, levels, the parse
// counters and the split counters. JS (runJob(job, null)) is the definition.

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
const ORIGIN = JSON.stringify({ kind: 'file', path: '/var/log/app "ü".log' });

function jobOf(lines: (string | Buffer)[], format: Format = 'auto', seqDigits = 0, now = NOW): ParseJob {
  const bytes = Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l + '\n') : Buffer.concat([l, Buffer.from('\n')]))));
  return { id: 1, items: [new Uint8Array(bytes)], maxLineBytes: 4096, format, now, source: 'app', stream: 'main', origin: ORIGIN, seqDigits };
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
    const lines: (string | Buffer)[] = [
      '',
      '   ',
      '{}',
      '  {"msg":"leading blanks"}  ',
      '{"msg":"a\\/b \\"q\\" \\\\ \\t\\n","n":1.5,"z":0,"neg":-0.25,"kv":"v\\/w","small":0.000001}',
      '{"msg":"big","n":12345678901234567890}',
      '{"msg":"exponent","n":1e5}',
      '{"msg":"trailing zero","n":1.50}',
      '{"msg":"minus zero","n":-0}',
      '{"msg":"tiny","n":0.0000001}',
      '{"msg":"sixteen digits","n":1234567890.123456}',
      '{"msg":"unicode \\u00e9 escape"}',
      '{"message":"second","msg":"first","text":"third"}',
      '{"msg":{"not":"a message"},"message":"this one"}',
      '{"msg":42,"level":30,"time":1764500000123}',
      '{"msg":true,"level":"WARNING","ts":"2026-11-30T10:00:00+02:00"}',
      '{"level":"bogus","lvl":"ERROR","severity":"info"}',
      '{"host":"","hostname":"h1","app":"a","service":"s"}',
      '{"1":"integer key","b":2}',
      '{"__proto__":{"x":1},"msg":"proto"}',
      '{"a":1,"a":2}',
      '{"nested":{"a":[1,{"b":null}],"c":"d"},"arr":[],"obj":{}}',
      '{"log":"docker line\\n","stream":"stdout"}',
      '{"log":{"level":"warn","origin":"x"},"message":"ecs"}',
      '{"time":"not a time","ts":1764500000.5,"t":"x"}',
      '{"msg":"bad json",}',
      '{"msg":"ctl \u0001 raw"}',
      '{"msg":"tail"} trailing',
      '{"msg":"café ☕","level":"info"}',
      '{"level":" warn ","msg":"padded level"}',
      'a=1 b=2',
      'msg=hello',
      'level=info msg="quoted \\"inner\\" \\\\ \\n \\t \\u0041 \\q" x=',
      'key= other="unterminated value',
      'dup=1 dup=2 msg=x',
      '1=one 2=two',
      '=x "quoted" bare msg=ok',
      'time="2026-11-30 10:00:00.5 +0100" level=W msg=t',
      'time=30/Nov/2026:10:00:00 level=debug msg=clf',
      'ts=1764500000 lvl=50 msg=epoch host=h app=a',
      'msg="ünïcode ✓" k=v',
      'msg="\\u00ff high escape" k=v',
      '<13>Nov 30 10:00:03 web-2 CRON[99]: (root) CMD (run-parts)',
      '<13>Nov  3 10:00:03 host tag: msg',
      '<0>Nov 30 10:00:03 kernel: panic',
      '<191>Dec 31 23:59:59 2025 host app[1]: with a year',
      '<13>no header at all',
      '<13>',
      '<999>Nov 30 10:00:03 x y: not a pri',
      '<34>1 2026-11-30T10:00:02.000Z web-1 sshd 4123 ID47 [exampleSDID@32473 iut="3" eventSource="App"][b@1] Accepted',
      '<34>1 2026-11-30T10:00:02Z - - - - - no header values',
      '<34>1 - host app - - [x@1 a="1"]msg glued to the sd',
      '<34>12 2026-11-30T10:00:02Z h a p m - two digit version',
      '<34>1 2026-11-30T10:00:02Z h a p m',
      '<34>1 2026-11-30T10:00:02Z h a p',
      '<34>1 2026-11-30T10:00:02Z h a p m [bad sd here',
      '<34>1 2026-11-30T10:00:02Z h a p m [ok@1 k="v"][bad',
      '<34>1 2026-11-30T10:00:02Z h a p m [e@1 k="a \\"q\\" \\] b"] escaped sd',
      '<34>1 2026-11-30T10:00:02Z h a p m [e@1 k="1" k="2"] repeated param',
      '<34>1 2026-11-30T10:00:02Z h a p m [e@1 k="1"][e@1 j="2"] repeated id',
      '<34>1 2026-11-30T10:00:02Z h a p m [e@1 k="é"] ünïcode sd',
      '<34>1 2026-11-30T10:00:02Z hé a p m - non-ASCII host',
      '<34>1 2026-11-30T10:00:02Z relay app - - - <13>Nov 30 10:00:03 inner tag: relayed',
      '<34>1 2026-11-30T10:00:02Z relay app - - - 1 2026-11-30T10:00:03Z h a - - - stripped pri',
      '<34>1 2026-11-30T10:00:02Z relay app - - - Nov 30 10:00:03 inner tag: bsd relayed',
      '<34>1 2026-11-30T10:00:02Z h a - - - \ufeffBOM is written as text here',
      Buffer.concat([Buffer.from('<34>1 2026-11-30T10:00:02Z h a - - - '), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('real BOM')]),
      '<34>1 not-a-time h a - - - bad time',
      'Nov 30 10:00:03 web-2 sshd[1]: Accepted',
      'Nov 30 10:00:03 ERROR main: not syslog',
      '2026-11-30T10:00:00.123456+00:00 host app[5]: rsyslog file format',
      '2026-11-30T10:00:00Z INFO main: not syslog either',
      '2026-11-30 10:00:00,123 ERROR [main] c.e.App - failed',
      '[2026-11-30 10:00:00] [warn] bracketed',
      'I1130 10:00:00.123456 1 main.go:1] glog info',
      'E1130 10:00:00.123456 1 main.go:1] glog error',
      'Mon Nov 30 10:00:00.123 2026 [core:error] ctime',
      '10.0.0.1 - - [30/Nov/2026:10:00:04 +0000] "GET /ERROR HTTP/1.1" 200 2',
      '::1 - - [30/Nov/2026:10:00:04 -0700] "GET / HTTP/1.1" 200 2',
      'the stack trace shows an error occurred',
      'x [E] y <W> z (info) fatal: level=crit',
      'terror error_code ERROR_X WARN2 _INFO',
      'tab\there and \u0007 bell and "quotes" and \\ backslash',
      'ユーザー ERROR after non-ASCII',
      'é'.repeat(50) + ' ERROR late',
      'ERROR ' + 'é'.repeat(50),
      'crlf line\r',
      'x'.repeat(5000),
      Buffer.from([0x61, 0xff, 0x62]),
      Buffer.from([0x7b, 0x22, 0x6d, 0x73, 0x67, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
      Buffer.from('ed a0 80 surrogate bytes', 'latin1'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
      Buffer.from([0xe0, 0x80, 0x80]),
      '\u{1F680} rocket first',
      '9999-12-31T23:59:59.999Z INFO last ms',
      '1969-12-31T23:59:59Z INFO before epoch',
    ];
    for (const f of ['auto', 'json', 'logfmt', 'syslog', 'plain'] as const) {
      for (const seqDigits of [0, 2]) expectSame(jobOf(lines, f, seqDigits));
    }
  });

  it('agrees on random lines (property)', () => {
    const pieces = ['{', '}', '[', ']', '"', ':', ',', '=', ' ', '\t', '\\', '\\"', '\\u0041', '\\/', 'msg', 'level', 'time', 'ts', 'host', 'app', 'log',
      'INFO', 'error', 'warn', '30', '1764500000', '1.5', '-0', 'true', 'null', '<13>', '<34>1 ', 'Nov 30 10:00:03 ', '2026-11-30T10:00:00Z ',
      '2026-11-30 10:00:00 ', '[30/Nov/2026:10:00:04 +0000]', 'é', 'ユ', '🚀', '\u0001', '\r', 'x', 'y1', 'k=v ', 'a="b c" ', 'tag[12]: '];
    const line = fc.array(fc.constantFrom(...pieces), { maxLength: 24 }).map((a) => a.join(''));
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
    nat.bind(out, ends, new Uint32Array(4), new Float64Array(2), new Uint8Array(2), Buffer.from('","source":"s"'), st);
    const run = (utc: number): { status: number; idx: number; bail: number } => {
      st.fill(0);
      st[ST.NOW] = NOW;
      st[ST.MAXLINE] = 4096;
      st[ST.UTC] = utc;
      const status = nat.step(bytes);
      return { status, idx: st[ST.IDX]!, bail: st[ST.BAIL_START]! };
    };
    expect(run(0)).toEqual({ status: STEP.BAIL, idx: 0, bail: 0 });
    expect(run(1)).toEqual({ status: STEP.DONE, idx: 2, bail: 0 });
  });

  it('asks for room instead of writing past the output', () => {
    const nat = nativeParse!;
    const bytes = new Uint8Array(Buffer.from('a plain line\n'));
    const st = new Float64Array(nat.stateSize);
    nat.bind(Buffer.alloc(64), new Uint32Array(1), new Uint32Array(2), new Float64Array(1), new Uint8Array(1), Buffer.from(''), st);
    st[ST.NOW] = NOW;
    st[ST.MAXLINE] = 4096;
    expect(nat.step(bytes)).toBe(STEP.ROOM);
    expect(st[ST.NEED]).toBeGreaterThan(64);
    expect(st[ST.IDX]).toBe(0);
  });

  it('refuses arrays of the wrong kind or size at bind, and keeps nothing of a refused bind', () => {
    const nat = nativeParse!;
    const st = new Float64Array(nat.stateSize);
    const ok = [Buffer.alloc(4096), new Uint32Array(4), new Uint32Array(8), new Float64Array(4), new Uint8Array(4), Buffer.from(''), st] as const;
    expect(() => nat.bind(ok[0], new Uint8Array(16) as unknown as Uint32Array, ok[2], ok[3], ok[4], ok[5], ok[6])).toThrow(/ends/);
    expect(() => nat.bind(ok[0], ok[1], new Uint32Array(7), ok[3], ok[4], ok[5], ok[6])).toThrow(/msg/);
    expect(() => nat.bind(ok[0], ok[1], ok[2], new Uint32Array(4) as unknown as Float64Array, ok[4], ok[5], ok[6])).toThrow(/times/);
    expect(() => nat.bind(ok[0], ok[1], ok[2], ok[3], ok[4], ok[5], new Float64Array(1))).toThrow(/st/);
    expect(() => nat.step(new Uint16Array(4) as unknown as Uint8Array)).toThrow(/region/);
    // the last good bind is what step uses: a one-record capacity, so the second line asks for room
    nat.bind(Buffer.alloc(4096), new Uint32Array(1), new Uint32Array(2), new Float64Array(1), new Uint8Array(1), Buffer.from(''), st);
    expect(() => nat.bind(ok[0], new Uint32Array(64), new Uint32Array(2), ok[3], ok[4], ok[5], ok[6])).toThrow(/msg/);
    st[ST.NOW] = NOW;
    st[ST.MAXLINE] = 4096;
    expect(nat.step(new Uint8Array(Buffer.from('one\ntwo\n')))).toBe(STEP.ROOM);
    expect(st[ST.IDX]).toBe(1);
  });
});
