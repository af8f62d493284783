import { describe, expect, it } from 'vitest';
import type { Rule } from '../store/types.js';
import { effectiveRules, scopedSources } from './effective.js';

let nextId = 1;
function rule(over: Partial<Rule>): Rule {
  return {
    id: nextId++, name: 'r', pattern: 'x', severity: 'warn', source: null, overrides: null, std: 'both',
    cooldown_s: 0, enabled: true, created: 0, updated: 0, ...over,
  };
}

describe('effectiveRules', () => {
  const g1 = rule({ name: 'g1' });
  const g2 = rule({ name: 'g2' });
  const gOff = rule({ name: 'gOff', enabled: false });
  const disableG1ForApp = rule({ name: 'no-g1', source: 'app', overrides: g1.id, enabled: false });
  const replaceG2ForApp = rule({ name: 'g2-app', source: 'app', overrides: g2.id, pattern: 'y' });
  const appOnly = rule({ name: 'app-only', source: 'app' });
  const appOnlyOff = rule({ name: 'app-off', source: 'app', enabled: false });
  const webOnly = rule({ name: 'web-only', source: 'web' });
  const replaceGOffForWeb = rule({ name: 'gOff-web', source: 'web', overrides: gOff.id });
  const all = [g1, g2, gOff, disableG1ForApp, replaceG2ForApp, appOnly, appOnlyOff, webOnly, replaceGOffForWeb];
  const names = (src: string) => effectiveRules(all, src).map((r) => r.name).sort();

  it('a source without scoped rules gets the enabled globals', () => {
    expect(names('db')).toEqual(['g1', 'g2']);
  });

  it('override-disable removes the global; override-replace swaps it; source-only rules are added', () => {
    expect(names('app')).toEqual(['app-only', 'g2-app']);
  });

  it("source-only rules stay in their source; a replacement applies even when its global is disabled", () => {
    expect(names('web')).toEqual(['g1', 'g2', 'gOff-web', 'web-only']);
  });

  it('lists the scoped sources', () => {
    expect(scopedSources(all).sort()).toEqual(['app', 'web']);
  });
});
