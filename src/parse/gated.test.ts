/**
 * Transforms over the native writer's output (gated.ts, transforms/gates.ts)
 * give exactly what the JS path gives (every line parsed, transformed and
 * rendered in JS: runJob(job, null)): the bytes, message places, times,
 * levels, the transforms' drops and per-step counts. Over the bench's line
 * templates, the native edge lines and lines made to open or not open each
 * kind of gate (escaped messages, keys present or not, drops), for chains
 * of every gated kind, with and without seq room.
 */
import { describe, expect, it } from 'vitest';
import { buildTemplates, renderLine } from '../../bench/gen.js';
import { NATIVE_EDGE_LINES } from '../../test/helpers/native-edge-lines.js';
import { transformSchema, type TransformConfig } from '../transforms/config.js';
import { nativeParse } from './native.js';
import type { ParseJob, ParseResult } from './pool.js';
import { runJob } from './worker.js';

if (nativeParse === undefined) console.warn('SKIPPED src/parse/gated.test.ts: the native writer is not loaded (not built, or SLUICE_NATIVE_PARSE=0): the gated path runs only over its output');

const NOW = Date.UTC(2026, 11, 6, 6, 0, 0, 123);
const ORIGIN = JSON.stringify({ kind: 'file', path: '/var/log/app.log' });

const LINES: (string | Buffer)[] = [
  ...buildTemplates(400).flatMap((g, i) => g.map((t) => renderLine(t, i + 1))),
  ...NATIVE_EDGE_LINES,
  '{"msg":"login password=hunter2 from 10.1.2.3","client_ip":"192.168.0.9","secret":"token=abc"}',
  '{"msg":"quoted \\"password=x\\" from 10.0.0.1","user":"a"}',
  '{"msg":"no secrets here","secret":"plain"}',
  'level=error msg="token=zzz denied" host=web-1',
  '<34>1 2026-12-06T06:00:00.000Z web-2 api 77 ID1 - password=p4ss from 172.16.0.1',
  'plain line 10.9.8.7 with an address',
  'plain line with DROPME in it',
  '{"msg":"ünïcödé password=çø 10.0.0.255","lvl":"warn"}',
  // quotes and a tab: escaped in the record's bytes, so a pattern over them must not be probed there
  '{"msg":"login key=\\"s3cret\\" ok"}',
  '{"msg":"col1\\tDROPTAB"}',
  // extract's patch (transforms/patch.ts): the key already there, nested, an escaped message, empty and integer-keyed fields
  '{"msg":"from 10.1.1.1","client":"keep-me"}',
  '{"msg":"from 10.1.1.2","x":{"client":"nested"}}',
  '{"msg":"say \\"hi\\" from 10.1.1.3\\n","n":1}',
  '{"msg":"from 10.1.1.4","7":"seven","b":true}',
  'from 10.1.1.5 with nothing else',
  '{"msg":"from host-a","b":1}',
  '{"msg":"at place-b only","c":{"d":1}}',
  // extract by a pattern that is one group (patch.ts wholeGroup): alternatives, word edges, multi-byte characters, an empty match
  'job id-42 done',
  'idle id-x then xx',
  '{"msg":"üü)c here from 10.2.2.2"}',
  'plain ü)c ü',
  // escaped messages (the string path: UTF-16 offsets), with characters of two and four bytes before the match
  '{"msg":"😀ü \\"q\\" ü)c"}',
  '{"msg":"☕😀 \\"x\\" id-7 at 10.3.3.3"}',
];

