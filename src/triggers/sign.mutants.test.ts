/**
 * verify()'s freshness window at its edge (left open by the t1 mutation run): a
 * timestamp exactly `toleranceS` away is still accepted, one second more is not.
 */
import { describe, expect, it } from 'vitest';
import { sign, verify } from './sign.js';

describe('verify: the tolerance bound (mutation testing, t1)', () => {
  it('accepts a timestamp exactly toleranceS old or ahead, refuses one second past it', () => {
    const body = '{"a":1}';
    const ts = '1000000';
    const sig = sign('k', ts, body);
    expect(verify('k', ts, body, sig, 300, 1_000_300)).toBe(true);
    expect(verify('k', ts, body, sig, 300, 999_700)).toBe(true);
    expect(verify('k', ts, body, sig, 300, 1_000_301)).toBe(false);
    expect(verify('k', ts, body, sig, 300, 999_699)).toBe(false);
  });
});
