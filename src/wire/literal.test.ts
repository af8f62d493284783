/** unescapeUtf8: the inside of a JSON string literal to its text's UTF-8, with no string made. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeParse } from '../parse/native.js';
import { runJob } from '../parse/worker.js';
import { unescapeUtf8 } from './literal.js';

/** Any UTF-16 code units, lone surrogates and control characters included. */
const units = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 64 });

function viaLiteral(lit: Buffer): Buffer {
  const out = Buffer.alloc(lit.length);
  return out.subarray(0, unescapeUtf8(lit, 1, lit.length - 1, out));
}

describe('unescapeUtf8', () => {
  it('property: gives Buffer.from(s) for JSON.stringify(s), whatever the code units', () => {
    fc.assert(
      fc.property(units, (s) => {
        expect(viaLiteral(Buffer.from(JSON.stringify(s)))).toEqual(Buffer.from(s, 'utf8'));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes every escape form: one-letter, \\u in both cases, pairs, lone halves', () => {
    const cases: [string, string][] = [
      ['"a\\"b\\\\c\\/d"', 'a"b\\c/d'],
      ['"\\b\\f\\n\\r\\t"', '\b\f\n\r\t'],
      ['"\\u00e9\\u00E9\\u20ac"', 'ééeuro'.replace('euro', '€')],
      ['"\\ud83d\\ude00"', '😀'],
      ['"\\ud83dx"', '\ufffdx'],
      ['"\\ude00\\ud83d"', '\ufffd\ufffd'],
      ['"\\ud83d\\ud83d\\ude00"', '\ufffd😀'],
      ['"é raw ✓"', 'é raw ✓'],
    ];
    for (const [lit, want] of cases) expect(viaLiteral(Buffer.from(lit)).toString('utf8'), lit).toBe(want);
  });

  for (const [name, native] of [
    ['the JS writer', null],
    ['the native writer', nativeParse],
  ] as const) {
    it(`agrees with JSON.parse over the message literals ${name} writes`, () => {
      if (native === undefined) console.warn('SKIPPED a case of src/wire/literal.test.ts: the native writer is not loaded');
      const lines = ['plain', 'tab\there', 'quote " and \\ back', '{"msg":"json \\u0001 ctl \\ud83d\\ude00 pair \\ud800 lone"}', 'ctl \u0001\u001f end', 'non-ascii ü ✓ 😀'];
      const res = runJob({ id: 1, items: [Buffer.from(lines.join('\n') + '\n')], maxLineBytes: 1 << 20, format: 'auto', now: 0, source: 's', stream: 'a', origin: '{"kind":"t"}', seqDigits: 0 }, native);
      const buf = Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length);
      expect(res.ends.length).toBe(lines.length);
      for (let i = 0; i < res.ends.length; i++) {
        const lit = buf.subarray(res.msg[2 * i]!, res.msg[2 * i + 1]!);
        expect(viaLiteral(lit), lit.toString()).toEqual(Buffer.from(JSON.parse(lit.toString()) as string, 'utf8'));
      }
    });
  }
});
