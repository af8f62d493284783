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

describe('flood control at its edges (found by mutation testing)', () => {
  it('a rule without a cooldown keeps no cooldown entry, and a cooldown ends exactly when its time is up', () => {
    const f = new FloodControl(100, 60_000);
    expect(f.check(1, 0, 'app', 0)).toBe(VERDICT.FIRE);
    expect(f.check(1, 0, 'app', 0)).toBe(VERDICT.FIRE);
    expect(f.cooldownEntries).toBe(0);
    expect(f.check(2, 1_000, 'app', 0)).toBe(VERDICT.FIRE);
    expect(f.check(2, 1_000, 'app', 999)).toBe(VERDICT.COOLDOWN);
    expect(f.check(2, 1_000, 'app', 1_000)).toBe(VERDICT.FIRE);
  });

  it('restore keeps the newer time of two, and forgetting rule 1 leaves rule 12 alone', () => {
    const f = new FloodControl(100, 60_000);
    f.restore(1, 'app', 5_000);
    f.restore(1, 'app', 1_000); // older: ignored
    expect(f.check(1, 10_000, 'app', 14_999)).toBe(VERDICT.COOLDOWN);
    f.restore(12, 'app', 5_000);
    f.forgetRule(1);
    expect(f.cooldownEntries).toBe(1);
    expect(f.check(12, 10_000, 'app', 14_999)).toBe(VERDICT.COOLDOWN);
    expect(f.check(1, 10_000, 'app', 14_999)).toBe(VERDICT.FIRE);
  });

  it('sweep drops a cooldown entry once it is as old as the longest cooldown, not before', () => {
    const f = new FloodControl(100, 60_000);
    f.restore(1, 'a', 1_000);
    f.restore(1, 'b', 2_000);
    f.sweep(60_999, 60_000);
    expect(f.cooldownEntries).toBe(2);
    f.sweep(61_000, 60_000);
    expect(f.cooldownEntries).toBe(1);
  });

  it('a bucket sweep keeps a bucket that has not refilled, and drops it once full', () => {
    const b = new TokenBuckets(2, 60_000);
    b.take('c1', 0);
    b.sweep(10_000); // 1 + 1/3 token: still carries information
    expect(b.size).toBe(1);
    b.sweep(30_000);
    expect(b.size).toBe(0);
    // a clock that steps back neither refills nor takes tokens away
    b.take('c2', 50_000);
    b.take('c2', 50_000);
    expect(b.take('c2', 40_000)).toBe(false);
    b.take('c3', 60_000); // 1 token left
    expect(b.take('c3', 30_000)).toBe(true);
  });

  // edges the r1 mutation run left open: restore keeps the newer of two times in either order, and a rule
  // without a cooldown is never held by a stored last-fired time (even one ahead of the clock)
  it('restore takes a newer time over an older one already there', () => {
    const f = new FloodControl(100, 60_000);
    f.restore(1, 'app', 1_000);
    f.restore(1, 'app', 5_000); // newer: replaces
    // 5 500 is 4 500 after the older time (past a 1 s cooldown) but 500 after the newer one
    expect(f.check(1, 1_000, 'app', 5_500)).toBe(VERDICT.COOLDOWN);
    expect(f.check(1, 1_000, 'app', 6_000)).toBe(VERDICT.FIRE);
  });

  it('a rule without a cooldown fires even with a stored last-fired time ahead of the clock', () => {
    const f = new FloodControl(100, 60_000);
    f.restore(1, 'app', 10_000);
    expect(f.check(1, 0, 'app', 5_000)).toBe(VERDICT.FIRE);
    expect(f.check(1, 0, 'app', 10_000)).toBe(VERDICT.FIRE);
  });
});
