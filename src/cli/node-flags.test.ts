import { describe, expect, it } from 'vitest';
import { daemonNodeFlags, shebangNodeFlags } from './node-flags.js';

describe('daemon node flags', () => {
  it('are the flags on bin/sluice.js’s shebang line', () => {
    const flags = daemonNodeFlags();
    expect(flags).toContain('--max-semi-space-size=16');
    expect(flags).toContain('--initial-old-space-size=128');
    expect(flags.every((f) => f.startsWith('--'))).toBe(true);
  });

  it('reads any number of flags and refuses a line that is not `env -S node`', () => {
    expect(shebangNodeFlags('#!/usr/bin/env -S node --a=1 --b\nrest')).toEqual(['--a=1', '--b']);
    expect(shebangNodeFlags('#!/usr/bin/env -S node\n')).toEqual([]);
    expect(() => shebangNodeFlags('#!/usr/bin/env node --a\n')).toThrow(/env -S node/);
    expect(() => shebangNodeFlags('// no shebang\n')).toThrow(/not a/);
  });
});
