/** filterEncoded: the kept records of an encoded batch, byte-exact, in both layouts (tails only, and whole records with reserved seq digits). */
import { describe, expect, it } from 'vitest';
import { Hub } from '../hub/hub.js';
import { runJob } from '../parse/worker.js';
import { entryJson } from './block.js';
import { cursorOf, filterEncoded, recordsOf, type EncodedBatch } from './encoded.js';

const lines = ['{"level":"error","msg":"zero ü"}', 'one', '{"msg":"two","k":"v"}', 'three ✓', 'four'];

function encoded(digits: number): EncodedBatch {
  const text = lines.join('\n') + '\n';
  const res = runJob({ id: 1, items: [Buffer.from(text)], maxLineBytes: 1 << 20, format: 'auto', now: 1_700_000_000_000, source: 's', stream: 'a', origin: '{"kind":"t"}', seqDigits: digits }, null);
  return { kind: 'encoded', buf: Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length), ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits, received: 1_700_000_000_000, source: 's', stream: 'a', origin: { kind: 't' } };
}

describe('filterEncoded', () => {
  for (const digits of [0, 1, 3]) {
    it(`keeps exactly the marked records, byte-exact (seq digits ${digits})`, () => {
      const b = encoded(digits);
      const keep = Uint8Array.from([1, 0, 1, 0, 1]);
      const f = filterEncoded(b, keep);
      expect(recordsOf(f, 1).map((r) => [r.message, r.level, r.fields])).toEqual([
        ['zero ü', 'error', {}],
        ['two', undefined, { k: 'v' }],
        ['four', undefined, {}],
      ]);
      // published, the kept records are the same JSON as the unfiltered batch's
      const all = new Hub({ seqStart: 0, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
      all.publish(b);
      const want = all.records('a', 0, 10).map((e) => JSON.parse(entryJson(e)) as Record<string, unknown>).filter((_, i) => keep[i] === 1);
      const hub = new Hub({ seqStart: 0, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
      hub.publish(f);
      const got = hub.records('a', 0, 10).map((e) => JSON.parse(entryJson(e)) as Record<string, unknown>);
      expect(got.map(({ seq: _s, ...r }) => r)).toEqual(want.map(({ seq: _s, ...r }) => r));
      expect(got.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(filterEncoded(b, Uint8Array.from([1, 1, 1, 1, 1]))).toBe(b);
      expect(filterEncoded(b, new Uint8Array(5)).ends.length).toBe(0);
    });
  }
});

describe('cursorOf', () => {
  it('reads record i as recordsOf gives it, one view re-pointed (nothing decoded of one record shows in the next)', () => {
    for (const digits of [0, 3]) {
      const b = { ...encoded(digits), origins: [{ kind: 't' }, { kind: 'u', path: '/x' }], originIdx: Uint8Array.from([0, 1, 1, 0, 1]) };
      const want = recordsOf(b, 7).map((r) => JSON.stringify([r.seq, r.time, r.level, r.origin, r.message, r.fields, r.host, r.app]));
      const at = cursorOf(b, 7);
      const got: string[] = [];
      // read in an order that leaves each record's decoded parts behind for the next
      for (const i of [0, 1, 2, 3, 4]) {
        const r = at(i);
        got.push(JSON.stringify([r.seq, r.time, r.level, r.origin, r.message, r.fields, r.host, r.app]));
      }
      expect(got).toEqual(want);
      expect(at(4)).toBe(at(0));
      expect(at(2).message).toBe('two');
    }
  });
});
