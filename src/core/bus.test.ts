import { describe, expect, it } from 'vitest';
import { InProcessBus } from './bus.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('InProcessBus', () => {
  it('delivers to every subscriber in order, asynchronously', async () => {
    const bus = new InProcessBus<number>();
    const a: number[] = [];
    const b: number[] = [];
    bus.subscribe((m) => { a.push(m); });
    bus.subscribe(async (m) => { await tick(); b.push(m); });
    bus.publish(1);
    bus.publish(2);
    expect(a).toEqual([]); // not in the publisher's stack
    for (let i = 0; i < 10 && b.length < 2; i++) await tick();
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2]);
  });

  it('a stalled subscriber neither blocks publish nor grows without bound', async () => {
    const drops: number[] = [];
    const bus = new InProcessBus<number>({ maxQueue: 5, drop: (_s, reason, n) => { if (reason === 'slow_subscriber') drops.push(n ?? 1); } });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const got: number[] = [];
    bus.subscribe(async (m) => { await gate; got.push(m); });
    const fast: number[] = [];
    bus.subscribe((m) => { fast.push(m); }, { maxQueue: 100 });
    bus.publish(0);
    await tick(); // the stalled handler now holds message 0
    for (let i = 1; i < 50; i++) bus.publish(i);
    await tick();
    expect(fast).toHaveLength(50);
    release();
    for (let i = 0; i < 20; i++) await tick();
    // the first message was already being handled; the queue then kept the newest 5
    expect(got).toEqual([0, 45, 46, 47, 48, 49]);
    expect(drops.reduce((x, y) => x + y, 0)).toBe(44);
  });

  it('unsubscribe stops delivery; handler errors are reported, not thrown', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus<string>({ onError: (e) => errors.push(e) });
    const got: string[] = [];
    const off = bus.subscribe((m) => { if (m === 'bad') throw new Error('boom'); got.push(m); });
    bus.publish('bad');
    bus.publish('ok');
    await tick();
    off();
    bus.publish('late');
    await tick();
    expect(got).toEqual(['ok']);
    expect(errors).toHaveLength(1);
    expect(bus.size).toBe(0);
  });
});
