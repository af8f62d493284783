/**
 * An immutable, compiled view of all rules: per source, one RE2.Set plus the
 * rules in Set order. The engine holds one snapshot and swaps it in a single
 * assignment; a batch being matched keeps the snapshot it started with.
 * Patterns that no longer compile are left out and listed in `compileErrors`.
 */
import RE2 from 're2';
import type { Rule, Severity, StdSelector } from '../store/types.js';
import { compilePattern, hasGroups } from './compile.js';
import { effectiveRules, scopedSources } from './effective.js';

export interface CompiledRule {
  readonly id: number;
  readonly name: string;
  readonly pattern: string;
  readonly severity: Severity;
  readonly std: StdSelector;
  readonly cooldownMs: number;
  readonly re: RE2;
  /** False when the pattern has no groups: a Set hit is then the whole answer (captures {}). */
  readonly captures: boolean;
}

export interface SourceMatcher {
  /** null when no rule applies. */
  readonly set: InstanceType<typeof RE2.Set> | null;
  /** Same order as the Set's pattern indices. */
  readonly rules: readonly CompiledRule[];
}

export interface CompileError {
  rule_id: number;
  name: string;
  pattern: string;
  error: string;
}

/**
 * The first pass: indices (into `m.rules`) of the rules whose pattern occurs
 * in `bytes`, or null. `test` first because most lines hit nothing and it
 * allocates no array.
 */
export function setPass(m: SourceMatcher, bytes: Buffer): number[] | null {
  const set = m.set;
  if (set === null || !set.test(bytes)) return null;
  return set.match(bytes);
}

const EMPTY: SourceMatcher = Object.freeze({ set: null, rules: Object.freeze([]) as readonly CompiledRule[] });

export class RuleSnapshot {
  readonly version: number;
  readonly builtAt: number;
  readonly compileErrors: readonly CompileError[];
  readonly maxCooldownMs: number;
  readonly ruleCount: number;
  readonly #globals: SourceMatcher;
  readonly #bySource: ReadonlyMap<string, SourceMatcher>;

  private constructor(version: number, globals: SourceMatcher, bySource: Map<string, SourceMatcher>, errors: CompileError[], maxCooldownMs: number, ruleCount: number) {
    this.version = version;
    this.builtAt = Date.now();
    this.#globals = globals;
    this.#bySource = bySource;
    this.compileErrors = Object.freeze(errors);
    this.maxCooldownMs = maxCooldownMs;
    this.ruleCount = ruleCount;
    Object.freeze(this);
  }

  static empty(): RuleSnapshot {
    return new RuleSnapshot(0, EMPTY, new Map(), [], 0, 0);
  }

  static build(rules: readonly Rule[], version: number): RuleSnapshot {
    const compiled = new Map<number, CompiledRule>();
    const errors: CompileError[] = [];
    let maxCooldownMs = 0;
    for (const r of rules) {
      if (!r.enabled) continue;
      const c = compilePattern(r.pattern);
      if (!c.ok) {
        errors.push({ rule_id: r.id, name: r.name, pattern: r.pattern, error: c.error });
        continue;
      }
      const cooldownMs = Math.max(0, r.cooldown_s) * 1000;
      maxCooldownMs = Math.max(maxCooldownMs, cooldownMs);
      compiled.set(r.id, Object.freeze({ id: r.id, name: r.name, pattern: r.pattern, severity: r.severity, std: r.std, cooldownMs, re: c.re, captures: hasGroups(c.re) }));
    }
    const matcher = (eff: Rule[]): SourceMatcher => {
      const list: CompiledRule[] = [];
      for (const r of eff) {
        const c = compiled.get(r.id);
        if (c) list.push(c);
      }
      if (list.length === 0) return EMPTY;
      return Object.freeze({ set: new RE2.Set(list.map((c) => c.re)), rules: Object.freeze(list) });
    };
    const globals = matcher(effectiveRules(rules, '\u0000no source\u0000'));
    const bySource = new Map<string, SourceMatcher>();
    for (const s of scopedSources(rules)) bySource.set(s, matcher(effectiveRules(rules, s)));
    return new RuleSnapshot(version, globals, bySource, errors, maxCooldownMs, compiled.size);
  }

  /** The compiled effective set for records of `source`. */
  forSource(source: string): SourceMatcher {
    return this.#bySource.get(source) ?? this.#globals;
  }

  get sourceCount(): number {
    return this.#bySource.size;
  }
}
