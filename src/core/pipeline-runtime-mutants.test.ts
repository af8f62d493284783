/**
 * PipelineRuntime at its edges (mutation testing), over a stand-in hub: an
 * empty batch, sluice_records_total per stream (plain batches of one and of
 * several streams, encoded batches), what durable stages receive, when push
 * says wait and when onDrain callbacks fire (every stage with room again, a
 * removed stage, a callback registered while not full), afterPush, and the
 * calls it passes on to the hub and the metrics.
 */
import { describe, expect, it } from 'vitest';
import type { Hub } from '../hub/hub.js';
import { runJob } from '../parse/worker.js';
import type { EncodedBatch } from '../wire/encoded.js';
import { Metrics } from './metrics.js';
import { PipelineRuntime, type DurableStage } from './pipeline-runtime.js';
import type { LogRecord } from './record.js';

const T0 = 1_700_000_000_000;
const rec = (stream: string, message = 'm'): LogRecord => ({ seq: 0, time: T0, received: T0, source: 's', stream, origin: { kind: 't' }, message, fields: {} });

function encoded(lines: string[], stream = 'enc'): EncodedBatch {
  const res = runJob({ id: 1, items: [Buffer.from(lines.join('\n') + '\n')], maxLineBytes: 1 << 20, format: 'auto', now: T0, source: 's', stream, origin: '{"kind":"t"}', seqDigits: 0 }, null);
  return { kind: 'encoded', buf: Buffer.from(res.buf.buffer, res.buf.byteOffset, res.buf.length), ends: res.ends, msg: res.msg, times: res.times, levels: res.levels, digits: 0, received: T0, source: 's', stream, origin: { kind: 't' } };
}

/** A stage whose push answers `room`, recording what it got and the drain callbacks it was handed. */
function stage(name: string) {
  const s = {
    name,
    room: true,
    got: [] as LogRecord[][],
    drains: [] as (() => void)[],
    push(batch: LogRecord[]) {
      s.got.push(batch);
      return s.room;
    },
    onDrain(cb: () => void) {
      s.drains.push(cb);
    },
    /** Room again: call what the pipeline registered. */
    drain() {
      s.room = true;
      for (const cb of s.drains.splice(0)) cb();
    },
  };
  return s satisfies DurableStage;
}

function setup() {
  const calls: unknown[][] = [];
  let seq = 100;
  const hub = {
    publish(batch: LogRecord[] | EncodedBatch) {
      const n = Array.isArray(batch) ? batch.length : batch.ends.length;
      calls.push(['publish', n]);
      const first = seq + 1;
      seq += n;
      return first;
    },
    get lastSeq() {
      return seq;
    },
    get nextSeq() {
      return seq + 7; // distinct from lastSeq + 1, to see which one is asked
    },
    replay(batch: LogRecord[], floor: number) {
      calls.push(['replay', batch.length, floor]);
    },
  };
  const metrics = new Metrics();
  const p = new PipelineRuntime(hub as unknown as Hub, metrics);
  let after = 0;
  p.afterPush = () => after++;
  const counts = async () => Object.fromEntries((await metrics.records.get()).values.map((v) => [String(v.labels.stream), v.value]));
  return { p, calls, metrics, counts, after: () => after };
}

/** Drain callbacks fire from a microtask: let one pass. */
const microtask = () => new Promise<void>((r) => queueMicrotask(r));

