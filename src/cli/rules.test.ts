import { describe, expect, it } from 'vitest';
import { rulesTestCommand } from './rules.js';

describe('sluice rules test', () => {
  it('prints matched and captures', () => {
    const r = rulesTestCommand('level=(?P<level>\\w+) took (\\d+)ms', 'level=warn took 250ms');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.output)).toEqual({ matched: true, captures: { level: 'warn', $2: '250' } });
    expect(JSON.parse(rulesTestCommand('x', 'y').output)).toEqual({ matched: false, captures: {} });
  });
  it('exits 2 with the RE2 compile error on an invalid pattern', () => {
    const r = rulesTestCommand('(?=x)', 'x');
    expect(r.exitCode).toBe(2);
    expect(r.output).toMatch(/^SLUICE_ERR_RULE_PATTERN: invalid pattern: invalid perl operator/);
  });
});
