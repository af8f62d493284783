/** The frame decoder: splits of the stream never change the frames; bad headers stop it; it never throws. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type FrameEvent } from './frames.js';

/** Feed `bytes` in pieces cut at `cuts` (offsets); collect every event. */
function decode(bytes: Buffer, cuts: number[], max = 1 << 20): FrameEvent[] {
  const d = new FrameDecoder(max);
  const out: FrameEvent[] = [];
  let at = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= at || c >= bytes.length) continue;
    out.push(...d.push(bytes.subarray(at, c)));
    at = c;
  }
  out.push(...d.push(bytes.subarray(at)));
  return out;
}

const show = (evs: FrameEvent[]) => evs.map((e) => (e.kind === 'frame' ? `${e.tag}:${e.payload.toString('hex')}` : `!${e.reason}`));

describe('FrameDecoder', () => {
  it('reads frames of each tag, including an empty payload', () => {
    const bytes = Buffer.concat([encodeFrame(1, '{"message":"a"}'), encodeFrame(2, '[]'), encodeFrame(3, '{"dropped":{}}'), encodeFrame(1, '')]);
    expect(decode(bytes, []).map((e) => (e.kind === 'frame' ? [e.tag, e.payload.toString()] : e.reason))).toEqual([
      [1, '{"message":"a"}'],
      [2, '[]'],
      [3, '{"dropped":{}}'],
      [1, ''],
    ]);
  });

  it('holds a partial header and a partial payload across reads, one byte at a time', () => {
    const bytes = Buffer.concat([encodeFrame(1, 'x'.repeat(300)), encodeFrame(2, '[1]')]);
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    const evs = decode(bytes, cuts);
    expect(evs).toHaveLength(2);
    expect((evs[0] as { payload: Buffer }).payload.toString()).toBe('x'.repeat(300));
  });

  it('an unknown tag is reported once and nothing after it is read', () => {
    const bytes = Buffer.concat([encodeFrame(1, 'a'), encodeFrame(9, 'b'), encodeFrame(1, 'c')]);
    const d = new FrameDecoder(100);
    expect(show(d.push(bytes))).toEqual(['1:61', '!unknown_tag']);
    expect(d.failed).toBe(true);
    expect(d.push(encodeFrame(1, 'd'))).toEqual([]);
  });

  it('a header announcing more than the cap is oversize (before any of the payload arrives)', () => {
    const d = new FrameDecoder(10);
    const ev = d.push(encodeFrame(1, 'x'.repeat(11)).subarray(0, 4));
    expect(ev).toEqual([{ kind: 'error', reason: 'oversize', tag: 1, length: 11 }]);
    expect(show(new FrameDecoder(11).push(encodeFrame(1, 'x'.repeat(11))))).toHaveLength(1);
  });

  it('property: any split of any byte stream gives the same events, and it never throws', () => {
    const frame = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 64 })).map(([tag, p]) => encodeFrame(tag, p));
    const stream = fc.array(fc.oneof({ weight: 4, arbitrary: frame }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)) }), { maxLength: 12 }).map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 0, max: 80 }), (bytes, cutsRaw, max) => {
        const cuts = cutsRaw.map((c) => (bytes.length === 0 ? 0 : c % bytes.length));
        const whole = decode(bytes, [], max);
        const split = decode(bytes, cuts, max);
        expect(show(split)).toEqual(show(whole));
        // at most one error, and it is the last event
        const errs = whole.filter((e) => e.kind === 'error');
        expect(errs.length).toBeLessThanOrEqual(1);
        if (errs.length === 1) expect(whole[whole.length - 1]!.kind).toBe('error');
      }),
      { numRuns: 2000 },
    );
  });

  it('property: well-formed frames come back exactly, whatever the chunking', () => {
    const frames = fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 200 })), { maxLength: 10 });
    fc.assert(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 30 }), (fs, cutsRaw) => {
        const bytes = Buffer.concat(fs.map(([t, p]) => encodeFrame(t, p)));
        const evs = decode(bytes, cutsRaw.map((c) => c % (bytes.length || 1)), 200);
        expect(evs.map((e) => (e.kind === 'frame' ? [e.tag, Buffer.from(e.payload).toString('hex')] : e.reason))).toEqual(fs.map(([t, p]) => [t, Buffer.from(p).toString('hex')]));
      }),
    );
  });
});
