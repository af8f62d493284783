/**
 * The Store seam (ARCHITECTURE.md §1): one interface over rules, triggers,
 * events, deliveries and rule state, implemented by SQLite now (./sqlite) and
 * PostgreSQL later. Every method is async so a networked implementation fits
 * the same shape; test/contract/store.contract.ts runs against each.
 *
 * Semantics every implementation keeps:
 * - rule scope is validated here (an override names an existing global, at
 *   most one override per (source, global)); violations throw SluiceError
 *   RULE_SCOPE / RULE_CONFLICT;
 * - deleting a global rule deletes its overrides and their rule state in the
 *   same transaction;
 * - events come back newest first with an opaque cursor;
 * - pruning deletes the oldest rows first.
 */
import type {
  Delivery, EventPage, EventQuery, FloodCandidate, FloodDecision, FloodState, NewDelivery, NewEvent, PruneLimits, Rule, RuleInput, RulePatch,
  RuleStateRow, SluiceEvent, Trigger, TriggerInput, TriggerPatch,
} from './types.js';

export interface Store {
  readonly kind: string;

  listRules(): Promise<Rule[]>;
  getRule(id: number): Promise<Rule | undefined>;
  createRule(input: RuleInput): Promise<Rule>;
  /** Partial update; throws RULE_NOT_FOUND. Scope changes are validated like a create. */
  updateRule(id: number, patch: RulePatch): Promise<Rule>;
  /** Deletes the rule, and its overrides when it is a global; returns the ids removed. Throws RULE_NOT_FOUND. */
  deleteRule(id: number): Promise<number[]>;

  listTriggers(): Promise<Trigger[]>;
  getTrigger(id: number): Promise<Trigger | undefined>;
  createTrigger(input: TriggerInput): Promise<Trigger>;
  updateTrigger(id: number, patch: TriggerPatch): Promise<Trigger>;
  deleteTrigger(id: number): Promise<void>;

  /** Insert a batch of events in one transaction; returns them with ids, in order. */
  /** The events stored, in order; one whose rule already has an event for its `record_key` is left out. */
  insertEvents(events: NewEvent[]): Promise<SluiceEvent[]>;
  /**
   * Stores shared by several processes (PostgreSQL) only: flood control
   * decided on the state they all see. In one transaction: lock the
   * candidates' source instances, read their cooldown and bucket rows and
   * which candidates' records have their rule's event already, call `decide`,
   * write the state it returns and insert the events it fires (events[i] is
   * cands[i]'s). A process that dies before the commit has claimed nothing.
   * `repeats`: the stored events of the candidates that were repeats.
   */
  insertEventsShared?(
    events: NewEvent[], cands: FloodCandidate[], decide: (s: FloodState) => FloodDecision,
  ): Promise<{ stored: SluiceEvent[]; repeats: SluiceEvent[]; state: FloodState; decision: FloodDecision }>;
  queryEvents(q: EventQuery): Promise<EventPage>;
  countEvents(): Promise<number>;
  pruneEvents(limits: PruneLimits): Promise<number>;

  insertDelivery(d: NewDelivery): Promise<Delivery>;
  /** Newest first. */
  listDeliveries(triggerId: number, limit?: number): Promise<Delivery[]>;
  pruneDeliveries(limits: PruneLimits): Promise<number>;
  /** A delivery with this id is logged with result "ok" (a server about to make it again need not). */
  deliveredOk(deliveryId: string): Promise<boolean>;

  loadRuleState(): Promise<RuleStateRow[]>;
  /** Upsert rows (rule_id, instance) -> last_fired. */
  saveRuleState(rows: RuleStateRow[]): Promise<void>;
  /** Delete state rows last fired before `before` (epoch ms), and shared token buckets last taken from before `bucketsBefore` (full again). */
  pruneRuleState(before: number, bucketsBefore?: number): Promise<number>;

  close(): Promise<void>;
}
