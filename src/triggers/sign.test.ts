import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sign, verify } from './sign.js';

describe('sign / verify', () => {
  it('is HMAC-SHA256 of timestamp + "." + body, hex, prefixed', () => {
    const expected = crypto.createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
    expect(sign('k', 1700000000, '{"a":1}')).toBe('sha256=' + expected);
  });

  it('verifies, and rejects a changed body, key, timestamp or a stale one', () => {
    const s = sign('k', '1700000000', 'body');
    expect(verify('k', '1700000000', 'body', s, 300, 1700000100)).toBe(true);
    expect(verify('k', '1700000000', 'body!', s, 300, 1700000100)).toBe(false);
    expect(verify('k2', '1700000000', 'body', s, 300, 1700000100)).toBe(false);
    expect(verify('k', '1700000001', 'body', s, 300, 1700000100)).toBe(false);
    expect(verify('k', '1700000000', 'body', s, 300, 1700001000)).toBe(false);
    expect(verify('k', '1700000000', 'body', 'sha256=00', 300, 1700000100)).toBe(false);
  });
});
