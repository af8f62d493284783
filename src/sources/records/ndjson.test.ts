/** NDJSON bodies: the bytes checker (line by line decoding) gives what the text checker gives. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../../core/record.js';
import { checkNdjson, checkNdjsonBytes, checkNdjsonItems, newTally, type RecordTally } from './ndjson.js';

const ctx = { source: 's', stream: 's', origin: { kind: 'test' }, now: 1000 };

function run(check: (t: RecordTally, good: (r: LogRecord) => void) => void): { tally: RecordTally; records: LogRecord[] } {
  const tally = newTally();
  const records: LogRecord[] = [];
  check(tally, (r) => records.push(r));
  return { tally, records };
}

/** Lines a body is made of: good records (some not ASCII), bad ones, blanks, CRLF, raw bytes. */
const line = fc.oneof(
  fc.string({ unit: 'binary' }).map((m) => JSON.stringify({ message: m, level: 'warn' })),
  fc.string({ unit: 'grapheme' }).map((m) => JSON.stringify({ message: m, fields: { k: m } })),
  fc.constantFrom('', ' ', '\t', '{', '{"msg":"x"}', '{"message":"x"}\r', '  {"message":"ü"}  ', '{"message":"x","fields":{"__proto__":1}}'),
  fc.string(),
);
const body = fc.tuple(fc.array(line, { maxLength: 30 }), fc.boolean(), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 })).map(([lines, lastNl, junk]) => {
  const text = Buffer.from(lines.join('\n') + (lastNl ? '\n' : ''), 'utf8');
  // some raw bytes (maybe invalid UTF-8) in the middle of a line
  const at = text.indexOf(0x7b);
  return at < 0 || junk.length === 0 ? text : Buffer.concat([text.subarray(0, at + 1), Buffer.from(junk), text.subarray(at + 1)]);
});

describe('checkNdjsonBytes', () => {
  it('property: the same records, tally and line numbers as checking the decoded text', () => {
    fc.assert(
      fc.property(body, (bytes) => {
        const want = run((t, good) => checkNdjson(bytes.toString('utf8'), ctx, t, good));
        const got = run((t, good) => checkNdjsonBytes(bytes, ctx, t, good));
        expect(got).toEqual(want);
      }),
      { numRuns: 500 },
    );
  });

  it('a line that is not ASCII is decoded alone and right; its neighbours too', () => {
    const lines = ['{"message":"a"}', '{"message":"ユーザー"}', '{"message":"b"}', 'nope', '{"message":"é\\u00e9"}'];
    const { tally, records } = run((t, good) => checkNdjsonBytes(Buffer.from(lines.join('\n') + '\n'), ctx, t, good));
    expect(records.map((r) => r.message)).toEqual(['a', 'ユーザー', 'b', 'éé']);
    expect(tally).toMatchObject({ accepted: 4, rejected: 1, newlines: 5, errors: [{ line: 4, reason: 'bad_json' }] });
  });

  it('items of one batch: line numbers run on from one item to the next', () => {
    const { tally } = run((t, good) => checkNdjsonItems([Buffer.from('{"message":"a"}\n{\n'), Buffer.from('{"message":"b"}\n{\n')], ctx, t, good));
    expect(tally.errors.map((e) => e.line)).toEqual([2, 4]);
  });
});
