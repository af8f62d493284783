import { describe, expect, it } from 'vitest';
import { Hub, type Subscriber } from './hub.js';
import type { Entry } from './entry.js';
import { entryJson } from '../wire/block.js';
import type { LogRecord } from '../core/record.js';

function rec(stream: string, message: string): LogRecord {
  return { seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 'src', stream, origin: { kind: 'test' }, message, fields: {} };
}

function makeHub(opts: { replay?: number; replayBytes?: number; seqStart?: number } = {}) {
  const drops: Record<string, number> = {};
  const hub = new Hub({
    seqStart: opts.seqStart ?? 0,
    defaults: { replay: opts.replay ?? 100, replayBytes: opts.replayBytes ?? 1 << 20 },
    streams: {},
    drop: (stage, reason, n) => {
      drops[`${stage}/${reason}`] = (drops[`${stage}/${reason}`] ?? 0) + n;
    },
  });
  return { hub, drops };
}

function takeAll(sub: Subscriber) {
  const out: Entry[] = [];
  const notice = sub.take(1e9, out);
  return { notice, seqs: out.map((e) => e.seq), messages: out.map((e) => e.message) };
}

describe('Hub', () => {
  it('publishes records with given seqs (a cluster tail) and refuses, counting, a batch not above the head', () => {
    const { hub, drops } = makeHub();
    const live = hub.subscribe({ stream: 'a', stage: 'sse', onWake: () => undefined });
    hub.startAfter(1_999_999);
    const at = (seq: number, m: string) => ({ ...rec('a', m), seq });
    expect(hub.publishWithSeqs([at(2_000_000, 'x'), at(2_000_001, 'y'), at(3_000_000, 'z')])).toBe(true);
    expect(hub.records('a', undefined, 10).map((e) => e.seq)).toEqual([2_000_000, 2_000_001, 3_000_000]);
    expect(hub.lastSeq).toBe(3_000_000);
    expect(hub.publishWithSeqs([at(3_000_001, 'ok'), at(3_000_001, 'again')])).toBe(false);
    expect(hub.publishWithSeqs([at(2_500_000, 'behind')])).toBe(false);
    expect(drops['hub/seq_out_of_order']).toBe(3);
    expect(hub.records('a', undefined, 10)).toHaveLength(3);
    // a live subscriber from before the start missed nothing
    expect(takeAll(live)).toEqual({ notice: undefined, seqs: [2_000_000, 2_000_001, 3_000_000], messages: ['x', 'y', 'z'] });
    // a resume from before the start is told as a gap
    const sub = hub.subscribe({ stream: 'a', since: 5, stage: 'sse', onWake: () => undefined });
    expect(takeAll(sub).notice?.kind).toBe('gap');
  });

  it('assigns increasing seqs from seqStart and serializes once', () => {
    const { hub } = makeHub({ seqStart: 41 });
    const batch = [rec('a', 'x'), rec('a', 'y')];
    hub.publish(batch);
    expect(batch.map((r) => r.seq)).toEqual([42, 43]);
    const e = hub.records('a', undefined, 10);
    expect(e.map((x) => JSON.parse(entryJson(x)).message)).toEqual(['x', 'y']);
    expect(hub.lastSeq).toBe(43);
  });

  it('an entry gives back the exact message from its wire form (escapes, non-BMP, lone surrogate)', () => {
    const { hub } = makeHub();
    const tricky = ['say "hi"\n\ttab \\ back', 'café ユーザー 🚀', 'lone \ud800 surrogate', '', '\u0000\u001f ctl'];
    hub.publish(tricky.map((m) => rec('a', m)));
    const sub = hub.subscribe({ stream: 'a', since: 0, maxLag: 100, stage: 'test', filter: (r) => r.message.includes('"') || r.message.includes('🚀'), onWake: () => {} });
    expect(takeAll(sub).messages).toEqual([tricky[0], tricky[1]]);
    expect(hub.records('a', undefined, 10).map((e) => e.message)).toEqual(tricky);
  });

  it('a live subscriber sees only records after it subscribed, and is woken', () => {
    const { hub } = makeHub();
    hub.publish([rec('a', 'before')]);
    let wakes = 0;
    const sub = hub.subscribe({ stream: 'a', maxLag: 100, stage: 'test', onWake: () => wakes++ });
    hub.publish([rec('a', 'after1'), rec('a', 'after2')]);
    expect(wakes).toBe(1); // one wake per batch, not per record
    expect(takeAll(sub).messages).toEqual(['after1', 'after2']);
    expect(takeAll(sub).messages).toEqual([]);
  });

  it('resumes after a given seq with exactly the missed records', () => {
    const { hub } = makeHub();
    for (let i = 0; i < 10; i++) hub.publish([rec('a', `m${i}`)]);
    const sub = hub.subscribe({ stream: 'a', since: 4, maxLag: 100, stage: 'test', onWake: () => {} });
    const r = takeAll(sub);
    expect(r.notice).toBeUndefined();
    expect(r.seqs).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it('a resume point older than the ring gets a gap notice with the missed count, then the ring', () => {
    const { hub, drops } = makeHub({ replay: 5 });
    for (let i = 0; i < 20; i++) hub.publish([rec('a', `m${i}`)]);
    const sub = hub.subscribe({ stream: 'a', since: 3, maxLag: 100, stage: 'test', onWake: () => {} });
    const r = takeAll(sub);
    expect(r.notice).toEqual({ kind: 'gap', missed: 12 }); // seqs 4..15 evicted
    expect(r.seqs).toEqual([16, 17, 18, 19, 20]);
    expect(drops['test/slow_client']).toBeUndefined(); // a resume gap is not our drop
  });

  it('a slow subscriber loses its oldest beyond maxLag, gets a gap, and the drop is counted; others are unaffected', () => {
    const { hub, drops } = makeHub({ replay: 1000 });
    const slow = hub.subscribe({ stream: 'a', maxLag: 10, stage: 'tcp', onWake: () => {} });
    const fast = hub.subscribe({ stream: 'a', maxLag: 10, stage: 'tcp', onWake: () => {} });
    const fastSeen: number[] = [];
    for (let i = 0; i < 100; i++) {
      hub.publish([rec('a', `m${i}`)]);
      fastSeen.push(...takeAll(fast).seqs);
    }
    expect(fastSeen).toHaveLength(100);
    const r = takeAll(slow);
    expect(r.notice).toEqual({ kind: 'gap', missed: 90 });
    expect(r.seqs).toEqual(Array.from({ length: 10 }, (_, i) => 91 + i));
    expect(drops['tcp/slow_client']).toBe(90);
    expect(slow.dropped).toBe(90);
  });

  it('a subscriber the ring evicted past gets a gap for what was evicted', () => {
    const { hub, drops } = makeHub({ replay: 10 });
    const sub = hub.subscribe({ stream: 'a', maxLag: 1000, stage: 'sse', onWake: () => {} });
    for (let i = 0; i < 25; i++) hub.publish([rec('a', `m${i}`)]);
    const r = takeAll(sub);
    expect(r.notice).toEqual({ kind: 'gap', missed: 15 });
    expect(r.seqs[0]).toBe(16);
    expect(drops['sse/slow_client']).toBe(15);
  });

  it('filters per subscriber, and counts only matching records as dropped', () => {
    const { hub } = makeHub({ replay: 1000 });
    const sub = hub.subscribe({ stream: 'a', maxLag: 4, stage: 'sse', filter: (r) => r.message.startsWith('keep'), onWake: () => {} });
    for (let i = 0; i < 20; i++) hub.publish([rec('a', i % 2 ? `keep${i}` : `skip${i}`)]);
    const r = takeAll(sub);
    expect(r.messages).toEqual(['keep17', 'keep19']);
    expect(r.notice).toEqual({ kind: 'gap', missed: 8 });
  });

  it('the all-streams view merges streams in seq order and resumes across them', () => {
    const { hub } = makeHub();
    hub.publish([rec('a', 'a1'), rec('b', 'b1'), rec('a', 'a2')]);
    hub.publish([rec('b', 'b2')]);
    const sub = hub.subscribe({ stream: null, since: 1, maxLag: 100, stage: 'sse', onWake: () => {} });
    expect(takeAll(sub).messages).toEqual(['b1', 'a2', 'b2']);
  });

  it('bounds the ring by bytes as well as count', () => {
    const { hub } = makeHub({ replay: 1000, replayBytes: 5000 });
    for (let i = 0; i < 100; i++) hub.publish([rec('a', 'x'.repeat(200))]);
    const info = hub.streamInfo()[0]!;
    expect(info.ring.bytes).toBeLessThanOrEqual(5000);
    expect(info.ring.size).toBeLessThan(100);
    expect(info.ring.size).toBeGreaterThan(5);
  });

  it('replayed records keep their seqs, are ringed in order and move the counter', () => {
    const { hub } = makeHub({ seqStart: 2_000_000 });
    const r1 = rec('a', 'r1');
    r1.seq = 1001;
    const r2 = rec('a', 'r2');
    r2.seq = 1002;
    hub.replay([r2, r1], 1002);
    hub.seal();
    expect(() => hub.replay([], 0)).toThrow();
    const resumed = hub.subscribe({ stream: 'a', since: 1001, maxLag: 100, stage: 'sse', onWake: () => {} });
    const r = takeAll(resumed);
    expect(r.notice).toBeUndefined();
    expect(r.messages).toEqual(['r2']);
    hub.publish([rec('a', 'new')]);
    expect(hub.lastSeq).toBe(2_000_001);
    expect(takeAll(resumed).messages).toEqual(['new']);
    // a client from before the replayed batch missed something we cannot give back
    const older = hub.subscribe({ stream: 'a', since: 900, maxLag: 100, stage: 'sse', onWake: () => {} });
    expect(takeAll(older).notice?.kind).toBe('gap');
  });

  it('after a crash, the unused seqs up to the reservation are not reported as missed', () => {
    const { hub } = makeHub({ seqStart: 2_000_000 }); // restarted at the reservation
    hub.replay([], 1500); // the sources had checkpointed up to seq 1500
    hub.seal();
    hub.publish([rec('a', 'new')]);
    const upToDate = hub.subscribe({ stream: 'a', since: 1500, maxLag: 100, stage: 'sse', onWake: () => {} });
    const r = takeAll(upToDate);
    expect(r.notice).toBeUndefined();
    expect(r.messages).toEqual(['new']);
    const behind = hub.subscribe({ stream: 'a', since: 1400, maxLag: 100, stage: 'sse', onWake: () => {} });
    expect(takeAll(behind).notice).toEqual({ kind: 'gap', missed: 100 });
  });

  it('a record whose fields cannot be serialized is published without them and counted; the batch survives', () => {
    const { hub, drops } = makeHub();
    const bad = rec('a', 'bad');
    bad.fields = { n: 10n } as unknown as Record<string, unknown>; // BigInt: JSON.stringify throws
    hub.publish([rec('a', 'before'), bad, rec('a', 'after')]);
    const e = hub.records('a', 0, 10);
    expect(e.map((x) => JSON.parse(entryJson(x)))).toMatchObject([{ message: 'before' }, { message: 'bad', fields: {} }, { message: 'after' }]);
    expect(drops['hub/unserializable_fields']).toBe(1);
  });

  it('async iteration yields records as they come and ends on close', async () => {
    const { hub } = makeHub();
    const sub = hub.subscribe({ stream: 'a', maxLag: 100, stage: 'test', onWake: () => {} });
    const seen: string[] = [];
    const done = (async () => {
      for await (const x of sub) {
        if ('seq' in x) seen.push(x.message);
        if (seen.length === 3) sub.close();
      }
    })();
    hub.publish([rec('a', '1')]);
    await new Promise((r) => setImmediate(r));
    hub.publish([rec('a', '2'), rec('a', '3')]);
    await done;
    expect(seen).toEqual(['1', '2', '3']);
  });
});
