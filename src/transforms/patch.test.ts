import { describe, expect, it } from 'vitest';
import { wholeGroup } from './patch.js';

describe('wholeGroup: is the group v the whole match?', () => {
  it('one group v around a pattern that stands by itself', () => {
    for (const p of ['(?P<v>a)', '(?P<v>\\d+\\.\\d+)', '(?P<v>(a)(b))', '(?P<v>[)(]+\\))', '(?P<v>\\Qa)\\E)', '(?P<v>a|b)', '(?P<v>)']) expect(wholeGroup(p), p).toBe(true);
  });
  it('anything around or after the group, or a group that closes early', () => {
    for (const p of ['(?P<v>a)(?P<w>b)', '(?P<v>a)b', 'x(?P<v>a)', '(?P<v>a)|(b)', '(?P<v>a)|b', '(?P<w>a)', '(?P<v>a\\)', '(a)']) expect(wholeGroup(p), p).toBe(false);
  });
});