function jobOf(transforms: TransformConfig[], seqDigits: number): ParseJob {
  const bytes = Buffer.concat(LINES.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\n')])));
  return { id: 1, items: [new Uint8Array(bytes)], maxLineBytes: 4096, format: 'auto', now: NOW, source: 'app', stream: 'main', origin: ORIGIN, seqDigits, transforms };
}

function view(r: ParseResult): unknown {
  return { text: Buffer.from(r.buf).toString('utf8'), ends: [...r.ends], msg: [...r.msg], times: [...r.times], levels: [...r.levels], dropped: r.transformDropped, counts: r.transformCounts, unserializable: r.unserializable };
}

const chains: Record<string, unknown[]> = {
  'the bench chain: extract (field, then message pattern) and redact by literal': [
    { type: 'extract', into: 'client', from: [{ field: 'fields.client_ip' }, { field: 'message', matches: '(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }] },
    { type: 'redact', matches: ['password=\\S+', 'token=\\S+'] },
  ],
  'drop by a message pattern with no literal, and by level': [
    { type: 'drop', field: 'message', matches: 'DROP[A-Z]+' },
    { type: 'drop', field: 'level', in: ['debug'] },
  ],
  'redact a field, extract from host': [
    { type: 'redact', field: 'fields.secret', matches: ['token=\\S+'] },
    { type: 'extract', into: 'h', from: [{ field: 'host' }] },
  ],
  'redact the message with a pattern that has no literal': [{ type: 'redact', matches: ['\\d+\\.\\d+\\.\\d+\\.\\d+'] }],
  'patterns over characters the bytes escape (a quote, a tab)': [
    { type: 'redact', matches: ['key="[^"]*"'] },
    { type: 'drop', field: 'message', matches: '\\tDROP' },
  ],
  'extract patched into the bytes, or not: into an index key, read by a later drop, a key a record has': [
    { type: 'extract', into: 'client', from: [{ field: 'message', matches: '(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }] },
    { type: 'extract', into: '5', from: [{ field: 'message', matches: 'from (?P<v>\\S+)' }] },
    { type: 'extract', into: 'c.e', from: [{ field: 'message', matches: 'at (?P<v>\\S+)' }] },
  ],
  'extract by patterns that are one group (bounds from search and a g test), an empty match falling through': [
    { type: 'extract', into: 'tag', from: [{ field: 'message', matches: '(?P<v>x*)' }, { field: 'message', matches: '(?P<v>\\bid-\\d+\\b|id-)' }, { field: 'message', matches: '(?P<v>[ü)]+c)' }] },
  ],
  'extract read by a later transform (no patch)': [
    { type: 'extract', into: 'ip', from: [{ field: 'message', matches: '(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }] },
    { type: 'drop', field: 'fields.ip', matches: '^10\\.1\\.1\\.' },
  ],
  'a route (not gated: the JS path)': [{ type: 'route', field: 'message', matches: 'password', stream: 'secrets' }],
};

if (nativeParse === undefined) console.warn('!!! SKIPPED gated.test.ts "transforms over native output": the native writer is off (SLUICE_NATIVE_PARSE=0) or not built (native.test.ts fails then)');
describe.skipIf(nativeParse === undefined)('transforms over native output', () => {
  for (const [name, raw] of Object.entries(chains)) {
    for (const seqDigits of [0, 7]) {
      it(`${name}, seq room ${seqDigits}: the JS path's bytes and counts`, () => {
        const job = jobOf(raw.map((c) => transformSchema.parse(c)), seqDigits);
        const nat = runJob(job, nativeParse);
        const js = runJob(job, null);
        expect(nat.records === undefined).toBe(js.records === undefined);
        if (nat.records !== undefined) {
          expect(JSON.stringify(nat.records)).toBe(JSON.stringify(js.records));
          return;
        }
        const [a, b] = [view(nat), view(js)] as { text: string }[];
        if (a!.text !== b!.text) {
          const la = a!.text.split('\n');
          const lb = b!.text.split('\n');
          const k = la.findIndex((l, i) => l !== lb[i]);
          expect(la[k]).toBe(lb[k]);
        }
        expect(a).toEqual(b);
        // the gated chains went through the native writer (the JS path renders no native line)
        if (!name.includes('route')) expect(nat.native.lines).toBeGreaterThan(LINES.length / 2);
      });
    }
  }

  it('the bench chain changes what it should: extracted, redacted, escaped messages too', () => {
    const job = jobOf(chains['the bench chain: extract (field, then message pattern) and redact by literal']!.map((c) => transformSchema.parse(c)), 0);
    const text = Buffer.from(runJob(job, nativeParse).buf).toString('utf8');
    expect(text).toContain('"client":"192.168.0.9"');
    expect(text).toContain('"client":"10.0.0.1"');
    expect(text).toContain('quoted \\"[REDACTED] from 10.0.0.1');
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/password=(?!\\S)/);
  });

  it("a first pass sent as it is (no gate opened) is never written over by the next job's (Records.reuse)", () => {
    const quiet = (t: string): ParseJob => ({ ...jobOf([], 7), items: [new Uint8Array(Buffer.from(t))], transforms: [transformSchema.parse({ type: 'drop', field: 'message', matches: 'NEVER-THERE' })] });
    // many short lines: the output buffer is handed over as it is (a.buf is a view of it), not trimmed into a copy
    const lines = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => `${tag} line ${i} of a few words\n`).join('');
    runJob(quiet(lines('before', 1)), nativeParse); // no scratch kept from the tests before: a gets a buffer of its size
    const a = runJob(quiet(lines('first', 200)), nativeParse);
    const text = Buffer.from(a.buf).toString('utf8');
    expect(a.buf.buffer.byteLength, 'a.buf is a view of the buffer its first pass wrote, not a trimmed copy').toBeGreaterThan(a.buf.length);
    expect(text).toContain('first line 199 of');
    // the next job fits in the same buffer: had a's been kept for reuse, this one would be written in it
    runJob(quiet(lines('second', 150)), nativeParse);
    expect(Buffer.from(a.buf).toString('utf8')).toBe(text);
  });

  it('a pattern over escaped characters still acts (the message is decoded, not probed in its bytes)', () => {
    const job = jobOf(chains['patterns over characters the bytes escape (a quote, a tab)']!.map((c) => transformSchema.parse(c)), 0);
    const r = runJob(job, nativeParse);
    const text = Buffer.from(r.buf).toString('utf8');
    expect(text).toContain('login [REDACTED] ok');
    expect(text).not.toContain('DROPTAB');
    expect(r.transformDropped).toBe(1);
  });
});
