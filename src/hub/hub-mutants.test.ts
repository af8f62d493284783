/**
 * The hub's edges that its main tests leave open (found by mutation testing,
 * `npm run mutate`): streams declared up front and later (their ring sizes,
 * the all-streams ring as their sum, what a stream added after a crash
 * inherits), a resume point beyond the head, backfill by stream, the
 * serializer's fallbacks, who is woken by a batch, and the status views
 * (streamInfo, subscribers, clients, ring bytes).
 */
import { describe, expect, it } from 'vitest';
import { Hub, type Subscriber } from './hub.js';
import { ENTRY_OVERHEAD, type Entry } from './entry.js';
import type { EncodedBatch } from '../wire/encoded.js';
import { entryJson } from '../wire/block.js';
import { isoTime, serializeTail } from '../wire/json.js';
import type { LogRecord } from '../core/record.js';

const T0 = 1_700_000_000_000;

function rec(stream: string, message: string, extra: Partial<LogRecord> = {}): LogRecord {
  return { seq: 0, time: T0, received: T0, source: 'src', stream, origin: { kind: 'test' }, message, fields: {}, ...extra };
}

function makeHub(o: { seqStart?: number; replay?: number; replayBytes?: number; streams?: Record<string, { replay?: number; replayBytes?: number }> } = {}) {
  const drops: Record<string, number> = {};
  const hub = new Hub({
    seqStart: o.seqStart ?? 0,
    defaults: { replay: o.replay ?? 100, replayBytes: o.replayBytes ?? 1 << 20 },
    streams: o.streams ?? {},
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

const sub = (hub: Hub, stream: string | null, since?: number, onWake: () => void = () => {}) =>
  hub.subscribe({ stream, ...(since !== undefined ? { since } : {}), maxLag: 1000, stage: 'test', onWake });

const ring = (hub: Hub, name: string) => hub.streamInfo().find((s) => s.name === name)!.ring;

describe('streams declared in the options', () => {
  it('are listed before their first record, each ring sized by its own limits or the defaults', () => {
    const { hub } = makeHub({ replay: 10, replayBytes: 5000, streams: { a: { replay: 3 }, b: { replayBytes: 700 }, c: {} } });
    expect(hub.streamNames()).toEqual(['a', 'b', 'c']);
    expect(hub.hasStream('a')).toBe(true);
    expect(hub.hasStream('zz')).toBe(false);
    expect(hub.streamInfo()).toEqual([
      { name: 'a', records: 0, ring: { size: 0, bytes: 0, capacity: 3, maxBytes: 5000, firstSeq: null, lastSeq: null }, clients: 0 },
      { name: 'b', records: 0, ring: { size: 0, bytes: 0, capacity: 10, maxBytes: 700, firstSeq: null, lastSeq: null }, clients: 0 },
      { name: 'c', records: 0, ring: { size: 0, bytes: 0, capacity: 10, maxBytes: 5000, firstSeq: null, lastSeq: null }, clients: 0 },
    ]);
  });

  it('the all-streams ring holds as many records as the streams\' rings together', () => {
    const { hub } = makeHub({ replay: 10, streams: { a: { replay: 3 }, b: { replay: 4 } } });
    for (let i = 0; i < 10; i++) hub.publish([rec('a', `a${i}`), rec('b', `b${i}`)]);
    expect(hub.records(null, undefined, 100)).toHaveLength(7);
    expect(hub.records('a', undefined, 100).map((e) => e.message)).toEqual(['a7', 'a8', 'a9']);
    // a stream added later adds its ring's size
    hub.ensureStream('c', { replay: 5 });
    for (let i = 0; i < 10; i++) hub.publish([rec('c', `c${i}`)]);
    expect(hub.records(null, undefined, 100)).toHaveLength(12);
  });

  it('a resume from before the start of this process is a gap on every stream, declared or new, and on the all-streams view', () => {
    const { hub } = makeHub({ seqStart: 100, streams: { a: {}, b: {} } });
    for (const s of ['a', 'b', null, 'late']) {
      const r = takeAll(sub(hub, s, 50));
      expect(r.notice, String(s)).toEqual({ kind: 'gap', missed: 50 });
    }
    // from the start itself nothing is missed
    expect(takeAll(sub(hub, 'a', 100)).notice).toBeUndefined();
  });
});

describe('ensureStream', () => {
  it('sizes a new stream\'s ring by the limits given, and leaves an existing ring as it is', () => {
    const { hub } = makeHub({ replay: 10, replayBytes: 5000, streams: { a: { replay: 3 } } });
    hub.ensureStream('x', { replay: 2 });
    hub.ensureStream('y', { replayBytes: 900 });
    hub.ensureStream('a', { replay: 50 });
    hub.ensureStream('z');
    expect(ring(hub, 'x')).toMatchObject({ capacity: 2, maxBytes: 5000 });
    expect(ring(hub, 'y')).toMatchObject({ capacity: 10, maxBytes: 900 });
    expect(ring(hub, 'a')).toMatchObject({ capacity: 3, maxBytes: 5000 });
    expect(ring(hub, 'z')).toMatchObject({ capacity: 10, maxBytes: 5000 });
    for (let i = 0; i < 5; i++) hub.publish([rec('x', `x${i}`)]);
    expect(hub.records('x', undefined, 10).map((e) => e.message)).toEqual(['x3', 'x4']);
  });

  it('limits given for a stream that already published are ignored, also when it is declared again later', () => {
    const { hub } = makeHub({ replay: 4 });
    hub.publish([rec('a', 'first')]);
    hub.ensureStream('a', { replay: 1 });
    expect(ring(hub, 'a').capacity).toBe(4);
    hub.publish([rec('a', 'second')]);
    expect(hub.records('a', undefined, 10).map((e) => e.message)).toEqual(['first', 'second']);
  });

  it('a stream first seen after a crash recovery knows the unused seqs, and the records lost before the start', () => {
    const { hub } = makeHub({ seqStart: 2_000_000 });
    hub.replay([], 1500);
    hub.seal();
    hub.ensureStream('late');
    hub.publish([rec('late', 'new')]);
    const upToDate = takeAll(sub(hub, 'late', 1500));
    expect(upToDate.notice).toBeUndefined();
    expect(upToDate.messages).toEqual(['new']);
    expect(takeAll(sub(hub, 'late', 1400)).notice).toEqual({ kind: 'gap', missed: 100 });
  });
});

describe('publish', () => {
  it('returns the first seq it assigned; an empty batch assigns none and returns the next', () => {
    const { hub } = makeHub({ seqStart: 9 });
    expect(hub.nextSeq).toBe(10);
    expect(hub.publish([])).toBe(10);
    expect(hub.lastSeq).toBe(9);
    expect(hub.publish([rec('a', 'x'), rec('a', 'y')])).toBe(10);
    expect(hub.publish([rec('a', 'z')])).toBe(12);
    expect(hub.nextSeq).toBe(13);
    expect(hub.streamInfo()).toEqual([{ name: 'a', records: 3, ring: expect.objectContaining({ size: 3, firstSeq: 10, lastSeq: 12 }), clients: 0 }]);
  });

  it('rings a batch of several streams into each stream in turn', () => {
    const { hub } = makeHub();
    hub.publish([rec('a', 'a1'), rec('a', 'a2'), rec('b', 'b1'), rec('a', 'a3'), rec('b', 'b2'), rec('b', 'b3')]);
    expect(hub.records('a', 0, 10).map((e) => [e.seq, e.message])).toEqual([[1, 'a1'], [2, 'a2'], [4, 'a3']]);
    expect(hub.records('b', 0, 10).map((e) => [e.seq, e.message])).toEqual([[3, 'b1'], [5, 'b2'], [6, 'b3']]);
    expect(hub.streamInfo().map((s) => [s.name, s.records])).toEqual([['a', 3], ['b', 3]]);
  });

  it('wakes the all-streams subscribers once a batch, and a stream\'s subscribers only for a batch with its records', () => {
    const { hub } = makeHub();
    const wakes = { all: 0, a: 0, b: 0 };
    sub(hub, null, undefined, () => wakes.all++);
    sub(hub, 'a', undefined, () => wakes.a++);
    sub(hub, 'b', undefined, () => wakes.b++);
    hub.publish([rec('a', '1'), rec('a', '2'), rec('a', '3')]);
    expect(wakes).toEqual({ all: 1, a: 1, b: 0 });
    hub.publish([rec('b', '4'), rec('b', '5')]);
    expect(wakes).toEqual({ all: 2, a: 1, b: 1 });
    hub.publish([rec('c', '6')]);
    expect(wakes).toEqual({ all: 3, a: 1, b: 1 });
  });

  it('a record whose time is not a number takes its received time when its fields cannot be serialized', () => {
    const { hub, drops } = makeHub();
    const bad = rec('a', 'bad', { time: Number.NaN, received: T0 + 1234, fields: { n: 10n } as unknown as Record<string, unknown> });
    hub.publish([bad]);
    const j = JSON.parse(entryJson(hub.records('a', 0, 1)[0]!)) as Record<string, unknown>;
    expect(j).toMatchObject({ message: 'bad', fields: {}, time: isoTime(T0 + 1234) });
    expect(drops['hub/unserializable_fields']).toBe(1);
  });

  it('a record whose origin cannot be serialized keeps its message, origin kind and source, without host or app', () => {
    const { hub, drops } = makeHub();
    const bad = rec('a', 'worse', { host: 'h1', app: 'ap', origin: { kind: 'file', big: 1n } });
    const bare = rec('a', 'no kind', { origin: { big: 2n } as unknown as LogRecord['origin'] });
    hub.publish([rec('a', 'fine', { host: 'h0' }), bad, bare]);
    const js = hub.records('a', 0, 10).map((e) => JSON.parse(entryJson(e)) as Record<string, unknown>);
    expect(js[0]).toMatchObject({ message: 'fine', host: 'h0' });
    expect(js[1]).toMatchObject({ message: 'worse', source: 'src', stream: 'a', origin: { kind: 'file' }, fields: {} });
    expect(js[1]).not.toHaveProperty('host');
    expect(js[1]).not.toHaveProperty('app');
    expect(js[2]).toMatchObject({ message: 'no kind', origin: { kind: 'unknown' } });
    expect(typeof js[1]!.time).toBe('string');
    expect(drops['hub/unserializable_fields']).toBe(2);
  });
});

describe('subscribe', () => {
  it('a resume point beyond the head starts at the head: the next record is not skipped', () => {
    const { hub } = makeHub();
    hub.publish([rec('a', '1'), rec('a', '2'), rec('a', '3')]);
    const s = sub(hub, 'a', 1000);
    expect(s.cursor).toBe(3);
    expect(takeAll(s).seqs).toEqual([]);
    hub.publish([rec('a', '4')]);
    expect(takeAll(s).seqs).toEqual([4]);
  });

  it('live-only starts at the head', () => {
    const { hub } = makeHub();
    hub.publish([rec('a', '1'), rec('a', '2')]);
    expect(sub(hub, 'a').cursor).toBe(2);
    expect(sub(hub, null).cursor).toBe(2);
  });

  it('each subscriber gets its own id; subscribers(), clients and allClients() count them until they close', () => {
    const { hub } = makeHub({ streams: { a: {}, b: {} } });
    const s1 = sub(hub, 'a');
    const s2 = sub(hub, 'a');
    const s3 = sub(hub, null);
    const s4 = sub(hub, 'b');
    expect(new Set([s1.id, s2.id, s3.id, s4.id]).size).toBe(4);
    expect(hub.subscribers().map((s) => s.id).sort()).toEqual([s1.id, s2.id, s3.id, s4.id].sort());
    expect(hub.streamInfo().map((s) => s.clients)).toEqual([2, 1]);
    expect(hub.allClients()).toBe(1);
    s1.close();
    s3.close();
    expect(hub.subscribers().map((s) => s.id).sort()).toEqual([s2.id, s4.id].sort());
    expect(hub.streamInfo().map((s) => s.clients)).toEqual([1, 1]);
    expect(hub.allClients()).toBe(0);
    // a closed subscriber is woken no more
    let woken = 0;
    const s5 = sub(hub, 'a', undefined, () => woken++);
    s5.close();
    hub.publish([rec('a', 'x')]);
    expect(woken).toBe(0);
  });

  it('closing a subscriber of a stream leaves the all-streams subscribers alone, and the other way round', () => {
    const { hub } = makeHub({ streams: { a: {} } });
    const all = sub(hub, null);
    const one = sub(hub, 'a');
    one.close();
    expect(hub.allClients()).toBe(1);
    all.close();
    expect(hub.streamInfo()[0]!.clients).toBe(0);
    expect(hub.subscribers()).toEqual([]);
  });
});

describe('records (backfill)', () => {
  it('by stream, over all streams, after a seq or the newest, at most limit; nothing for an unknown stream', () => {
    const { hub } = makeHub();
    hub.publish([rec('a', 'a1'), rec('b', 'b1'), rec('a', 'a2'), rec('b', 'b2'), rec('a', 'a3')]);
    const m = (es: Entry[]) => es.map((e) => e.message);
    expect(m(hub.records('a', undefined, 2))).toEqual(['a2', 'a3']);
    expect(m(hub.records('a', 1, 10))).toEqual(['a2', 'a3']);
    expect(m(hub.records('a', 0, 2))).toEqual(['a1', 'a2']);
    expect(m(hub.records(null, undefined, 3))).toEqual(['a2', 'b2', 'a3']);
    expect(m(hub.records(null, 2, 2))).toEqual(['a2', 'b2']);
    expect(hub.records('nope', 0, 10)).toEqual([]);
    expect(hub.records('nope', undefined, 10)).toEqual([]);
  });

  it('ringBytes is the sum of the streams\' ring bytes', () => {
    const { hub } = makeHub();
    expect(hub.ringBytes()).toBe(0);
    hub.publish([rec('a', 'x'.repeat(100)), rec('b', 'y')]);
    const info = hub.streamInfo();
    expect(info.every((s) => s.ring.bytes > 0)).toBe(true);
    expect(hub.ringBytes()).toBe(info[0]!.ring.bytes + info[1]!.ring.bytes);
  });
});

describe('replay and seal', () => {
  it('the highest seq floor of several replays counts', () => {
    const { hub } = makeHub({ seqStart: 2_000_000 });
    hub.replay([], 1500);
    hub.replay([], 1200);
    hub.seal();
    hub.publish([rec('a', 'new')]);
    expect(takeAll(sub(hub, 'a', 1500)).notice).toBeUndefined();
    expect(takeAll(sub(hub, 'a', 1450)).notice).toEqual({ kind: 'gap', missed: 50 });
  });

  it('replayed records of several calls are ringed in seq order; the counter moves past them when no reservation is ahead', () => {
    const { hub } = makeHub({ seqStart: 10 });
    const mk = (seq: number, stream: string) => Object.assign(rec(stream, `r${seq}`), { seq });
    hub.replay([mk(13, 'a'), mk(11, 'b')], 0);
    hub.replay([mk(12, 'a')], 0);
    hub.seal();
    expect(hub.lastSeq).toBe(13);
    expect(hub.records(null, 0, 10).map((e) => e.seq)).toEqual([11, 12, 13]);
    expect(hub.records('a', 0, 10).map((e) => e.message)).toEqual(['r12', 'r13']);
    // a resume from just before the replayed records is no gap; nothing before them is known
    expect(takeAll(sub(hub, null, 10)).notice).toBeUndefined();
    expect(takeAll(sub(hub, 'a', 10)).notice).toBeUndefined();
    expect(takeAll(sub(hub, null, 5)).notice).toEqual({ kind: 'gap', missed: 5 });
    expect(hub.publish([rec('a', 'next')])).toBe(14);
  });

  it('a stream that got no replayed records keeps its floor: its client resuming from before it is told of a gap', () => {
    const { hub } = makeHub({ seqStart: 1500, streams: { a: {}, b: {} } });
    const mk = (seq: number) => Object.assign(rec('a', `r${seq}`), { seq });
    hub.replay([mk(1001), mk(1002), mk(1003)], 1400);
    hub.seal();
    hub.publish([rec('b', 'b-new'), rec('c', 'c-new')]);
    // a's replayed records come back with no notice; the all-streams ring holds them too
    expect(takeAll(sub(hub, 'a', 1000))).toMatchObject({ notice: undefined, seqs: [1001, 1002, 1003] });
    expect(takeAll(sub(hub, null, 1000))).toMatchObject({ notice: undefined, seqs: [1001, 1002, 1003, 1501, 1502] });
    // b (declared) and c (first seen after the seal) may have held records before the crash that no ring has
    for (const name of ['b', 'c']) {
      // 1201..1400 (1401..1500 were never used; 1501 is b's, after c's floor)
      const got = takeAll(sub(hub, name, 1200));
      expect(got.notice, name).toEqual({ kind: 'gap', missed: 200 });
      expect(got.messages).toEqual([`${name}-new`]);
    }
  });

  it('a second seal changes nothing; replay after it throws', () => {
    const { hub } = makeHub({ seqStart: 100 });
    hub.replay([Object.assign(rec('a', 'r'), { seq: 50 })], 60);
    hub.seal();
    hub.publish([rec('a', 'n')]);
    hub.seal();
    expect(hub.lastSeq).toBe(101);
    expect(hub.records('a', 0, 10).map((e) => e.seq)).toEqual([50, 101]);
    expect(() => hub.replay([], 0)).toThrow('hub.replay after seal');
  });

  it('with nothing replayed and no floor, a fresh start reports no hole', () => {
    const { hub } = makeHub({ seqStart: 0 });
    hub.seal();
    hub.publish([rec('a', '1')]);
    expect(takeAll(sub(hub, 'a', 0)).seqs).toEqual([1]);
    expect(hub.lastSeq).toBe(1);
  });
});

describe('more edges (second mutation run)', () => {
  /** `n` records of stream `a` as an encoded batch (tails back to back, as a parse thread without reserved digits gives them). */
  function encodedBatch(msgs: string[]): EncodedBatch {
    const recs = msgs.map((m) => rec('a', m));
    const tails = recs.map((r) => serializeTail(r));
    const ends = new Uint32Array(msgs.length);
    const msg = new Uint32Array(2 * msgs.length);
    let at = 0;
    tails.forEach((t, i) => {
      const m = at + Buffer.byteLength(t.slice(0, t.indexOf(',"message":') + 11));
      msg[2 * i] = m;
      msg[2 * i + 1] = m + Buffer.byteLength(JSON.stringify(msgs[i]));
      at += Buffer.byteLength(t);
      ends[i] = at;
    });
    return { kind: 'encoded', buf: Buffer.from(tails.join('')), ends, msg, times: new Float64Array(msgs.length).fill(T0), levels: new Uint8Array(msgs.length), digits: 0, received: T0, source: 'src', stream: 'a', origin: { kind: 'test' } };
  }

  it('an entry costs its record\'s wire bytes (newline included) plus the per-entry overhead, encoded or not', () => {
    const { hub } = makeHub();
    hub.publish(encodedBatch(['one', 'two two']));
    hub.publish([rec('a', 'three')]);
    const es = hub.records('a', 0, 10);
    expect(es.map((e) => e.bytes)).toEqual(es.map((e) => Buffer.byteLength(entryJson(e)) + 1 + ENTRY_OVERHEAD));
    expect(hub.ringBytes()).toBe(es.reduce((n, e) => n + e.bytes, 0));
  });

  it('an empty batch, encoded or not, assigns nothing, rings nothing and wakes nobody', () => {
    const { hub } = makeHub({ seqStart: 4 });
    let wakes = 0;
    sub(hub, null, undefined, () => wakes++);
    sub(hub, 'a', undefined, () => wakes++);
    expect(hub.publish(encodedBatch([]))).toBe(5);
    expect(hub.publish([])).toBe(5);
    expect(wakes).toBe(0);
    expect(hub.lastSeq).toBe(4);
    expect(hub.records(null, 0, 10)).toEqual([]);
    expect(hub.publish(encodedBatch(['x', 'y']))).toBe(5);
    expect(wakes).toBe(2);
    expect(hub.records('a', 0, 10).map((e) => [e.seq, e.message])).toEqual([[5, 'x'], [6, 'y']]);
  });

  it('a fresh start with nothing replayed keeps what came before it a gap (no hole is made)', () => {
    const { hub } = makeHub({ seqStart: 100, streams: { a: {} } });
    hub.seal();
    hub.publish([rec('a', 'new')]);
    expect(takeAll(sub(hub, 'a', 50))).toEqual({ notice: { kind: 'gap', missed: 50 }, seqs: [101], messages: ['new'] });
    expect(takeAll(sub(hub, null, 50)).notice).toEqual({ kind: 'gap', missed: 50 });
  });

  it('the hole after a crash is known to streams declared before it, and replayed records make their own resume points good', () => {
    const { hub } = makeHub({ seqStart: 2_000_000, streams: { a: {}, b: {} } });
    const r = Object.assign(rec('a', 'r'), { seq: 1001 });
    hub.replay([r], 1500);
    hub.seal();
    hub.publish([rec('a', 'new'), rec('b', 'newb')]);
    // from the replayed record on, nothing was lost: the rest up to the reservation was never used
    expect(takeAll(sub(hub, 'a', 1000))).toEqual({ notice: undefined, seqs: [1001, 2_000_001], messages: ['r', 'new'] });
    expect(takeAll(sub(hub, 'b', 1500))).toEqual({ notice: undefined, seqs: [2_000_002], messages: ['newb'] });
    // b got no replayed record: from before the floor, 901..1500 may have been b's (not a's 2000001, after b's floor)
    expect(takeAll(sub(hub, 'b', 900)).notice).toEqual({ kind: 'gap', missed: 600 });
  });

  it('a second seal does not stretch the hole over seqs handed out since', () => {
    const { hub } = makeHub({ seqStart: 100, replay: 2 });
    hub.replay([], 60);
    hub.seal(); // 61..100 never used
    for (let i = 0; i < 5; i++) hub.publish([rec('a', `n${i}`)]); // 101..105; the ring keeps 104, 105
    hub.seal();
    expect(takeAll(sub(hub, 'a', 95))).toEqual({ notice: { kind: 'gap', missed: 3 }, seqs: [104, 105], messages: ['n3', 'n4'] });
  });

  it('a live subscriber at a start with nothing in the ring is not ready', () => {
    const { hub } = makeHub({ seqStart: 10 });
    const s = sub(hub, 'a');
    expect(s.ready).toBe(false);
    expect(takeAll(s)).toEqual({ notice: undefined, seqs: [], messages: [] });
  });
});

describe('more edges (third mutation run)', () => {
  it('a record without an origin (a parser bug) is published with origin kind "unknown", not thrown', () => {
    const { hub, drops } = makeHub();
    const bad = rec('a', 'orphan', { origin: undefined as unknown as LogRecord['origin'] });
    hub.publish([bad, rec('a', 'after')]);
    const js = hub.records('a', 0, 10).map((e) => JSON.parse(entryJson(e)) as Record<string, unknown>);
    expect(js.map((j) => [j.message, j.origin])).toEqual([['orphan', { kind: 'unknown' }], ['after', { kind: 'test' }]]);
    expect(drops['hub/unserializable_fields']).toBe(1);
  });

  it('a resume from before the start is ready at once with its gap notice, with nothing published yet', () => {
    const { hub } = makeHub({ seqStart: 100 });
    const s = sub(hub, 'a', 50);
    expect(s.ready).toBe(true);
    expect(takeAll(s).notice).toEqual({ kind: 'gap', missed: 50 });
    expect(s.ready).toBe(false);
  });
});
