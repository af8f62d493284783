/**
 * The gates asked record by record through batches, as parse/gated.ts asks
 * them: a needle found far ahead is remembered within a batch and forgotten
 * with it, a short needle is looked for in the record only, and a pattern's
 * literal is confirmed by RE2 (a gate on "." alone would open for most
 * records). The differential suite (parse/gated.test.ts) holds the output.
 */
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it, vi } from 'vitest';
import { transformSchema, type TransformConfig } from './config.js';
import { compileGates, nextBatch, plainMessage, type RecordBytes } from './gates.js';

/** Records laid out one after another as `{"message":<lit>,"fields":<json>}`, with their spans. */
function batch(recs: { message: string; fields?: Record<string, unknown> }[], buf?: Buffer): RecordBytes[] {
  const parts: string[] = [];
  const spans: [number, number, number, number][] = [];
  let off = 0;
  for (const r of recs) {
    const head = '{"message":';
    const lit = JSON.stringify(r.message);
    const text = head + lit + ',"fields":' + JSON.stringify(r.fields ?? {}) + '}';
    const b = Buffer.byteLength(head);
    spans.push([off, off + Buffer.byteLength(text), off + b, off + b + Buffer.byteLength(lit)]);
    parts.push(text);
    off += Buffer.byteLength(text);
  }
  const bytes = Buffer.from(parts.join(''));
  // a reused output buffer: same object, new content
  const out = buf ?? Buffer.alloc(bytes.length);
  bytes.copy(out);
  const id = nextBatch();
  return spans.map(([start, end, msgStart, msgEnd]) => {
    const v: RecordBytes = { buf: out.subarray(0, bytes.length), start, end, msgStart, msgEnd, plain: true, batch: id };
    v.plain = plainMessage(v);
    return v;
  });
}

const cfg = (c: unknown): TransformConfig => transformSchema.parse(c);

