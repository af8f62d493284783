/**
 * The pump against a stream that holds its writes until the test lets them
 * go (no socket, no timing): it writes until the high-water mark and waits
 * for 'drain', while blocked a wake only applies the drop-oldest policy,
 * the slack it holds is charged and given back, wakes coalesce into one
 * flush after the publishing step, and close lets go of the stream.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub } from '../hub/hub.js';
import type { LogRecord } from '../core/record.js';
import { ENTRY_OVERHEAD } from '../hub/entry.js';
import { clientSlack, configureClientSlack, makePump, writeAll } from './write.js';

const saved = { ...clientSlack };
afterEach(() => {
  Object.assign(clientSlack, saved);
  vi.useRealTimers();
});

/** A stream whose writes complete only when released: writableLength grows until then. */
class Held extends Writable {
  chunks: string[] = [];
  #pending: (() => void)[] = [];
  constructor(
    hwm: number,
    readonly hold = true,
  ) {
    super({ highWaterMark: hwm });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    if (this.hold) this.#pending.push(cb);
    else cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    for (const c of chunks) this.chunks.push(c.chunk.toString());
    if (this.hold) this.#pending.push(cb);
    else cb();
  }
  /** Complete the oldest write only (the stream hands it the next one it buffered). */
  releaseOne(): void {
    this.#pending.shift()?.();
  }
  /** Complete every write so far ('drain' follows if one was needed). */
  release(): void {
    while (this.#pending.length > 0) this.#pending.shift()!();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const rec = (i: number, pad = 0): LogRecord => ({ seq: 0, time: 1_700_000_000_000, received: 1_700_000_000_000, source: 's', stream: 'a', origin: { kind: 'test' }, message: `n=${i}${'x'.repeat(pad)}`, fields: {} });

function setup(hwm: number, maxLag = Infinity, hold = true) {
  const drops: Record<string, number> = {};
  const hub = new Hub({ seqStart: 0, defaults: { replay: 10_000, replayBytes: 1 << 26 }, streams: {}, drop: (st, r, n) => (drops[`${st}/${r}`] = (drops[`${st}/${r}`] ?? 0) + n) });
  hub.ensureStream('a');
  const w = new Held(hwm, hold);
  const pump = makePump(w, 'nd', (missed) => `{"gap":{"missed":${missed}}}\n`);
  const sub = hub.subscribe({ stream: 'a', maxLag, stage: 'tcp', onWake: pump.wake });
  pump.attach(sub);
  return { hub, w, pump, sub, drops };
}

const messages = (text: string) => text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { message?: string; gap?: { missed: number } }));
const microtask = () => new Promise<void>((r) => queueMicrotask(r));

describe('configureClientSlack', () => {
  it('an eighth of limits.memory for all clients, at most 8 MiB each', () => {
    configureClientSlack(800 * 1024 * 1024);
    expect([clientSlack.total, clientSlack.perClient]).toEqual([100 * 1024 * 1024, 8 * 1024 * 1024]);
    configureClientSlack(16 * 1024 * 1024 + 7);
    expect([clientSlack.total, clientSlack.perClient]).toEqual([2 * 1024 * 1024, 2 * 1024 * 1024]);
  });
});

describe('writeAll', () => {
  it('one buffer is one write; several are one corked burst; false when the stream asks to wait', () => {
    const w = new Held(10);
    const cork = vi.spyOn(w, 'cork');
    expect(writeAll(w, [Buffer.from('abc')])).toBe(true);
    expect(cork).not.toHaveBeenCalled();
    expect(writeAll(w, [Buffer.from('de'), Buffer.from('fgh')])).toBe(true);
    expect(cork).toHaveBeenCalledTimes(1);
    expect(w.writableCorked).toBe(0);
    w.release();
    expect(w.text).toBe('abcdefgh');
    expect(w.writableLength).toBe(0);
    // past the mark: false, whether the last write or an earlier one crossed it
    expect(writeAll(w, [Buffer.from('0123456789'), Buffer.from('')])).toBe(false);
    expect(writeAll(w, [Buffer.from('z')])).toBe(false);
    expect(writeAll(new Held(10), [])).toBe(true); // nothing to write: nothing to wait for
  });

  it('false while the stream still owes a drain, even when each write of the burst fit below the mark', () => {
    const w = new Held(10);
    expect(w.write(Buffer.alloc(15))).toBe(false);
    w.write(Buffer.alloc(3));
    w.releaseOne(); // 3 bytes left queued: below the mark, but the 'drain' is still to come
    expect([w.writableLength, w.writableNeedDrain]).toEqual([3, true]);
    expect(writeAll(w, [Buffer.from('ab'), Buffer.from('cd')])).toBe(false);
  });
});

describe('the pump', () => {
  it('a wake flushes once, after the publishing step, however many wakes it got', async () => {
    const { hub, w, sub } = setup(1 << 20, Infinity, false);
    const take = vi.spyOn(sub, 'takeRefs');
    hub.publish([rec(1)]);
    hub.publish([rec(2)]);
    hub.publish([rec(3)]);
    expect(w.text).toBe('');
    await microtask();
    expect(messages(w.text).map((m) => m.message)).toEqual(['n=1', 'n=2', 'n=3']);
    expect(take.mock.calls.length).toBeLessThanOrEqual(2); // one flush: a take that got them, one that found nothing
    hub.publish([rec(4)]);
    await microtask();
    expect(messages(w.text).map((m) => m.message)).toEqual(['n=1', 'n=2', 'n=3', 'n=4']);
  });

  it('attach writes what the cursor already holds at once', () => {
    const hub = new Hub({ seqStart: 0, defaults: { replay: 100, replayBytes: 1 << 20 }, streams: {}, drop: () => {} });
    hub.publish([rec(1), rec(2)]);
    const w = new Held(1 << 20, false);
    const pump = makePump(w, 'nd', () => '');
    pump.attach(hub.subscribe({ stream: 'a', since: 0, stage: 'tcp', onWake: pump.wake }));
    expect(messages(w.text).map((m) => m.message)).toEqual(['n=1', 'n=2']);
  });

  it('stops at the high-water mark without slack, counts drops while blocked, and after drain sends a gap then the rest', async () => {
    clientSlack.perClient = 0;
    const { hub, w, pump, sub, drops } = setup(200, 5);
    hub.publish([rec(1, 300)]); // one record past the mark: a write said false
    await microtask();
    expect(messages(w.text).map((m) => m.message)).toEqual([`n=1${'x'.repeat(300)}`]);
    expect(pump.buffered()).toBeGreaterThan(200);
    const first = pump.buffered();
    hub.publish(Array.from({ length: 8 }, (_, i) => rec(i + 2)));
    await microtask();
    // blocked: nothing written, but the 3 beyond maxLag are dropped and counted now
    expect(messages(w.text)).toHaveLength(1);
    expect(pump.buffered()).toBe(first); // not even the gap frame: no room left past the mark
    expect(sub.dropped).toBe(3);
    expect(drops['tcp/slow_client']).toBe(3);
    w.release();
    await microtask();
    const got = messages(w.text);
    expect(got[1]).toEqual({ gap: { missed: 3 } });
    expect(got.slice(2).map((m) => m.message)).toEqual(['n=5', 'n=6', 'n=7', 'n=8', 'n=9']);
  });

  it('with slack it keeps writing past the mark, charged to the shared slack, given back at drain and at close', async () => {
    clientSlack.perClient = 4096;
    clientSlack.total = 1 << 20;
    clientSlack.used = 0;
    const { hub, w, pump } = setup(100);
    hub.publish(Array.from({ length: 10 }, (_, i) => rec(i, 100)));
    await microtask();
    expect(messages(w.text)).toHaveLength(10);
    expect(clientSlack.used).toBe(w.writableLength - 100);
    w.release();
    expect(clientSlack.used).toBe(0);
    hub.publish(Array.from({ length: 10 }, (_, i) => rec(i, 100)));
    await microtask();
    expect(clientSlack.used).toBeGreaterThan(0);
    pump.close();
    expect(clientSlack.used).toBe(0);
    expect(w.listenerCount('drain')).toBe(0);
  });

  it('the slack is bounded per client and by the total left', async () => {
    clientSlack.perClient = 1000;
    clientSlack.total = 1 << 20;
    clientSlack.used = 0;
    const a = setup(100);
    a.hub.publish(Array.from({ length: 50 }, (_, i) => rec(i, 100)));
    await microtask();
    expect(clientSlack.used).toBeLessThanOrEqual(1000);
    expect(clientSlack.used).toBeGreaterThan(0);
    expect(messages(a.w.text).length).toBeLessThan(50);
    a.pump.close();
    clientSlack.total = 500;
    const b = setup(100);
    b.hub.publish(Array.from({ length: 50 }, (_, i) => rec(i, 100)));
    await microtask();
    expect(clientSlack.used).toBeLessThanOrEqual(500);
    b.pump.close();
    expect(clientSlack.used).toBe(0);
  });

  it('a record larger than all the room left is still written when the stream is below its mark', async () => {
    clientSlack.perClient = 0;
    const { hub, w } = setup(100);
    hub.publish([rec(1, 10_000)]);
    await microtask();
    expect(messages(w.text)).toHaveLength(1);
  });

  it('after close nothing is written: neither a wake nor a flush', async () => {
    const { hub, w, pump } = setup(1 << 20, Infinity, false);
    pump.close();
    hub.publish([rec(1)]);
    pump.wake();
    pump.flush();
    await microtask();
    expect(w.text).toBe('');
  });

  it('lastWrite is when it last wrote records', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const { hub, pump } = setup(1 << 20);
    vi.setSystemTime(2_000_000);
    pump.flush(); // nothing to write: unchanged
    expect(pump.lastWrite).toBe(1_000_000);
    hub.publish([rec(1)]);
    await microtask();
    expect(pump.lastWrite).toBe(2_000_000);
  });
});

