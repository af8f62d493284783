/**
 * PATCH semantics shared by every store: a partial update keeps what the
 * patch leaves out (undefined), and a trigger's filter is merged key by key.
 */
import type { Rule, RulePatch, Trigger, TriggerPatch } from './types.js';

export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export function patchedRule(prev: Rule, patch: RulePatch, now = Date.now()): Rule {
  return { ...prev, ...stripUndefined(patch), id: prev.id, updated: now };
}

export function patchedTrigger(prev: Trigger, patch: TriggerPatch, now = Date.now()): Trigger {
  const { filter, ...rest } = patch;
  return { ...prev, ...stripUndefined(rest), filter: { ...prev.filter, ...stripUndefined(filter ?? {}) }, updated: now };
}