describe('gates', () => {
  it('a long needle (password=) opens exactly the records that hold it, in every batch, a reused buffer included', () => {
    const [gate] = compileGates([cfg({ type: 'redact', matches: ['password=\\S+'] })])!;
    const shared = Buffer.alloc(4096);
    const first = batch([{ message: 'a' }, { message: 'b' }, { message: 'c password=x' }, { message: 'd' }, { message: 'e password=' }, { message: 'f password=y' }], shared);
    expect(first.map((r) => gate!(r))).toEqual([false, false, true, false, false, true]);
    // same buffer object, other content: what the first batch found must not answer for this one
    const second = batch([{ message: 'password=1' }, { message: 'no' }, { message: 'no' }, { message: 'x password=2' }], shared);
    expect(second.map((r) => gate!(r))).toEqual([true, false, false, true]);
    const third = batch([{ message: 'no' }, { message: 'no' }, { message: 'no' }, { message: 'no' }, { message: 'no' }, { message: 'no' }], shared);
    expect(third.map((r) => gate!(r))).toEqual([false, false, false, false, false, false]);
  });

  it('a field is present only in its own record, not in one after it (fields.client_ip)', () => {
    const [gate] = compileGates([cfg({ type: 'extract', into: 'c', from: [{ field: 'fields.client_ip' }] })])!;
    const recs = batch([{ message: 'client_ip' }, { message: 'a', fields: { other: 1 } }, { message: 'b', fields: { client_ip: '1.2.3.4' } }, { message: 'c' }]);
    expect(recs.map((r) => gate!(r))).toEqual([false, false, true, false]);
  });

  it('a pattern with a literal or none opens only where RE2 matches; an escaped message opens one without a literal', () => {
    const [ip] = compileGates([cfg({ type: 'extract', into: 'c', from: [{ field: 'message', matches: '(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }] })])!;
    const [dot] = compileGates([cfg({ type: 'drop', field: 'message', matches: 'a\\.b\\.c' })])!;
    const recs = batch([{ message: 'v1.2 ok.' }, { message: 'from 10.0.0.1' }, { message: 'a.b.x a.b.c' }, { message: 'quote " escaped 1.2' }, { message: 'a.b' }]);
    expect(recs.map((r) => r.plain)).toEqual([true, true, true, false, true]);
    expect(recs.map((r) => ip!(r))).toEqual([false, true, false, true, false]);
    expect(recs.map((r) => dot!(r))).toEqual([false, false, true, false, false]);
  });

  it('a pattern with no literal asks RE2 only of messages that hold its byte classes (factor.ts); an escaped one too', () => {
    const [ip] = compileGates([cfg({ type: 'extract', into: 'c', from: [{ field: 'message', matches: '(?P<v>\\d+\\.\\d+\\.\\d+\\.\\d+)' }] })])!;
    const [tab] = compileGates([cfg({ type: 'drop', field: 'message', matches: '\\d\\t\\d' })])!;
    const recs = batch([{ message: 'no digits here.' }, { message: 'v1 . 2' }, { message: 'quote " no dot-digit 1 .2' }, { message: 'from 10.0.0.1' }, { message: 'quote " from 10.0.0.2' }, { message: '1\t2' }]);
    const test = vi.spyOn(RE2.prototype, 'test');
    try {
      expect(recs.map((r) => ip!(r))).toEqual([false, false, false, true, true, false]);
      // the plain one that holds digit-dot-digit (RE2 says yes); the escaped one opens on the factor alone
      expect(test).toHaveBeenCalledTimes(1);
      // a factor of bytes JSON escapes (a tab) is not looked for in escaped bytes: an escaped message opens
      expect(recs.map((r) => tab!(r))).toEqual([false, false, true, false, true, true]);
    } finally {
      test.mockRestore();
    }
  });

  it('an escaped message opens a pattern gate only when it holds the literal (of characters JSON never escapes)', () => {
    const [gate] = compileGates([cfg({ type: 'redact', matches: ['password=\\S+'] })])!;
    const [quoted] = compileGates([cfg({ type: 'redact', matches: ['say "hi"'] })])!;
    const recs = batch([{ message: 'tab\there, no secret' }, { message: 'tab\there password=x' }, { message: 'quote " password=' }, { message: 'say "hi"' }, { message: 'say hi' }]);
    expect(recs.map((r) => r.plain)).toEqual([false, false, false, false, true]);
    expect(recs.map((r) => gate!(r))).toEqual([false, true, true, false, false]);
    // a literal with a quote is escaped in the bytes: an escaped message opens, as before
    expect(recs.map((r) => quoted!(r))).toEqual([true, true, true, true, false]);
  });

  it('a short literal (k=v) is looked for inside the record only (records asked out of order, too)', () => {
    const [gate] = compileGates([cfg({ type: 'drop', field: 'message', matches: 'k=v\\d' })])!;
    const recs = batch([{ message: 'x k=v1' }, { message: 'y k=' }, { message: 'v2 z k=v3' }]);
    expect([2, 0, 1].map((i) => gate!(recs[i]!))).toEqual([true, true, false]);
  });
});

describe('plainMessage', () => {
  it('says whether a message literal has an escape, asked in order or not, batch after batch', () => {
    // messages of a few characters where quotes, backslashes and newlines are common
    const msg = fc.array(fc.constantFrom('a', 'b', '"', '\\', '\n', 'é', ' '), { maxLength: 8 }).map((a) => a.join(''));
    const fields = fc.option(fc.constantFrom({ k: 'x\\y' }, { k: '"' }, { k: 'plain' }), { nil: undefined });
    fc.assert(
      fc.property(fc.array(fc.record({ message: msg, fields }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(11), { maxLength: 30 }), (recs, order) => {
        const views = batch(recs);
        for (const i of [...views.keys(), ...order.filter((k) => k < views.length)]) {
          const v = views[i]!;
          expect(plainMessage(v), JSON.stringify(recs[i]!.message)).toBe(!v.buf.subarray(v.msgStart + 1, v.msgEnd - 1).includes(0x5c));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
