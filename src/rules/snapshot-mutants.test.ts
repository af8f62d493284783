/**
 * RuleSnapshot and the Set pass at their edges (found by mutation testing,
 * `npm run mutate`): what each compiled rule carries, cooldowns never
 * negative, disabled rules never compiled (so never a compile error), the
 * scoped-source count, the empty snapshot, and setPass's null answers.
 */
import { describe, expect, it } from 'vitest';
import type { Rule } from '../store/types.js';
import { captures, compilePattern, groupNames } from './compile.js';
import { effectiveRules, scopedSources } from './effective.js';
import { RuleSnapshot, setPass } from './snapshot.js';

let nextId = 1;
function rule(over: Partial<Rule>): Rule {
  return {
    id: nextId++, name: 'r', pattern: 'x', severity: 'warn', source: null, overrides: null, std: 'both',
    cooldown_s: 0, enabled: true, created: 0, updated: 0, ...over,
  };
}

describe('RuleSnapshot.build', () => {
  it('each compiled rule carries its fields, its cooldown in ms and whether it has groups; it is frozen', () => {
    const a = rule({ name: 'a', pattern: 'took (?P<ms>\\d+)ms', severity: 'critical', std: 'stderr', cooldown_s: 2.5 });
    const b = rule({ name: 'b', pattern: 'timeout', severity: 'info', cooldown_s: -5 });
    const before = Date.now();
    const snap = RuleSnapshot.build([a, b], 3);
    expect(snap.builtAt).toBeGreaterThanOrEqual(before);
    expect(snap.builtAt).toBeLessThanOrEqual(Date.now());
    const m = snap.forSource('any');
    expect(m.rules.map((r) => ({ id: r.id, name: r.name, pattern: r.pattern, severity: r.severity, std: r.std, cooldownMs: r.cooldownMs, captures: r.captures }))).toEqual([
      { id: a.id, name: 'a', pattern: a.pattern, severity: 'critical', std: 'stderr', cooldownMs: 2500, captures: true },
      { id: b.id, name: 'b', pattern: 'timeout', severity: 'info', cooldownMs: 0, captures: false, std: 'both' },
    ]);
    expect(m.rules[0]!.re.source).toBe(a.pattern);
    expect(Object.isFrozen(m.rules[0])).toBe(true);
    expect(Object.isFrozen(m.rules)).toBe(true);
    expect(Object.isFrozen(snap.compileErrors)).toBe(true);
    // a negative cooldown counts as 0, also for the longest cooldown
    expect(snap.maxCooldownMs).toBe(2500);
    expect(RuleSnapshot.build([b], 1).maxCooldownMs).toBe(0);
    expect(snap.ruleCount).toBe(2);
  });

  it('a disabled rule is not compiled: a bad pattern in it is no compile error, and it is not counted', () => {
    const snap = RuleSnapshot.build([rule({ name: 'off', pattern: '(', enabled: false }), rule({ name: 'on', pattern: 'ok' })], 1);
    expect(snap.compileErrors).toEqual([]);
    expect(snap.ruleCount).toBe(1);
  });

  it('a compile error names the rule, its pattern and RE2\'s message', () => {
    const bad = rule({ name: 'bad', pattern: '(x' });
    expect(RuleSnapshot.build([bad], 1).compileErrors).toEqual([{ rule_id: bad.id, name: 'bad', pattern: '(x', error: expect.stringMatching(/missing \)/) }]);
  });

  it('counts the sources with scoped rules; a source whose rules all fail to compile gets no Set', () => {
    const g = rule({ name: 'g', pattern: 'g' });
    const onlyBad = rule({ name: 'bad', pattern: '(', source: 'db' });
    const disableG = rule({ name: 'no-g', source: 'db', overrides: g.id, enabled: false });
    const webOwn = rule({ name: 'w', pattern: 'w', source: 'web' });
    const snap = RuleSnapshot.build([g, onlyBad, disableG, webOwn], 1);
    expect(snap.sourceCount).toBe(2);
    expect(snap.forSource('db').set).toBeNull();
    expect(snap.forSource('db').rules).toEqual([]);
    expect(snap.forSource('web').rules.map((r) => r.name)).toEqual(['g', 'w']);
    expect(snap.forSource('other').rules.map((r) => r.name)).toEqual(['g']);
  });
});

describe('RuleSnapshot.empty', () => {
  it('version 0, no rules, no errors, no scoped source, no Set', () => {
    const e = RuleSnapshot.empty();
    expect({ version: e.version, ruleCount: e.ruleCount, maxCooldownMs: e.maxCooldownMs, sourceCount: e.sourceCount, compileErrors: e.compileErrors }).toEqual({
      version: 0, ruleCount: 0, maxCooldownMs: 0, sourceCount: 0, compileErrors: [],
    });
    expect(e.forSource('x')).toEqual({ set: null, rules: [] });
    expect(Object.isFrozen(e)).toBe(true);
  });
});

describe('setPass', () => {
  it('null without a Set or without a hit, else the indices of the rules that hit', () => {
    const snap = RuleSnapshot.build([rule({ name: 'a', pattern: 'alpha' }), rule({ name: 'b', pattern: 'beta' })], 1);
    const m = snap.forSource('x');
    expect(setPass(m, Buffer.from('gamma'))).toBeNull();
    expect(setPass(m, Buffer.from('beta'))).toEqual([1]);
    expect(setPass(m, Buffer.from('alpha beta'))!.sort()).toEqual([0, 1]);
    expect(setPass(RuleSnapshot.empty().forSource('x'), Buffer.from('alpha'))).toBeNull();
  });
});

describe('effectiveRules, more edges', () => {
  it('an override in another source, or a disabled source rule, changes nothing here', () => {
    const g = rule({ name: 'g' });
    const webRepl = rule({ name: 'g-web', source: 'web', overrides: g.id });
    const offDisable = rule({ name: 'off-disable', source: 'app', overrides: g.id, enabled: false });
    expect(effectiveRules([g, webRepl], 'app').map((r) => r.name)).toEqual(['g']);
    // a disabling override removes the global even though it is itself disabled (that is how it disables)
    expect(effectiveRules([g, offDisable], 'app').map((r) => r.name)).toEqual([]);
    expect(effectiveRules([g, webRepl], 'web').map((r) => r.name)).toEqual(['g-web']);
    expect(scopedSources([g])).toEqual([]);
    expect(scopedSources([webRepl, rule({ source: 'web' })])).toEqual(['web']);
  });
});

describe('groupNames, a class with a parenthesis inside', () => {
  it('a ( after the first character of a class opens no group', () => {
    const c = compilePattern('[x(](?P<n>a)');
    if (!c.ok) throw new Error(c.error);
    expect(groupNames(c.re)).toEqual(['n']);
    expect(captures(c.re, '(a')).toEqual({ n: 'a' });
  });
});
