import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DockerDemuxer,
  RawMessageSplitter,
  parseTimestamp,
  sinceParam,
  splitTimestamp,
  type StdNo,
  type Timestamp,
} from './docker-mux.js';

function frame(std: number, payload: Buffer | string, sizeOverride?: number): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(8);
  h[0] = std;
  h.writeUInt32BE(sizeOverride ?? p.length, 4);
  return Buffer.concat([h, p]);
}

function collect(opts: { maxFrameBytes?: number; timestamps?: boolean } = {}) {
  const out: Array<[StdNo, string]> = [];
  const d = new DockerDemuxer({ ...opts, onFrame: (std, p) => out.push([std, p.toString()]) });
  return { d, out };
}

/** Feed a buffer in pieces cut at the given points. */
function feedCuts(d: { push(b: Buffer): void }, buf: Buffer, cuts: number[]): void {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const c of pts) {
    d.push(buf.subarray(prev, c));
    prev = c;
  }
  d.push(buf.subarray(prev));
}

describe('DockerDemuxer', () => {
  it('splits stdout and stderr frames', () => {
    const { d, out } = collect();
    d.push(Buffer.concat([frame(1, 'a\n'), frame(2, 'b\n'), frame(1, 'c')]));
    expect(d.end()).toBe(true);
    expect(out).toEqual([
      [1, 'a\n'],
      [2, 'b\n'],
      [1, 'c'],
    ]);
    expect(d.counters).toMatchObject({ frames: 3, bytes: 5, bad_frames: 0, truncated_frames: 0 });
  });

  it('is independent of how the stream is chunked (property)', () => {
    const payload = fc.string({ maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(1, 2), payload), { maxLength: 20 }), fc.array(fc.nat(2000), { maxLength: 10 }), (frames, cuts) => {
        const buf = Buffer.concat(frames.map(([s, p]) => frame(s, p)));
        const { d, out } = collect();
        feedCuts(d, buf, cuts);
        expect(d.end()).toBe(true);
        expect(out).toEqual(frames.filter(([, p]) => p.length > 0));
      }),
    );
  });

  const TS = '2026-11-23T13:46:10.509069713Z';
  it('counts a header announcing 1 GiB and resyncs on the next frame', () => {
    const { d, out } = collect({ timestamps: true });
    d.push(Buffer.concat([frame(1, `${TS} a\n`), frame(1, Buffer.alloc(0), 1024 ** 3), Buffer.from('junk'), frame(2, `${TS} b\n`)]));
    expect(d.end()).toBe(true);
    expect(out).toEqual([
      [1, `${TS} a\n`],
      [2, `${TS} b\n`],
    ]);
    expect(d.counters.oversize_frames).toBeGreaterThanOrEqual(1);
    expect(d.counters.skipped_bytes).toBe(8 + 4);
  });

  it('counts an unknown stream byte once per garbage stretch and keeps going', () => {
    const { d, out } = collect({ timestamps: true });
    const bad = frame(7, `${TS} x\n`);
    d.push(Buffer.concat([frame(1, `${TS} a\n`), bad, frame(2, `${TS} b\n`)]));
    d.push(Buffer.from('\xff\xfe garbage without any header at all \n', 'latin1'));
    d.push(frame(1, `${TS} c\n`));
    expect(d.end()).toBe(true);
    expect(out.map((o) => o[1])).toEqual([`${TS} a\n`, `${TS} b\n`, `${TS} c\n`]);
    expect(d.counters.bad_frames).toBe(2);
    expect(d.counters.frames).toBe(3);
  });

  it('counts a stream that ends inside a frame', () => {
    const { d, out } = collect();
    const f = frame(1, 'hello world\n');
    d.push(Buffer.concat([frame(2, 'x\n'), f.subarray(0, 10)]));
    expect(d.end()).toBe(false);
    expect(out).toEqual([[2, 'x\n']]);
    expect(d.counters.truncated_frames).toBe(1);
  });

  it('never throws and never emits more bytes than it got, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 5 }), (bytes, cuts) => {
        let emitted = 0;
        const d = new DockerDemuxer({ maxFrameBytes: 64, onFrame: (_s, p) => (emitted += p.length) });
        feedCuts(d, Buffer.from(bytes), cuts);
        d.end();
        expect(emitted).toBeLessThanOrEqual(bytes.length);
        expect(d.buffered).toBe(0);
      }),
    );
  });
});

