/**
 * Store rows <-> the store's types, shared by both implementations: they keep
 * the same columns and differ only in how a boolean and a JSON column come
 * back (SQLite: 0/1 and text; PostgreSQL: BOOLEAN and parsed json).
 */
import type { Delivery, Rule, Severity, SluiceEvent, StdSelector, Trigger, TriggerFilter } from './types.js';

export type Row = Record<string, unknown>;

export interface ColumnDecoding {
  bool(v: unknown): boolean;
  json<T>(v: unknown): T;
}

export interface RowMappers {
  rowToRule(r: Row): Rule;
  rowToTrigger(r: Row): Trigger;
  rowToEvent(r: Row): SluiceEvent;
  rowToDelivery(r: Row): Delivery;
}

export function rowMappers(d: ColumnDecoding): RowMappers {
  return {
    rowToRule(r: Row): Rule {
      return {
        id: r.id as number,
        name: r.name as string,
        pattern: r.pattern as string,
        severity: r.severity as Severity,
        source: (r.source as string | null) ?? null,
        overrides: (r.overrides as number | null) ?? null,
        std: r.std as StdSelector,
        cooldown_s: r.cooldown_s as number,
        enabled: d.bool(r.enabled),
        created: r.created as number,
        updated: r.updated as number,
      };
    },

    rowToTrigger(r: Row): Trigger {
      return {
        id: r.id as number,
        name: r.name as string,
        url: r.url as string,
        secret: r.secret as string,
        filter: d.json<TriggerFilter>(r.filter),
        enabled: d.bool(r.enabled),
        created: r.created as number,
        updated: r.updated as number,
      };
    },

    rowToEvent(r: Row): SluiceEvent {
      return {
        id: r.id as number,
        time: r.time as number,
        severity: r.severity as Severity,
        source: r.source as string,
        rule_id: r.rule_id as number,
        rule_name: r.rule_name as string,
        message: r.message as string,
        captures: d.json<Record<string, string>>(r.captures),
        record_seq: r.record_seq as number,
        origin: d.json<Record<string, unknown>>(r.origin),
      };
    },

    rowToDelivery(r: Row): Delivery {
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
        test: d.bool(r.test),
        time: r.time as number,
      };
    },
  };
}