describe('PipelineRuntime.push', () => {
  it('an empty batch publishes nothing, reaches no stage, runs no afterPush and answers whether the stages have room', () => {
    const { p, calls, after } = setup();
    const s = stage('rules');
    p.addStage(s);
    expect(p.push([])).toBe(true);
    expect(calls).toEqual([]);
    expect(s.got).toEqual([]);
    expect(after()).toBe(0);
    s.room = false;
    expect(p.push([rec('a')])).toBe(false);
    expect(p.push([])).toBe(false); // still full
    expect(p.push({ ...encoded(['x']), ends: new Uint32Array(0) })).toBe(false);
    expect(calls).toEqual([['publish', 1]]);
  });

  it('counts records per stream: one call for a one-stream batch, each stream of a mixed one', async () => {
    const { p, counts } = setup();
    p.push([rec('a'), rec('a'), rec('a')]);
    expect(await counts()).toEqual({ a: 3 });
    p.push([rec('a'), rec('b'), rec('a')]); // first and last agree, the middle does not
    expect(await counts()).toEqual({ a: 5, b: 1 });
    p.push([rec('c'), rec('c'), rec('b')]);
    expect(await counts()).toEqual({ a: 5, b: 2, c: 2 });
    p.push(encoded(['one', 'two', 'three'], 'e'));
    expect(await counts()).toEqual({ a: 5, b: 2, c: 2, e: 3 });
  });

  it('hands stages the records as pushed, or an encoded batch decoded with the seqs the hub gave', () => {
    const { p } = setup();
    const a = stage('a');
    const b = stage('b');
    p.addStage(a);
    p.addStage(b);
    const batch = [rec('x', 'plain')];
    p.push(batch);
    expect(a.got[0]).toBe(batch);
    expect(b.got[0]).toBe(batch);
    p.push(encoded(['{"level":"error","msg":"first"}', 'second']));
    const got = a.got[1]!;
    expect(got.map((r) => [r.seq, r.stream, r.message, r.level])).toEqual([
      [102, 'enc', 'first', 'error'],
      [103, 'enc', 'second', undefined],
    ]);
    expect(b.got[1]!.map((r) => r.seq)).toEqual([102, 103]);
  });

  it('a stage that takes encoded batches gets one as published with its first seq (its answer counts); records still go to its push', () => {
    const { p } = setup();
    const plain = stage('rules');
    const enc = { ...stage('forward'), encoded: [] as [EncodedBatch, number][], pushEncoded(b: EncodedBatch, first: number) {
      enc.encoded.push([b, first]);
      return enc.room;
    } };
    p.addStage(enc);
    p.addStage(plain);
    const b = encoded(['one', 'two']);
    expect(p.push(b)).toBe(true);
    expect(enc.encoded).toEqual([[b, 101]]);
    expect(enc.got).toEqual([]);
    expect(plain.got[0]!.map((r) => r.seq)).toEqual([101, 102]);
    const recs = [rec('x')];
    p.push(recs);
    expect(enc.got).toEqual([recs]);
    enc.room = false;
    expect(p.push(encoded(['three']))).toBe(false);
  });

  it('runs afterPush after each accepted batch, once the hub has the records', () => {
    const { p, after } = setup();
    let seen = -1;
    p.afterPush = () => (seen = p.lastSeq());
    p.push([rec('a'), rec('a')]);
    expect(seen).toBe(102);
    p.afterPush = undefined;
    expect(p.push([rec('a')])).toBe(true); // none set: fine
    expect(after()).toBe(0);
  });
});

describe('PipelineRuntime back-pressure', () => {
  it('a full stage is asked for one drain callback however often it answers full', async () => {
    const { p } = setup();
    const s = stage('rules');
    p.addStage(s);
    s.room = false;
    expect(p.push([rec('a')])).toBe(false);
    expect(p.push([rec('a')])).toBe(false);
    expect(s.drains).toHaveLength(1);
    let drained = 0;
    p.onDrain(() => drained++);
    await microtask();
    expect(drained).toBe(0);
    s.drain();
    expect(drained).toBe(1);
    expect(p.push([rec('a')])).toBe(true);
    s.room = false;
    expect(p.push([rec('a')])).toBe(false);
    expect(s.drains).toHaveLength(1); // full again: a new callback
  });

  it('drain callbacks fire only when every full stage has room, each once', () => {
    const { p } = setup();
    const a = stage('a');
    const b = stage('b');
    p.addStage(a);
    p.addStage(b);
    a.room = false;
    b.room = false;
    expect(p.push([rec('x')])).toBe(false);
    const fired: string[] = [];
    p.onDrain(() => fired.push('one'));
    p.onDrain(() => fired.push('two'));
    a.drain();
    expect(fired).toEqual([]);
    expect(p.push([rec('x')])).toBe(false); // b still full
    b.drain();
    expect(fired).toEqual(['one', 'two']);
    a.drain(); // a drain callback of a stage that had room already: nothing left to fire
    expect(fired).toEqual(['one', 'two']);
  });

  it('a callback registered from a drain callback waits for the next drain', () => {
    const { p } = setup();
    const s = stage('s');
    p.addStage(s);
    s.room = false;
    p.push([rec('x')]);
    const fired: string[] = [];
    p.onDrain(() => {
      fired.push('first');
      s.room = false;
      p.push([rec('x')]); // full again at once
      p.onDrain(() => fired.push('second'));
    });
    s.drain();
    expect(fired).toEqual(['first']);
    s.drain();
    expect(fired).toEqual(['first', 'second']);
  });

  it('onDrain while nothing is full fires on a microtask, not in the caller', async () => {
    const { p } = setup();
    let fired = 0;
    p.onDrain(() => fired++);
    expect(fired).toBe(0);
    await microtask();
    expect(fired).toBe(1);
    await microtask();
    expect(fired).toBe(1);
  });

  it('removing a full stage releases the sources; a removed stage gets no more batches', () => {
    const { p } = setup();
    const a = stage('a');
    const b = stage('b');
    p.addStage(a);
    p.addStage(b);
    a.room = false;
    expect(p.push([rec('x')])).toBe(false);
    let fired = 0;
    p.onDrain(() => fired++);
    p.removeStage(b); // not the full one: still waiting
    expect(fired).toBe(0);
    expect(p.push([rec('x')])).toBe(false); // a still gets batches (and is still full), b no more
    expect([a.got.length, b.got.length]).toEqual([2, 1]);
    p.removeStage(a);
    expect(fired).toBe(1);
    expect(p.push([rec('x')])).toBe(true);
    expect([a.got.length, b.got.length]).toEqual([2, 1]);
    p.removeStage(a); // again: harmless, fires nothing
    expect(fired).toBe(1);
  });
});

