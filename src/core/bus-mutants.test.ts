/**
 * The in-process bus at its edges (mutation testing): one message at a time
 * per subscriber (a handler's promise awaited), a rejected promise reported,
 * a throwing handler without onError, delivery resuming after the queue ran
 * dry, unsubscribing mid-queue, the queue bound (bus default, per-subscriber
 * override, at least 1) and a long backlog delivered whole and in order
 * across the queue's compaction.
 */
import { describe, expect, it } from 'vitest';
import { InProcessBus } from './bus.js';

const tick = () => new Promise((r) => setImmediate(r));
/** Turns of the event loop until `done` holds (bounded, so a broken bus fails rather than hangs). */
async function until(done: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await tick();
  expect(done()).toBe(true);
}
/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('InProcessBus edges', () => {
  it('awaits a handler before giving it the next message', async () => {
    const bus = new InProcessBus<number>();
    const events: string[] = [];
    const gates = [gate(), gate()];
    bus.subscribe(async (m) => {
      events.push(`start ${m}`);
      await gates[m]!.p;
      events.push(`end ${m}`);
    });
    bus.publish(0);
    bus.publish(1);
    await until(() => events.length === 1);
    await tick();
    expect(events).toEqual(['start 0']);
    gates[0]!.open();
    await until(() => events.length === 3);
    expect(events).toEqual(['start 0', 'end 0', 'start 1']);
    gates[1]!.open();
    await until(() => events.length === 4);
  });

  it('a synchronous handler (it returns nothing) gets every message, and nothing is reported as an error', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus<number>({ onError: (e) => errors.push(e) });
    const got: number[] = [];
    bus.subscribe((m) => {
      got.push(m);
    });
    for (let i = 0; i < 5; i++) bus.publish(i);
    await until(() => got.length === 5);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(errors).toEqual([]);
  });

  it('a rejected promise goes to onError and the next message is still delivered', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus<string>({ onError: (e) => errors.push(e) });
    const got: string[] = [];
    bus.subscribe(async (m) => {
      await tick();
      if (m === 'bad') throw new Error('async boom');
      got.push(m);
    });
    bus.publish('bad');
    bus.publish('ok');
    await until(() => got.length === 1);
    expect(got).toEqual(['ok']);
    expect(errors).toEqual([new Error('async boom')]);
  });

  it('without onError a throwing handler is skipped over', async () => {
    const bus = new InProcessBus<string>();
    const got: string[] = [];
    bus.subscribe((m) => {
      if (m === 'bad') throw new Error('boom');
      got.push(m);
    });
    bus.publish('bad');
    bus.publish('ok');
    await until(() => got.length === 1);
    expect(got).toEqual(['ok']);
  });

  it('delivers again after the queue ran dry', async () => {
    const bus = new InProcessBus<number>();
    const got: number[] = [];
    bus.subscribe((m) => {
      got.push(m);
    });
    bus.publish(1);
    await until(() => got.length === 1);
    await tick();
    bus.publish(2);
    bus.publish(3);
    await until(() => got.length === 3);
    expect(got).toEqual([1, 2, 3]);
  });

  it('unsubscribing while a handler runs discards what is still queued for it', async () => {
    const bus = new InProcessBus<number>();
    const got: number[] = [];
    const g = gate();
    const off = bus.subscribe(async (m) => {
      got.push(m);
      await g.p;
    });
    const other: number[] = [];
    bus.subscribe((m) => {
      other.push(m);
    });
    for (let i = 0; i < 3; i++) bus.publish(i);
    await until(() => got.length === 1 && other.length === 3);
    off();
    expect(bus.size).toBe(1);
    g.open();
    bus.publish(3);
    await until(() => other.length === 4);
    for (let i = 0; i < 5; i++) await tick();
    expect(got).toEqual([0]);
  });

  it('the queue bound: the bus default, a subscriber\'s own, never below 1; each drop counted as bus/slow_subscriber', async () => {
    const drops: string[] = [];
    const bus = new InProcessBus<number>({ maxQueue: 3, drop: (stage, reason, n) => drops.push(`${stage}/${reason}/${String(n)}`) });
    const byBus: number[] = [];
    const own: number[] = [];
    const one: number[] = [];
    bus.subscribe((m) => void byBus.push(m));
    bus.subscribe((m) => void own.push(m), { maxQueue: 5 });
    bus.subscribe((m) => void one.push(m), { maxQueue: 0 });
    for (let i = 0; i < 7; i++) bus.publish(i); // all queued before any delivery
    await until(() => byBus.length === 3 && own.length === 5 && one.length === 1);
    for (let i = 0; i < 3; i++) await tick();
    expect(byBus).toEqual([4, 5, 6]);
    expect(own).toEqual([2, 3, 4, 5, 6]);
    expect(one).toEqual([6]);
    expect(drops).toHaveLength(4 + 2 + 6);
    expect(new Set(drops)).toEqual(new Set(['bus/slow_subscriber/1']));
  });

  it('a bus without a drop counter still drops the oldest', async () => {
    const bus = new InProcessBus<number>();
    const got: number[] = [];
    bus.subscribe((m) => void got.push(m), { maxQueue: 1 });
    bus.publish(1);
    bus.publish(2);
    await until(() => got.length === 1);
    await tick();
    expect(got).toEqual([2]);
  });

  it('10 000 messages by default; past them the oldest go', async () => {
    const drops: number[] = [];
    const bus = new InProcessBus<number>({ drop: (_s, _r, n) => drops.push(n ?? 1) });
    const got: number[] = [];
    bus.subscribe((m) => void got.push(m));
    for (let i = 0; i < 10_001; i++) bus.publish(i);
    await until(() => got.length === 10_000);
    expect(got[0]).toBe(1);
    expect(got.at(-1)).toBe(10_000);
    expect(drops).toEqual([1]);
  });

  it('a backlog of thousands behind a slow handler arrives whole and in order', async () => {
    const bus = new InProcessBus<number>();
    const got: number[] = [];
    const g = gate();
    bus.subscribe(async (m) => {
      if (m === 0) await g.p;
      // more while the queue is being worked through (after its first compaction)
      if (m === 3000) for (let i = 5000; i < 6000; i++) bus.publish(i);
      got.push(m);
    });
    bus.publish(0);
    await tick(); // the handler holds message 0
    for (let i = 1; i < 5000; i++) bus.publish(i);
    g.open();
    await until(() => got.length === 6000);
    expect(got).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });
});
