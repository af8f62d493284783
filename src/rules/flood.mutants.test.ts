/**
 * Flood control edges the r1 mutation run left open: restore keeps the newer of two
 * times in either order, and a rule without a cooldown is never held by a stored
 * last-fired time (even one ahead of the clock, as after the clock stepped back).
 */
import { describe, expect, it } from 'vitest';
import { FloodControl, VERDICT } from './flood.js';

describe('FloodControl (mutation testing, r1)', () => {
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