describe('PipelineRuntime passes on', () => {
  it('lastSeq, nextSeq and replay to the hub; drop to the metrics, one by default', () => {
    const { p, calls, metrics } = setup();
    expect(p.lastSeq()).toBe(100);
    expect(p.nextSeq()).toBe(107);
    p.replay([rec('a'), rec('a')], 42);
    expect(calls).toEqual([['replay', 2, 42]]);
    p.drop('parse', 'bad_utf8');
    p.drop('parse', 'bad_utf8', 3);
    p.drop('udp', 'udp_overflow', 0);
    expect(metrics.drops()).toEqual({ 'parse/bad_utf8': 4 });
  });
});

describe('PipelineRuntime.push and a stage that skips what it would not read', () => {
  it('a stage answering skip gets no records, with the count and the last seq the hub gave; push answers what skip said', () => {
    const { p } = setup();
    const skips: [number, number][] = [];
    let answer: boolean | undefined = true;
    const s = { ...stage('rules'), skip: (n: number, last: number) => (skips.push([n, last]), answer) };
    p.addStage(s);
    expect(p.push(encoded(['one', 'two', 'three']))).toBe(true); // seqs 101-103
    expect(skips).toEqual([[3, 103]]);
    answer = false; // full: the sources wait
    expect(p.push([rec('a'), rec('a')])).toBe(false);
    expect(skips).toEqual([[3, 103], [2, 105]]);
    expect(s.got).toEqual([]);
    // undefined: it reads this one after all
    answer = undefined;
    s.room = true;
    p.push(encoded(['four']));
    expect(s.got.map((b) => b.map((r) => [r.seq, r.message]))).toEqual([[[106, 'four']]]);
  });

  it('an encoded batch is decoded once, for the stages that read it, and not at all when every stage skips it', () => {
    const { p } = setup();
    const skipper = { ...stage('rules'), skip: () => true };
    p.addStage(skipper);
    const b = encoded(['x', 'y']);
    // a batch no stage reads is not decoded: no record's end is looked up (the count is enough)
    const ends = new Proxy(b.ends, {
      get: (t, k) => {
        if (typeof k === 'string' && /^\d+$/.test(k)) throw new Error(`record ${k} decoded`);
        const v = Reflect.get(t, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    expect(() => p.push({ ...b, ends })).not.toThrow();
    const reader1 = stage('forward');
    const reader2 = stage('archive');
    p.addStage(reader1);
    p.addStage(reader2);
    p.push(encoded(['z']));
    expect(skipper.got).toEqual([]);
    expect(reader1.got).toHaveLength(1);
    expect(reader2.got[0]).toBe(reader1.got[0]); // the same decoded records
  });
});