describe('the pump at the edges of its room and its drain', () => {
  const line = (l: string) => Buffer.byteLength(l);

  it('the scratch array a flush took into holds no entry once it returned, even when it stopped at the mark', async () => {
    clientSlack.perClient = 0;
    const { hub, sub } = setup(200);
    const take = vi.spyOn(sub, 'takeRefs');
    hub.publish([rec(1, 300)]); // written, then the next round finds no room and stops
    await microtask();
    expect(take).toHaveBeenCalledTimes(1);
    expect(take.mock.calls[0]![1]).toHaveLength(0);
  });

  it('a queue at exactly the high-water mark is at the mark: no record goes past it without room', async () => {
    clientSlack.perClient = 0;
    const { hub, w, pump } = setup(200);
    w.write('x'.repeat(200)); // someone else's write (a heartbeat) filled the queue to the mark exactly
    hub.publish([rec(1)]);
    await microtask();
    expect(pump.buffered()).toBe(200);
    w.release();
    await microtask();
    expect(w.text).toContain('"n=1"');
  });

  it('with exactly ENTRY_OVERHEAD of room past the mark a gap frame still goes out', async () => {
    clientSlack.perClient = 1 << 20;
    const { hub, pump } = setup(200, 5);
    hub.publish([rec(1, 300)]);
    await microtask();
    const first = pump.buffered();
    clientSlack.perClient = first - 200 + ENTRY_OVERHEAD; // the room left: ENTRY_OVERHEAD exactly
    hub.publish(Array.from({ length: 8 }, (_, i) => rec(i + 2, 300))); // 3 beyond maxLag: a gap
    await microtask();
    expect(pump.buffered()).toBe(first + line('{"gap":{"missed":3}}\n'));
  });

  it('a record that does not fit the room left after someone else filled the queue waits for that drain, then goes', async () => {
    clientSlack.perClient = 300; // room for a gap frame, not for the record
    const { hub, w } = setup(200);
    w.write('x'.repeat(200)); // a heartbeat's write: the pump itself never waited for a drain
    hub.publish([rec(1, 1000)]);
    await microtask();
    expect(w.text).not.toContain('n=1');
    w.release();
    await microtask();
    expect(w.text).toContain(`n=1${'x'.repeat(1000)}`);
  });

  it('a drain the pump is not waiting for writes nothing: what was published in that step waits for its wake', async () => {
    clientSlack.perClient = 0;
    const { hub, w } = setup(200);
    hub.publish([rec(1, 300)]); // past the mark: the pump waits for a drain, and gets it
    await microtask();
    w.release();
    await microtask();
    hub.publish([rec(2)]); // fits: a write that did not ask to wait
    await microtask();
    expect(messages(w.text).map((m) => m.message)).toEqual([`n=1${'x'.repeat(300)}`, 'n=2']);
    w.write(`${JSON.stringify({ ping: 'x'.repeat(200) })}\n`); // someone else's write past the mark
    hub.publish([rec(3)]);
    w.release(); // its 'drain', inside the publishing step
    expect(messages(w.text).map((m) => m.message)).not.toContain('n=3');
    await microtask();
    expect(messages(w.text).map((m) => m.message).at(-1)).toBe('n=3');
  });
});
