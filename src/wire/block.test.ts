import { describe, expect, it } from 'vitest';
import { Hub } from '../hub/hub.js';
import { Block, entryJson, wireRuns, type BlockRef } from './block.js';
import type { Entry } from '../hub/entry.js';
import type { LogRecord } from '../core/record.js';
import { recordParts, serializeRecord, serializeTail } from './json.js';
import type { EncodedBatch } from './encoded.js';

/** wireRuns over entries (BlockRefs): their blocks and indexes as the pump's Refs hold them. */
const runs = (refs: readonly BlockRef[], kind: 'nd' | 'sse', out: Buffer[]): void => wireRuns(refs.map((r) => r.block), refs.map((r) => r.idx), kind, out);

const rec = (message: string): LogRecord => ({ seq: 0, time: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' }, message, fields: {} });

describe('Block', () => {
  const hub = new Hub({ seqStart: 0, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
  hub.publish([rec('plain'), rec('ünïcødé ✓ 日本'), rec('line\nbreak "quoted"')]);
  hub.publish([rec('second batch')]);
  const entries = hub.records('a', 0, 10);

  it('keeps each entry\'s JSON byte-exact in the shared NDJSON block, multi-byte text included', () => {
    expect(entries.map((e) => JSON.parse(entryJson(e)).message)).toEqual(['plain', 'ünïcødé ✓ 日本', 'line\nbreak "quoted"', 'second batch']);
  });

  it('writes consecutive entries of one block as one buffer, and the NDJSON equals the records', () => {
    const out: Buffer[] = [];
    runs(entries, 'nd', out);
    expect(out).toHaveLength(2); // one run per batch
    const lines = Buffer.concat(out).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(entries.map(entryJson));
    const skip: Buffer[] = [];
    runs([entries[0]!, entries[2]!] as Entry[], 'nd', skip);
    expect(skip).toHaveLength(2); // a filtered-out entry breaks the run
  });

  it('grows the block when multi-byte text does not fit the ASCII-sized allocation', () => {
    const h = new Hub({ seqStart: 0, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
    const msgs = ['ascii', '日本語'.repeat(50), '😀'.repeat(30), 'end'];
    h.publish(msgs.map(rec));
    const es = h.records('a', 0, 10);
    expect(es.map((e) => JSON.parse(entryJson(e)).message)).toEqual(msgs);
    const out: Buffer[] = [];
    runs(es, 'nd', out);
    expect(Buffer.concat(out).toString('utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l).message)).toEqual(msgs);
  });

  it('renders SSE frames with id, event and one data line per record', () => {
    const out: Buffer[] = [];
    runs(entries.slice(1, 3), 'sse', out);
    const text = Buffer.concat(out).toString('utf8');
    expect(text).toBe(entries.slice(1, 3).map((e) => `id: ${e.seq}\nevent: log\ndata: ${entryJson(e)}\n\n`).join(''));
  });

  it('copies encoded tails behind their seqs from a buffer that is a view at an offset, keeping each message\'s place', () => {
    const recs = [rec('tail one'), rec('tail ünï "two"'), rec('tail three')];
    const tails = recs.map((r) => serializeTail(r));
    // the tails live one after another in one buffer that is itself a view at an offset
    const whole = Buffer.from('xxxxxxx' + tails.join('') + 'yy');
    const view = whole.subarray(7);
    const ends = new Uint32Array(3);
    const msg = new Uint32Array(6);
    let at = 0;
    tails.forEach((t, i) => {
      const lit = JSON.stringify(recs[i]!.message);
      const m = at + Buffer.byteLength(t.slice(0, t.indexOf(',"message":') + 11));
      msg[2 * i] = m;
      msg[2 * i + 1] = m + Buffer.byteLength(lit);
      at += Buffer.byteLength(t);
      ends[i] = at;
    });
    const enc: EncodedBatch = { kind: 'encoded', buf: view, ends, msg, times: new Float64Array(3), levels: new Uint8Array(3), digits: 0, received: 0, source: 's', stream: 'a', origin: { kind: 't' } };
    const b = Block.fromEncoded(enc, 99_999);
    const seqs = [99_999, 100_000, 100_001];
    const expected = recs.map((r, i) => serializeRecord({ ...r, seq: seqs[i]! }) + '\n').join('');
    expect(b.nd.toString('utf8')).toBe(expected);
    expect(recs.map((r, i) => b.message(i))).toEqual(recs.map((r) => r.message));
    expect(b.sse().buf.toString('utf8')).toBe(recs.map((r, i) => `id: ${seqs[i]}\nevent: log\ndata: ${serializeRecord({ ...r, seq: seqs[i]! })}\n\n`).join(''));
  });

  it('writes every seq right across powers of ten and jumps (consecutive seqs are counted up in place)', () => {
    const parts = recordParts(rec('x'));
    for (const [start, n] of [[1, 30], [95, 10], [999_990, 20], [9_999_999_999_995, 10], [42, 1]] as const) {
      const seqs = Array.from({ length: n }, (_, i) => start + i);
      seqs.push(start + n + 5, start + n + 6, 7); // a jump forward, the next, and back down
      const b = Block.fromParts(seqs, seqs.map(() => parts));
      expect(b.nd.toString('utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l).seq)).toEqual(seqs);
      expect(b.sse().buf.toString('utf8').split('\n\n').slice(0, -1).map((f) => Number(f.split('\n')[0]!.slice(4)))).toEqual(seqs);
    }
  });
});
