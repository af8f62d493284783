/**
 * The `gap` a resuming SSE client gets when its resume point was evicted while
 * two streams interleave (docs/api.md, SSE: "the number missed (exact for a
 * single stream; estimated from the ring's density when streams interleave)").
 * Two file sources on streams "a" and "b" (replay = 20 each, so the
 * all-streams ring keeps 40) take turns line by line, so their seqs alternate;
 * then a client resumes from before them on /api/tail/sse and on
 * /api/streams/a/sse.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeaders, fileSourceToml, startDaemon, stopAll, tempDir, type DaemonHandle } from '../helpers/daemon.js';
import { SseClient } from '../helpers/sse.js';

const ROUNDS = 30;
const REPLAY = 20;

let d: DaemonHandle;
/** Every record after the anchor, as a live all-streams client saw them. */
let after: { seq: number; stream: string; message: string }[];
let anchor: number;

beforeAll(async () => {
  const dir = tempDir();
  const a = path.join(dir, 'a.log');
  const b = path.join(dir, 'b.log');
  writeFileSync(a, '');
  writeFileSync(b, '');
  d = await startDaemon(
    `data_dir = "${dir}/data"
${fileSourceToml('a', a)}
${fileSourceToml('b', b)}
[[streams]]
name = "a"
replay = ${REPLAY}
[[streams]]
name = "b"
replay = ${REPLAY}
`,
    { dir },
  );
  const o = new SseClient(`${d.url}/api/tail/sse`, authHeaders);
  await o.connect();
  appendFileSync(a, 'anchor\n');
  await o.waitFor(() => o.logs().length === 1, 'the anchor');
  anchor = o.logs()[0]!.seq;
  // one line at a time, each seen before the next is written: a, b, a, b, ...
  for (let i = 0; i < ROUNDS; i++) {
    appendFileSync(a, `a ${i}\n`);
    await o.waitFor(() => o.logs().length === 2 + 2 * i, `a ${i}`);
    appendFileSync(b, `b ${i}\n`);
    await o.waitFor(() => o.logs().length === 3 + 2 * i, `b ${i}`);
  }
  after = o.logs().slice(1) as typeof after;
  o.disconnect();
}, 120_000);

afterAll(async () => {
  await d?.stop();
  stopAll();
});

describe('gap on resume across interleaved streams', () => {
  it('the streams did interleave record by record', () => {
    expect(after).toHaveLength(2 * ROUNDS);
    expect(after.map((r) => r.stream)).toEqual(Array.from({ length: 2 * ROUNDS }, (_, i) => (i % 2 ? 'b' : 'a')));
    expect(after.map((r) => r.seq)).toEqual(Array.from({ length: 2 * ROUNDS }, (_, i) => anchor + 1 + i));
  });

  it('/api/tail/sse: a gap with exactly the records evicted from the all-streams ring, then the ring in seq order', async () => {
    const c = new SseClient(`${d.url}/api/tail/sse`, authHeaders);
    await c.connect(String(anchor));
    const kept = after.slice(-2 * REPLAY); // the all-streams ring holds the sum of the streams' rings
    await c.waitFor(() => c.logs().length >= kept.length, 'the ring after the gap');
    expect(c.events.find((e) => e.event === 'gap' || e.event === 'log')!.event).toBe('gap');
    expect(c.gaps()).toEqual([{ missed: after.length - kept.length }]);
    expect(c.logs().map((r) => r.message)).toEqual(kept.map((r) => r.message));
    c.disconnect();
  });

  it('/api/streams/a/sse: the missed count of "a" is estimated from its ring\'s density, not the seq span that "b" fills half of', async () => {
    const streams = (await (await fetch(`${d.url}/api/streams`, { headers: authHeaders })).json()) as { streams: { name: string; first_seq: number; last_seq: number }[] };
    const ringA = streams.streams.find((s) => s.name === 'a')!;
    const status = (await (await fetch(`${d.url}/api/status`, { headers: authHeaders })).json()) as { streams: { name: string; ring: { size: number } }[] };
    const size = status.streams.find((s) => s.name === 'a')!.ring.size;
    expect(size).toBe(REPLAY);
    const ofA = after.filter((r) => r.stream === 'a');
    expect(ringA.first_seq).toBe(ofA[ofA.length - REPLAY]!.seq);
    // what docs/api.md describes: the seqs from the resume point to the last one of "a" evicted, scaled by
    // the ring's density (the seqs after it up to the ring's first are "b"'s)
    const span = ofA[ofA.length - REPLAY - 1]!.seq - anchor;
    const estimate = Math.max(1, Math.round(span * Math.min(1, (size - 1) / (ringA.last_seq - ringA.first_seq))));
    const exact = ofA.length - REPLAY;
    expect(span).toBeGreaterThan(exact); // half of the span is stream b's

    const c = new SseClient(`${d.url}/api/streams/a/sse`, authHeaders);
    await c.connect(String(anchor));
    await c.waitFor(() => c.logs().length >= REPLAY, "a's ring after the gap");
    expect(c.events.find((e) => e.event === 'gap' || e.event === 'log')!.event).toBe('gap');
    expect(c.gaps()).toEqual([{ missed: estimate }]);
    expect(Math.abs(c.gaps()[0]!.missed - exact)).toBeLessThanOrEqual(1);
    expect(c.logs().map((r) => r.message)).toEqual(ofA.slice(-REPLAY).map((r) => r.message));
    c.disconnect();
  });
});
