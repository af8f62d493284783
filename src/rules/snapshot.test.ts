import { describe, expect, it } from 'vitest';
import type { Rule } from '../store/types.js';
import { RuleSnapshot } from './snapshot.js';

let nextId = 1;
function rule(over: Partial<Rule>): Rule {
  return {
    id: nextId++, name: 'r', pattern: 'x', severity: 'warn', source: null, overrides: null, std: 'both',
    cooldown_s: 0, enabled: true, created: 0, updated: 0, ...over,
  };
}

function hitNames(snap: RuleSnapshot, source: string, line: string): string[] {
  const m = snap.forSource(source);
  if (!m.set) return [];
  return m.set.match(Buffer.from(line)).map((i) => m.rules[i]!.name).sort();
}

describe('RuleSnapshot', () => {
  it('captures compile errors, drops those rules, and keeps the rest working', () => {
    const good = rule({ name: 'good', pattern: 'timeout' });
    const bad = rule({ name: 'bad', pattern: 'a(?=b)' });
    const bad2 = rule({ name: 'bad2', pattern: '(x', source: 'app' });
    const snap = RuleSnapshot.build([good, bad, bad2], 1);
    expect(snap.compileErrors.map((e) => [e.rule_id, e.name])).toEqual([[bad.id, 'bad'], [bad2.id, 'bad2']]);
    expect(snap.compileErrors[0]!.error).toMatch(/invalid perl operator/);
    expect(snap.ruleCount).toBe(1);
    expect(hitNames(snap, 'app', 'read timeout ab')).toEqual(['good']);
  });

  it('builds one Set per scoped source with indices aligned to rules', () => {
    const g = rule({ name: 'g', pattern: '(?i)error' });
    const gRepl = rule({ name: 'g-app', pattern: 'FATAL', source: 'app', overrides: g.id });
    const own = rule({ name: 'own', pattern: 'panic: (?P<what>.+)', source: 'app', cooldown_s: 30 });
    const snap = RuleSnapshot.build([g, gRepl, own], 7);
    expect(snap.version).toBe(7);
    expect(snap.maxCooldownMs).toBe(30_000);
    expect(hitNames(snap, 'app', 'Error: FATAL panic: x')).toEqual(['g-app', 'own']);
    expect(hitNames(snap, 'other', 'Error: FATAL panic: x')).toEqual(['g']);
    expect(hitNames(snap, 'other', 'all fine')).toEqual([]);
    expect(Object.isFrozen(snap)).toBe(true);
  });

  it('an empty rule list gives no Set at all', () => {
    const snap = RuleSnapshot.build([rule({ enabled: false })], 1);
    expect(snap.forSource('x').set).toBeNull();
  });
});
