/**
 * ReplayRing and Subscriber at their edges (found by mutation testing,
 * `npm run mutate`): the bounds of a ring (count, bytes, at least one), its
 * order across the wrap, backfill windows, the missed-records estimate with
 * holes and interleaved streams; a subscriber's lag bound at exactly maxLag,
 * its take() budget (count, bytes, atLeastOne), ready, lag, trim() and its
 * counters.
 */
import { describe, expect, it } from 'vitest';
import { ReplayRing } from './ring.js';
import { Hub, type Subscriber } from './hub.js';
import type { Entry } from './entry.js';
import type { LogRecord } from '../core/record.js';

const e = (seq: number, bytes = 10): Entry => ({ seq, bytes }) as Entry;
const seqs = (es: Entry[]) => es.map((x) => x.seq);

describe('ReplayRing', () => {
  it('keeps at least one entry: a capacity or byte bound below 1 is 1', () => {
    const r = new ReplayRing(0, 0);
    expect(r.capacity).toBe(1);
    expect(r.maxBytes).toBe(1);
    r.push(e(1, 500)); // larger than the byte bound: kept, it is alone
    expect(seqs(r.toArray())).toEqual([1]);
    r.push(e(2, 500));
    expect(seqs(r.toArray())).toEqual([2]);
    expect(r.bytes).toBe(500);
    expect(r.evicted).toBe(1);
    expect(r.evictedUpTo).toBe(1);
  });

  it('evicts the oldest by count and by bytes, and counts what it evicted', () => {
    const r = new ReplayRing(3, 1000);
    for (let s = 1; s <= 5; s++) r.push(e(s));
    expect(seqs(r.toArray())).toEqual([3, 4, 5]);
    expect(r.size).toBe(3);
    expect(r.bytes).toBe(30);
    expect(r.evicted).toBe(2);
    expect(r.evictedUpTo).toBe(2);
    const b = new ReplayRing(100, 25);
    b.push(e(1));
    b.push(e(2));
    expect(b.size).toBe(2); // 20 bytes fit
    b.push(e(3)); // 30 > 25: the oldest goes
    expect(seqs(b.toArray())).toEqual([2, 3]);
    b.push(e(4, 25)); // alone it fits exactly: both others go
    expect(seqs(b.toArray())).toEqual([4]);
    expect(b.bytes).toBe(25);
    b.push(e(5, 0));
    expect(seqs(b.toArray())).toEqual([4, 5]); // 25 + 0 is not above the bound
  });

  it('first, last, at, after and tail in seq order across the wrap of the circular buffer', () => {
    const r = new ReplayRing(4, 1 << 20);
    expect(r.first()).toBeUndefined();
    expect(r.last()).toBeUndefined();
    expect(r.after(0)).toEqual([]);
    expect(r.tail(3)).toEqual([]);
    for (let s = 1; s <= 7; s++) r.push(e(s * 2)); // 2..14, the ring holds 8..14
    expect(r.first()!.seq).toBe(8);
    expect(r.last()!.seq).toBe(14);
    expect([0, 1, 2, 3].map((i) => r.at(i).seq)).toEqual([8, 10, 12, 14]);
    expect(r.indexAfter(0)).toBe(0);
    expect(r.indexAfter(8)).toBe(1);
    expect(r.indexAfter(9)).toBe(1);
    expect(r.indexAfter(13)).toBe(3);
    expect(r.indexAfter(14)).toBe(4);
    expect(seqs(r.after(9))).toEqual([10, 12, 14]);
    expect(seqs(r.after(8, 2))).toEqual([10, 12]);
    expect(seqs(r.after(14))).toEqual([]);
    expect(seqs(r.tail(2))).toEqual([12, 14]);
    expect(seqs(r.tail(10))).toEqual([8, 10, 12, 14]);
    expect(seqs(r.tail(0))).toEqual([]);
  });

  it('resize keeps the newest that fit the new bounds, in order, and can grow again', () => {
    const r = new ReplayRing(5, 1 << 20);
    for (let s = 1; s <= 7; s++) r.push(e(s)); // 3..7
    r.resize(2, 1 << 20);
    expect(seqs(r.toArray())).toEqual([6, 7]);
    expect(r.capacity).toBe(2);
    expect(r.evictedUpTo).toBe(5);
    r.resize(10, 15);
    expect(r.maxBytes).toBe(15);
    expect(seqs(r.toArray())).toEqual([7]);
    r.resize(10, 1000);
    for (let s = 8; s <= 12; s++) r.push(e(s));
    expect(seqs(r.toArray())).toEqual([7, 8, 9, 10, 11, 12]);
    expect(r.bytes).toBe(60);
    r.resize(0, 0);
    expect(r.capacity).toBe(1);
    expect(r.maxBytes).toBe(1);
    expect(seqs(r.toArray())).toEqual([12]);
  });

  describe('missedAfter', () => {
    it('nothing is missed from the last evicted seq on', () => {
      const r = new ReplayRing(2, 1 << 20);
      for (let s = 1; s <= 5; s++) r.push(e(s)); // evicted 1..3
      expect(r.missedAfter(3)).toBe(0);
      expect(r.missedAfter(4)).toBe(0);
      expect(r.missedAfter(2)).toBe(1);
      expect(r.missedAfter(0)).toBe(3);
    });

    it('an empty ring counts up to what it knows was lost', () => {
      const r = new ReplayRing(10, 1 << 20);
      r.evictedUpTo = 10;
      expect(r.missedAfter(4)).toBe(6);
      expect(r.missedAfter(9)).toBe(1);
      expect(r.missedAfter(10)).toBe(0);
    });

    it('after a crash: the hole between the replayed batch and the records after the restart does not thin the estimate', () => {
      // the replayed batch 101..120 (one stream, contiguous), then the restart's records from 1,000,121 on;
      // seqs 121..1,000,120 were reserved and never used; everything up to 100 is gone with the process
      const r = new ReplayRing(100, 1 << 20);
      r.evictedUpTo = 100;
      r.holeFrom = 121;
      r.holeTo = 1_000_120;
      for (let s = 101; s <= 120; s++) r.push(e(s));
      for (let s = 1_000_121; s <= 1_000_130; s++) r.push(e(s));
      // a client that had up to 50 missed 51..100: all 50 (the stream's seqs are dense), not 50 * 29 / 1,000,029
      expect(r.missedAfter(50)).toBe(50);
      // with another stream interleaved (every other seq its), the estimate is half
      const h = new ReplayRing(100, 1 << 20);
      h.evictedUpTo = 100;
      h.holeFrom = 121;
      h.holeTo = 1_000_120;
      for (let s = 101; s <= 120; s += 2) h.push(e(s));
      for (let s = 1_000_121; s <= 1_000_140; s += 2) h.push(e(s));
      expect(h.missedAfter(50)).toBe(25);
    });

    it('seqs never handed out (the hole after a crash) are not missed, also where the hole only overlaps', () => {
      const r = new ReplayRing(10, 1 << 20);
      r.evictedUpTo = 10;
      r.holeFrom = 5;
      r.holeTo = 8;
      expect(r.missedAfter(2)).toBe(4); // 3..10 but 5..8
      expect(r.missedAfter(6)).toBe(2); // 7..10 but 7..8
      expect(r.missedAfter(4)).toBe(2); // 5..10 but 5..8
      expect(r.missedAfter(7)).toBe(2); // 8..10 but 8
      r.holeFrom = 3;
      r.holeTo = 10;
      expect(r.missedAfter(1)).toBe(1); // only 2
      r.holeTo = 20; // a hole reaching past what was evicted
      expect(r.missedAfter(1)).toBe(1);
      r.push(e(21));
      r.evictedUpTo = 10;
      expect(r.missedAfter(1)).toBe(1); // 2..20 but 3..20
    });

    it('estimated from the stream\'s density in the ring when other streams interleave (at least 1)', () => {
      const r = new ReplayRing(10, 1 << 20);
      r.evictedUpTo = 18;
      for (const s of [20, 23, 26]) r.push(e(s)); // one seq in three is this stream's
      expect(r.missedAfter(10)).toBe(3); // 11..19: 9 seqs, a third of them
      expect(r.missedAfter(17)).toBe(1); // 18..19: 2 * 1/3 rounds to 1
      expect(r.missedAfter(16)).toBe(1); // 3 * 1/3
      r.evictedUpTo = 19;
      expect(r.missedAfter(18)).toBe(1); // 19 alone: 1/3 rounds to 0, but something was missed
      const one = new ReplayRing(10, 1 << 20);
      one.evictedUpTo = 15;
      one.push(e(20));
      expect(one.missedAfter(10)).toBe(5); // one entry: no density to go by, the span 11..15 (16..19 are other streams')
      const dense = new ReplayRing(10, 1 << 20);
      dense.evictedUpTo = 9;
      for (const s of [10, 11, 12]) dense.push(e(s));
      expect(dense.missedAfter(0)).toBe(9);
    });
  });
});