describe('timestamps', () => {
  it('validates RFC3339Nano and builds a sortable key', () => {
    const a = parseTimestamp('2026-11-23T13:46:10.509069713Z')!;
    expect(a.ms).toBe(Date.parse('2026-11-23T13:46:10.509Z'));
    expect(a.key).toBe('2026-11-23T13:46:10509069713');
    const b = parseTimestamp('2026-11-23T13:46:10.5Z')!;
    expect(b.key).toBe('2026-11-23T13:46:10500000000');
    expect(b.key > a.key).toBe(false);
    const c = parseTimestamp('2026-11-23T14:46:10.509069713+01:00')!;
    expect(c.key).toBe(a.key);
    expect(parseTimestamp('2026-11-23 13:46:10Z')).toBeUndefined();
    expect(parseTimestamp('2026-11-23T13:46:10.1234567890Z')).toBeUndefined();
    expect(parseTimestamp('hello')).toBeUndefined();
  });

  it('splits the prefix off a payload', () => {
    const r = splitTimestamp(Buffer.from('2026-11-23T13:46:10.509069713Z hello\n'));
    expect(r.ts?.text).toBe('2026-11-23T13:46:10.509069713Z');
    expect(r.start).toBe(31);
    expect(splitTimestamp(Buffer.from('no timestamp here\n'))).toEqual({ ts: undefined, start: 0 });
  });

  it('renders the API since value exactly', () => {
    expect(sinceParam(parseTimestamp('2026-11-23T13:46:04.378433991Z')!.key)).toBe('1795441564.378433991');
    expect(sinceParam(parseTimestamp('2026-11-23T13:46:04Z')!.key)).toBe('1795441564.000000000');
  });
});

describe('RawMessageSplitter', () => {
  function run(input: Buffer, cuts: number[] = [], partialBytes?: number) {
    const msgs: Array<[string | undefined, string]> = [];
    const s = new RawMessageSplitter({
      partialBytes,
      onMessage: (ts: Timestamp | undefined, c) => {
        const last = msgs[msgs.length - 1];
        // Pieces of one message arrive with the same ts; join consecutive pieces for the assertion.
        if (last && last[0] === ts?.text && !last[1].endsWith('\n') && last[1].length % (partialBytes ?? 16384) !== 0) last[1] += c.toString();
        else msgs.push([ts?.text, c.toString()]);
      },
    });
    feedCuts(s, input, cuts);
    s.end();
    return { msgs, counters: s.counters };
  }
  const T1 = '2026-11-23T13:48:00.207837624Z';
  const T2 = '2026-11-23T13:48:00.217574415Z';

  it('strips the timestamp of each line', () => {
    const { msgs, counters } = run(Buffer.from(`${T1} hello\r\n${T2} world\r\n`));
    expect(msgs).toEqual([
      [T1, 'hello\r\n'],
      [T2, 'world\r\n'],
    ]);
    expect(counters.bad_timestamps).toBe(0);
  });

  it('strips the timestamp the engine puts after a 16 KiB partial split', () => {
    const line = 'x'.repeat(40);
    const input = Buffer.from(`${T1} ${line.slice(0, 16)}${T1} ${line.slice(16, 32)}${T1} ${line.slice(32)}\r\n${T2} next\r\n`);
    for (const cuts of [[], [5], [31, 47], [50, 60, 70, 80, 90, 100]]) {
      const { msgs } = run(input, cuts, 16);
      expect(msgs.map((m) => m[1]).join('')).toBe(`${line}\r\nnext\r\n`);
      expect(msgs.every((m) => m[0] !== undefined)).toBe(true);
    }
  });

  it('keeps bytes that do not start with a timestamp as content and counts them', () => {
    const { msgs, counters } = run(Buffer.from(`garbage line\n${T2} ok\n`));
    expect(msgs).toEqual([
      [undefined, 'garbage line\n'],
      [T2, 'ok\n'],
    ]);
    expect(counters.bad_timestamps).toBe(1);
  });
});
