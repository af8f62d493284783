/**
 * Trigger filters: severity set AND source set AND message RE2; an empty set
 * or a null regex matches everything. Compiled once per dispatcher reload.
 */
import type RE2 from 're2';
import { compilePattern } from '../rules/compile.js';
import type { SluiceEvent, Trigger, TriggerFilter } from '../store/types.js';

export interface CompiledFilter {
  severity: ReadonlySet<string> | null;
  source: ReadonlySet<string> | null;
  re: RE2 | null;
}

export type FilterCompile = { ok: true; filter: CompiledFilter } | { ok: false; error: string };

export function compileFilter(f: TriggerFilter): FilterCompile {
  let re: RE2 | null = null;
  if (f.message_re !== null && f.message_re !== '') {
    const c = compilePattern(f.message_re);
    if (!c.ok) return { ok: false, error: `message_re: ${c.error}` };
    re = c.re;
  }
  return {
    ok: true,
    filter: {
      severity: f.severity.length ? new Set(f.severity) : null,
      source: f.source.length ? new Set(f.source) : null,
      re,
    },
  };
}

export function filterMatches(f: CompiledFilter, e: SluiceEvent): boolean {
  if (f.severity && !f.severity.has(e.severity)) return false;
  if (f.source && !f.source.has(e.source)) return false;
  if (f.re) {
    f.re.lastIndex = 0;
    if (!f.re.test(e.message)) return false;
  }
  return true;
}

export interface ActiveTrigger {
  trigger: Trigger;
  filter: CompiledFilter;
}
