/**
 * The effective rule set of a source: globals, minus the globals this source
 * overrides, plus its enabled replacement overrides, plus its own rules.
 *
 * - A global applies to every source unless disabled (`enabled: false`) or
 *   overridden for that source.
 * - An override with `enabled: false` only removes its global for that source.
 * - An override with `enabled: true` replaces its global for that source (its
 *   own pattern, severity, std and cooldown), even when the global itself is
 *   disabled: the override is the source's explicit choice.
 * - A source-only rule applies to its source when enabled.
 */
import type { Rule } from '../store/types.js';

export function effectiveRules(rules: readonly Rule[], source: string): Rule[] {
  const overridden = new Set<number>();
  for (const r of rules) if (r.source === source && r.overrides !== null) overridden.add(r.overrides);
  const out: Rule[] = [];
  for (const r of rules) {
    if (!r.enabled) continue;
    if (r.source === null) {
      if (!overridden.has(r.id)) out.push(r);
    } else if (r.source === source) {
      out.push(r);
    }
  }
  return out;
}

/** Source names that have scoped rules (and so an effective set differing from the globals). */
export function scopedSources(rules: readonly Rule[]): string[] {
  const s = new Set<string>();
  for (const r of rules) if (r.source !== null) s.add(r.source);
  return [...s];
}
