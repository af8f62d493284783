/**
 * SQLite rows <-> the store's types, the opaque event cursor, and the
 * translation of user search text into an FTS5 query.
 */
import { SluiceError } from '../../core/errors.js';
import { STORE_ERR } from '../errors.js';
import type { Delivery, Rule, Severity, SluiceEvent, StdSelector, Trigger, TriggerFilter } from '../types.js';

export type Row = Record<string, unknown>;

export function rowToRule(r: Row): Rule {
  return {
    id: r.id as number,
    name: r.name as string,
    pattern: r.pattern as string,
    severity: r.severity as Severity,
    source: (r.source as string | null) ?? null,
    overrides: (r.overrides as number | null) ?? null,
    std: r.std as StdSelector,
    cooldown_s: r.cooldown_s as number,
    enabled: r.enabled === 1,
    created: r.created as number,
    updated: r.updated as number,
  };
}

export function rowToTrigger(r: Row): Trigger {
  return {
    id: r.id as number,
    name: r.name as string,
    url: r.url as string,
    secret: r.secret as string,
    filter: JSON.parse(r.filter as string) as TriggerFilter,
    enabled: r.enabled === 1,
    created: r.created as number,
    updated: r.updated as number,
  };
}

export function rowToEvent(r: Row): SluiceEvent {
  return {
    id: r.id as number,
    time: r.time as number,
    severity: r.severity as Severity,
    source: r.source as string,
    rule_id: r.rule_id as number,
    rule_name: r.rule_name as string,
    message: r.message as string,
    captures: JSON.parse(r.captures as string) as Record<string, string>,
    record_seq: r.record_seq as number,
    origin: JSON.parse(r.origin as string) as Record<string, unknown>,
  };
}

export function rowToDelivery(r: Row): Delivery {
  return {
    id: r.id as number,
    trigger_id: r.trigger_id as number,
    delivery_id: r.delivery_id as string,
    event_id: (r.event_id as number | null) ?? null,
    result: r.result as Delivery['result'],
    status: (r.status as number | null) ?? null,
    latency_ms: (r.latency_ms as number | null) ?? null,
    attempts: r.attempts as number,
    error: (r.error as string | null) ?? null,
    response_snippet: (r.response_snippet as string | null) ?? null,
    test: r.test === 1,
    time: r.time as number,
  };
}

/** Opaque cursor: the id of the last event of a page, base64url so clients do not build them. */
export function encodeCursor(id: number): string {
  return Buffer.from(`e:${id}`).toString('base64url');
}
export function decodeCursor(cursor: string): number {
  const m = /^e:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new SluiceError(STORE_ERR.CURSOR_INVALID);
  return Number(m[1]);
}

/**
 * Turn user text into an FTS5 query: every word quoted (so FTS syntax in the
 * input is inert) and AND-composed. Undefined when the text has no word.
 */
export function ftsQuery(text: string): string | undefined {
  const words = text.match(/[\p{L}\p{N}_]+/gu);
  if (!words || words.length === 0) return undefined;
  return words.slice(0, 32).map((w) => `"${w}"`).join(' ');
}