function rec(stream: string, message: string): LogRecord {
  return { seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 'src', stream, origin: { kind: 'test' }, message, fields: {} };
}

function hubWith(replay = 1000) {
  const drops: Record<string, number> = {};
  const hub = new Hub({ seqStart: 0, defaults: { replay, replayBytes: 1 << 24 }, streams: {}, drop: (stage, reason, n) => void (drops[`${stage}/${reason}`] = (drops[`${stage}/${reason}`] ?? 0) + n) });
  return { hub, drops };
}

const publishN = (hub: Hub, n: number, stream = 'a', msg = (i: number) => `m${i}`) => {
  for (let i = 0; i < n; i++) hub.publish([rec(stream, msg(i))]);
};

function take(sub: Subscriber, max = 1e9, maxBytes = Infinity, atLeastOne = true) {
  const out: Entry[] = [];
  const notice = sub.take(max, out, maxBytes, atLeastOne);
  return { notice, seqs: seqs(out) };
}

describe('Subscriber', () => {
  it('without maxLag it may lag as far as the ring reaches', () => {
    const { hub, drops } = hubWith(1000);
    const s = hub.subscribe({ stream: 'a', stage: 'sse', onWake: () => {} });
    publishN(hub, 300);
    expect(s.lag).toBe(300);
    const r = take(s);
    expect(r.notice).toBeUndefined();
    expect(r.seqs).toHaveLength(300);
    expect(drops).toEqual({});
  });

  it('exactly maxLag behind is no loss; one more drops the oldest', () => {
    const { hub, drops } = hubWith();
    const s = hub.subscribe({ stream: 'a', maxLag: 5, stage: 'sse', onWake: () => {} });
    publishN(hub, 5);
    expect(take(s)).toEqual({ notice: undefined, seqs: [1, 2, 3, 4, 5] });
    publishN(hub, 6);
    expect(take(s)).toEqual({ notice: { kind: 'gap', missed: 1 }, seqs: [7, 8, 9, 10, 11] });
    expect(drops).toEqual({ 'sse/slow_client': 1 });
    expect(s.dropped).toBe(1);
  });

  it('a maxLag below 1 keeps one entry', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', maxLag: 0, stage: 'sse', onWake: () => {} });
    publishN(hub, 4);
    expect(take(s)).toEqual({ notice: { kind: 'gap', missed: 3 }, seqs: [4] });
  });

  it('take() stops at max entries and carries on from there; sent counts what it handed out', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', since: 0, stage: 'sse', onWake: () => {} });
    publishN(hub, 5);
    expect(take(s, 2).seqs).toEqual([1, 2]);
    expect(s.cursor).toBe(2);
    expect(s.lag).toBe(3);
    expect(take(s, 2).seqs).toEqual([3, 4]);
    expect(take(s, 2).seqs).toEqual([5]);
    expect(s.sent).toBe(5);
    expect(take(s, 0).seqs).toEqual([]);
  });

  it('take() within a byte budget; a first entry alone above it is taken only with atLeastOne', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', since: 0, stage: 'sse', onWake: () => {} });
    publishN(hub, 4);
    const b = hub.records('a', 0, 10)[0]!.bytes; // every record has the same size
    expect(take(s, 10, 2 * b).seqs).toEqual([1, 2]); // exactly two fit
    expect(take(s, 10, 2 * b - 1).seqs).toEqual([3]);
    expect(take(s, 10, b - 1, false).seqs).toEqual([]);
    expect(s.cursor).toBe(3);
    expect(take(s, 10, b - 1, true).seqs).toEqual([4]);
  });

  it('take() appends to what the caller already holds, and the budget counts only what it adds', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', since: 0, stage: 'sse', onWake: () => {} });
    publishN(hub, 3);
    const b = hub.records('a', 0, 10)[0]!.bytes;
    const out: Entry[] = [hub.records('a', 0, 1)[0]!];
    s.take(10, out, b);
    expect(seqs(out)).toEqual([1, 1]);
    // with something already held, an entry above the budget waits
    s.take(10, out, b - 1);
    expect(seqs(out)).toEqual([1, 1]);
  });

  it('a filter moves the cursor past what it rejects; ready and lag follow', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', stage: 'sse', filter: (r) => r.message.endsWith('1'), onWake: () => {} });
    expect(s.ready).toBe(false);
    expect(s.lag).toBe(0);
    publishN(hub, 3);
    expect(s.ready).toBe(true);
    expect(s.lag).toBe(3);
    expect(take(s).seqs).toEqual([2]);
    expect(s.cursor).toBe(3);
    expect(s.ready).toBe(false);
    expect(s.lag).toBe(0);
  });

  it('ready when a gap notice waits, or when the ring evicted past the cursor', () => {
    const { hub } = hubWith(3);
    const s = hub.subscribe({ stream: 'a', maxLag: 1000, stage: 'sse', filter: () => false, onWake: () => {} });
    publishN(hub, 5); // the ring evicted 1 and 2
    expect(s.ready).toBe(true);
    const r = take(s);
    expect(r).toEqual({ notice: { kind: 'gap', missed: 2 }, seqs: [] });
    expect(s.ready).toBe(false);
    hub.publish([rec('b', 'elsewhere')]);
    expect(s.ready).toBe(false);
    const late = hub.subscribe({ stream: 'a', since: 0, stage: 'sse', filter: () => false, onWake: () => {} });
    expect(late.ready).toBe(true); // its gap notice
    expect(take(late).notice).toEqual({ kind: 'gap', missed: 2 });
    expect(late.ready).toBe(false);
  });

  it('trim() counts a stalled client\'s losses when they happen; the notice comes with the next take', () => {
    const { hub, drops } = hubWith(4);
    const s = hub.subscribe({ stream: 'a', maxLag: 2, stage: 'tcp', onWake: () => {} });
    publishN(hub, 3);
    s.trim();
    expect(s.dropped).toBe(1);
    expect(drops).toEqual({ 'tcp/slow_client': 1 });
    publishN(hub, 5); // the ring (4) evicted past the cursor (1)
    s.trim();
    expect(s.dropped).toBe(6);
    expect(drops).toEqual({ 'tcp/slow_client': 6 });
    expect(take(s)).toEqual({ notice: { kind: 'gap', missed: 6 }, seqs: [7, 8] });
    s.trim();
    expect(s.dropped).toBe(6);
  });

  it('the ring evicting exactly up to the cursor is no loss', () => {
    const { hub, drops } = hubWith(2);
    const s = hub.subscribe({ stream: 'a', stage: 'sse', onWake: () => {} });
    publishN(hub, 2);
    expect(take(s).seqs).toEqual([1, 2]);
    publishN(hub, 2); // evicts 1 and 2, both sent
    expect(take(s)).toEqual({ notice: undefined, seqs: [3, 4] });
    expect(drops).toEqual({});
  });

  it('closed after close(); closing twice is harmless', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', stage: 'sse', onWake: () => {} });
    expect(s.closed).toBe(false);
    expect(s.stage).toBe('sse');
    expect(s.stream).toBe('a');
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(hub.subscribers()).toEqual([]);
  });

  it('async iteration yields a gap notice before the records, and keeps calling the subscriber\'s own onWake', async () => {
    const { hub } = hubWith(3);
    let wakes = 0;
    publishN(hub, 5);
    const s = hub.subscribe({ stream: 'a', since: 0, stage: 'sse', onWake: () => wakes++ });
    const seen: unknown[] = [];
    const done = (async () => {
      for await (const x of s) {
        seen.push('seq' in x ? x.seq : x);
        if (seen.length === 5) s.close();
      }
    })();
    await new Promise((r) => setImmediate(r));
    hub.publish([rec('a', 'x')]);
    await done;
    expect(seen).toEqual([{ kind: 'gap', missed: 2 }, 3, 4, 5, 6]);
    expect(wakes).toBe(1);
  });
});

