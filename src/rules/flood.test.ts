import { describe, expect, it } from 'vitest';
import { FloodControl, TokenBuckets, VERDICT } from './flood.js';

describe('TokenBuckets', () => {
  it('allows capacity then refuses, and refills over the window', () => {
    const b = new TokenBuckets(3, 60_000);
    expect([b.take('c1', 0), b.take('c1', 0), b.take('c1', 0), b.take('c1', 0)]).toEqual([true, true, true, false]);
    expect(b.take('c2', 0)).toBe(true); // per instance
    expect(b.take('c1', 19_000)).toBe(false); // 0.95 token
    expect(b.take('c1', 20_000)).toBe(true); // 1 token after a third of the window
    expect(b.take('c1', 20_001)).toBe(false);
    b.sweep(10_000_000);
    expect(b.size).toBe(0); // refilled buckets carry no information
  });
});

describe('FloodControl', () => {
  it('cooldown suppresses per (rule, instance) and does not spend tokens', () => {
    const f = new FloodControl(2, 60_000);
    expect(f.check(1, 10_000, 'app/c1', 0)).toBe(VERDICT.FIRE);
    expect(f.check(1, 10_000, 'app/c1', 5_000)).toBe(VERDICT.COOLDOWN);
    expect(f.check(1, 10_000, 'app/c2', 5_000)).toBe(VERDICT.FIRE); // other container
    expect(f.check(2, 10_000, 'app/c1', 5_000)).toBe(VERDICT.FIRE); // other rule: c1's bucket now empty
    expect(f.check(3, 0, 'app/c1', 5_000)).toBe(VERDICT.BUCKET);
    // cooldown over, but the bucket (2 per minute) has refilled only ~0.17 token
    expect(f.check(1, 10_000, 'app/c1', 10_000)).toBe(VERDICT.BUCKET);
    // a bucket refusal did not start a new cooldown: once a token is back, it fires
    expect(f.check(1, 10_000, 'app/c1', 40_000)).toBe(VERDICT.FIRE);
  });

  it('restores persisted cooldowns and sweeps expired ones', () => {
    const f = new FloodControl(10, 60_000);
    f.restore(1, 'app', 1_000);
    expect(f.check(1, 60_000, 'app', 30_000)).toBe(VERDICT.COOLDOWN);
    expect(f.cooldownEntries).toBe(1);
    f.sweep(61_000, 60_000);
    expect(f.cooldownEntries).toBe(0);
    f.restore(2, 'x', 5);
    f.forgetRule(2);
    expect(f.cooldownEntries).toBe(0);
  });
});
