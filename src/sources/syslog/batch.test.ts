import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SyslogFrameDecoder } from '../../framing/syslog-frames.js';
import { parseInline, type LaneSpec } from '../../parse/batch.js';
import { scanPri } from '../../parse/syslog-common.js';
import { hasPri, SyslogBatch } from './batch.js';
import { newStageCounters, type Reason } from './counters.js';

const ORIGIN = { kind: 'syslog', transport: 'tcp', peer: '127.0.0.1:1' };
const NOW = Date.UTC(2026, 11, 6);

function spec(max: number): LaneSpec {
  return { source: 's', stream: 's', format: 'syslog', maxLineBytes: max, dropStage: 'syslog', counters: newStageCounters() };
}

/**
 * What one connection produces: the stream cut at `cuts`, one batch per read
 * (as the TCP listener does), each parsed as the stage would inline.
 */
function records(stream: Buffer, cuts: number[], max = 256) {
  const bad: Record<string, number> = {};
  const batch = new SyslogBatch({ checkSyslog: true, bad: (r: Reason, n: number) => void (bad[r] = (bad[r] ?? 0) + n) });
  const d = new SyslogFrameDecoder({ maxFrameBytes: max, onFrame: (b, s, e, t, inChunk) => batch.frame(b, s, e, t, d.mode === 'octet', inChunk) });
  const sp = spec(max);
  const out: unknown[] = [];
  const flush = () => {
    const raw = batch.take(NOW, ORIGIN);
    if (raw) for (const r of parseInline(sp, raw)) out.push({ m: r.message, h: r.host, a: r.app, l: r.level, f: r.fields, t: r.time });
  };
  const pts = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...pts, stream.length]) {
    // a copy per read, overwritten after it: the batch must not keep pointing into a chunk past settle()
    const chunk = Buffer.from(stream.subarray(prev, p));
    d.push(chunk);
    batch.settle();
    chunk.fill(0x21);
    flush();
    prev = p;
  }
  d.end();
  flush();
  return { out, bad };
}

describe('SyslogBatch', () => {
  it('hasPri on bytes agrees with scanPri on text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 8 }), fc.stringMatching(/^<[0-9]{0,4}>?.{0,3}$/)), (s) => {
        const b = Buffer.from(s, 'latin1');
        expect(hasPri(b, 0, b.length)).toBe(scanPri(b.toString('latin1')) >= 0);
      }),
      { numRuns: 3000 },
    );
  });

  it('copies frames into one LF run; a frame with a newline inside and an oversize head are string items, in order', () => {
    const bad: string[] = [];
    const b = new SyslogBatch({ checkSyslog: true, bad: (r) => void bad.push(r) });
    const buf = Buffer.from('<13>a|<13>multi\nline|<13>long|<13>b');
    b.frame(buf, 0, 5, false, true);
    b.frame(buf, 6, 20, false, true);
    b.frame(buf, 21, 29, true, true);
    b.frame(buf, 30, 35, false, true);
    const raw = b.take(NOW, ORIGIN)!;
    expect(raw.items.map((i) => (typeof i === 'string' ? i : `run:${Buffer.from(i).toString()}`))).toEqual([
      'run:<13>a\n',
      '<13>multi\nline',
      '<13>long …[truncated]',
      'run:<13>b\n',
    ]);
    expect(bad).toEqual([]);
    expect(b.take(NOW, ORIGIN)).toBeUndefined();
  });

  it('hands its runs over in shared memory: posted to a parse thread, a run is shared, not copied with its whole buffer', () => {
    const batch = new SyslogBatch({ checkSyslog: true, bad: () => {} });
    for (let k = 0; k < 3; k++) {
      const line = Buffer.from(`<14>1 2026-12-06T00:00:00Z h app - - - line ${k} ${'x'.repeat(5000 * k)}`);
      batch.frame(line, 0, line.length, false, false);
      const run = batch.take(NOW, ORIGIN)!.items[0] as Buffer;
      expect(run.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(run.toString()).toBe(line.toString() + '\n');
    }
    // a run starts at the size the last one ended at: after a batch of 1 MiB, one of 100 bytes is not in a 1 MiB buffer
    const big = Buffer.from('<14>1 - h app - - - ' + 'y'.repeat(1 << 20));
    batch.frame(big, 0, big.length, false, false);
    expect((batch.take(NOW, ORIGIN)!.items[0] as Buffer).buffer.byteLength).toBeGreaterThan(1 << 20);
    const small = Buffer.from('<14>1 - h app - - - small');
    for (const expected of [2 << 20, 16 << 10]) {
      batch.frame(small, 0, small.length, false, false);
      expect((batch.take(NOW, ORIGIN)!.items[0] as Buffer).buffer.byteLength).toBe(expected);
    }
  });

  it('counts frames that are not syslog (parse_error) and frames with invalid UTF-8', () => {
    const bad: string[] = [];
    const b = new SyslogBatch({ checkSyslog: true, bad: (r, n) => void bad.push(`${r}:${n}`) });
    const frames = [Buffer.from('plain words'), Buffer.from('Dec  6 00:00:00 host app: bsd without pri'), Buffer.from([0x3c, 0x31, 0x3e, 0xc3, 0x28])];
    for (const f of frames) b.frame(f, 0, f.length, false, false);
    b.take(NOW, ORIGIN);
    expect(bad).toEqual(['parse_error:1', 'invalid_utf8:1']);
  });

  it('property: any split of a TCP byte stream into reads yields the same records', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\u00e9', '=', '"', ']', '['), maxLength: 12 });
    const msg = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 191 }), word, word).map(([p, a, m]) => `<${p}>1 2026-12-06T00:00:00Z host ${a.replace(/ /g, '') || '-'} 12 ID [x@1 k="${m.replace(/["\\\]]/g, '')}"] ${m}`),
      fc.tuple(fc.integer({ min: 0, max: 191 }), word).map(([p, m]) => `<${p}>Dec  6 00:00:0${p % 10} host tag[${p}]: ${m}`),
      word,
    );
    const stream = fc.oneof(
      fc.array(msg, { maxLength: 10 }).map((ms) => Buffer.from(ms.map((m) => m + (m.length % 3 === 0 ? '\r\n' : '\n')).join(''))),
      fc.array(msg, { maxLength: 10 }).map((ms) => Buffer.from(ms.map((m) => `${Buffer.byteLength(m)} ${m}`).join(''))),
    );
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 16, max: 120 }), (buf, cuts, max) => {
        const whole = records(buf, [], max);
        const split = records(buf, cuts, max);
        expect(split.out).toEqual(whole.out);
        expect(split.bad).toEqual(whole.bad);
      }),
      { numRuns: 500 },
    );
  });
});