describe('more edges (second mutation run)', () => {
  it('evictedUpTo never goes down: evicting a seq below what was known lost changes nothing', () => {
    const r = new ReplayRing(1, 1 << 20);
    r.evictedUpTo = 100;
    r.push(e(10));
    r.push(e(11));
    expect(r.evictedUpTo).toBe(100);
    expect(r.evicted).toBe(1);
  });

  it('missedAfter: a resume point at or after the last evicted seq misses nothing, even where other streams\' seqs leave room', () => {
    const r = new ReplayRing(10, 1 << 20);
    r.evictedUpTo = 10;
    r.push(e(20));
    r.push(e(25));
    expect(r.missedAfter(10)).toBe(0);
    expect(r.missedAfter(12)).toBe(0);
    expect(r.missedAfter(9)).toBe(1); // 10 alone (11..19 are other streams'), at least 1
  });

  it('missedAfter: nothing when a hole covers all that is not in the ring', () => {
    const r = new ReplayRing(10, 1 << 20);
    r.evictedUpTo = 10;
    r.holeFrom = 3;
    r.holeTo = 20;
    r.push(e(21));
    r.push(e(22));
    expect(r.missedAfter(2)).toBe(0);
    expect(r.missedAfter(1)).toBe(1);
  });

  it('missedAfter: two entries are enough to go by their density', () => {
    const r = new ReplayRing(10, 1 << 20);
    r.evictedUpTo = 18;
    r.push(e(20));
    r.push(e(24));
    expect(r.missedAfter(10)).toBe(2); // 9 seqs at 1 in 4
  });

  it('stays consistent with a plain list under any mix of count and byte bounds, sizes and resizes', () => {
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 40; round++) {
      let cap = 1 + rnd(8);
      let maxBytes = 5 + rnd(60);
      const r = new ReplayRing(cap, maxBytes);
      let model: Entry[] = [];
      let seq = 0;
      for (let op = 0; op < 200; op++) {
        if (rnd(25) === 0) {
          cap = 1 + rnd(8);
          maxBytes = 5 + rnd(60);
          r.resize(cap, maxBytes);
          const keep: Entry[] = [];
          for (const x of model) {
            keep.push(x);
            while (keep.length > 0 && (keep.length > cap || keep.reduce((n, y) => n + y.bytes, 0) > maxBytes) && keep.length > 1) keep.shift();
          }
          model = keep;
        } else {
          seq += 1 + rnd(3);
          const x = e(seq, rnd(30));
          model.push(x);
          while (model.length > 1 && (model.length > cap || model.reduce((n, y) => n + y.bytes, 0) > maxBytes)) model.shift();
          r.push(x);
        }
        expect(seqs(r.toArray())).toEqual(seqs(model));
        expect(r.first()?.seq).toBe(model[0]?.seq);
        expect(r.last()?.seq).toBe(model[model.length - 1]?.seq);
        if (model.length > 0) expect(seqs(r.after(model[0]!.seq))).toEqual(seqs(model.slice(1)));
      }
    }
  });

  it('take() without atLeastOne given takes a first entry above the budget', () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', since: 0, stage: 'sse', onWake: () => {} });
    publishN(hub, 2);
    const out: Entry[] = [];
    s.take(10, out, 1);
    expect(seqs(out)).toEqual([1]);
  });

  it('a filtered subscriber skipped past maxLag counts only the matching records it lost, not the first one it keeps', () => {
    const { hub, drops } = hubWith();
    const s = hub.subscribe({ stream: 'a', maxLag: 3, stage: 'sse', filter: (r) => Number(r.message.slice(1)) % 2 === 1, onWake: () => {} });
    publishN(hub, 10); // m0..m9 are seqs 1..10; the filter keeps the even seqs
    expect(take(s)).toEqual({ notice: { kind: 'gap', missed: 3 }, seqs: [8, 10] });
    expect(drops).toEqual({ 'sse/slow_client': 3 });
  });

  it('nothing lost, nothing counted: a skip over records the filter rejects reports no drop', () => {
    const { hub, drops } = hubWith();
    const s = hub.subscribe({ stream: 'a', maxLag: 1, stage: 'sse', filter: (r) => r.message === 'm2', onWake: () => {} });
    publishN(hub, 3);
    expect(take(s)).toEqual({ notice: undefined, seqs: [3] });
    expect(drops).toEqual({});
    expect(s.dropped).toBe(0);
  });

  it('async iteration: batches published while the consumer is busy are not lost, and leaving the loop unsubscribes', async () => {
    const { hub } = hubWith();
    const s = hub.subscribe({ stream: 'a', stage: 'sse', onWake: () => {} });
    const seen: number[] = [];
    const done = (async () => {
      for await (const x of s) {
        if ('seq' in x) seen.push(x.seq);
        if (seen.length === 3) break;
      }
    })();
    await new Promise((r) => setImmediate(r));
    hub.publish([rec('a', '1')]);
    hub.publish([rec('a', '2')]); // the consumer has not run yet: no one is waiting for this wake
    hub.publish([rec('a', '3')]);
    await done;
    expect(seen).toEqual([1, 2, 3]);
    expect(s.closed).toBe(true);
    expect(hub.subscribers()).toEqual([]);
  });
});
