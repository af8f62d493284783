/** An ingest body split into records: NDJSON or a JSON array, with a BOM or not, lines that are not ASCII. */
import { describe, expect, it } from 'vitest';
import { parseBody } from './body.js';

const ctx = { source: 's', stream: 's', origin: { kind: 'test' }, now: 1000 };
const BOM = '\uFEFF';

describe('parseBody', () => {
  it('NDJSON: each line a record, bad lines listed by their line in the body, a BOM before the first record skipped', () => {
    for (const lead of ['', BOM, BOM + BOM]) {
      const body = Buffer.from(lead + '{"message":"a"}\n\n{"message":"ユーザー"}\r\n{bad\n{"message":"é"}');
      const r = parseBody(body, ctx);
      expect(r.records.map((x) => x.message), JSON.stringify(lead)).toEqual(['a', 'ユーザー', 'é']);
      expect(r).toMatchObject({ accepted: 3, rejected: 1, errors: [{ line: 4, reason: 'bad_json' }] });
    }
  });

  it('a JSON array after whitespace or a BOM; items listed by number', () => {
    const r = parseBody(Buffer.from(BOM + ' \n[{"message":"a"}, 3, {"message":"ü"}]'), ctx);
    expect(r.records.map((x) => x.message)).toEqual(['a', 'ü']);
    expect(r).toMatchObject({ accepted: 2, rejected: 1, errors: [{ item: 2, reason: 'bad_record' }] });
    expect(() => parseBody(Buffer.from('[{"message":"a"}'), ctx)).toThrow(/not a valid JSON array/);
  });

  it('a sink gets the good records in order, in chunks, within the call', () => {
    const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ message: `m${i}` }));
    const got: string[][] = [];
    const r = parseBody(Buffer.from(lines.join('\n')), ctx, (recs) => got.push(recs.map((x) => x.message)));
    expect(r.records).toEqual([]);
    expect(got.map((c) => c.length)).toEqual([1024, 1024, 452]);
    expect(got.flat()).toEqual(lines.map((_, i) => `m${i}`));
  });
});
