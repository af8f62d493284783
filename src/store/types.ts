/**
 * The persisted shapes of issue 3 (rules, triggers, events, deliveries, rule
 * state) as the API and the engines see them. Storage details (column names,
 * JSON encoding) stay inside each Store implementation.
 */

export const SEVERITIES = ['info', 'warn', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STD_SELECTORS = ['both', 'stdout', 'stderr'] as const;
export type StdSelector = (typeof STD_SELECTORS)[number];

/**
 * A scan rule. Scope is given by `source` and `overrides`:
 * - global: `source: null, overrides: null`
 * - per-source override of a global: `source: "app", overrides: <global id>`;
 *   `enabled: false` disables the global for that source, `enabled: true`
 *   replaces it with this rule's pattern / severity / cooldown
 * - source-only: `source: "app", overrides: null`
 */
export interface Rule {
  id: number;
  name: string;
  pattern: string;
  severity: Severity;
  source: string | null;
  overrides: number | null;
  std: StdSelector;
  cooldown_s: number;
  enabled: boolean;
  created: number;
  updated: number;
}

export type RuleInput = Omit<Rule, 'id' | 'created' | 'updated'>;
export type RulePatch = Partial<RuleInput>;

export interface TriggerFilter {
  /** Empty = any severity. */
  severity: Severity[];
  /** Empty = any source. */
  source: string[];
  /** RE2 over the event message; null = any. */
  message_re: string | null;
}

export interface Trigger {
  id: number;
  name: string;
  url: string;
  /** The HMAC key, in clear: the store holds it, the API never shows it. */
  secret: string;
  filter: TriggerFilter;
  enabled: boolean;
  created: number;
  updated: number;
}

export type TriggerInput = Omit<Trigger, 'id' | 'created' | 'updated'>;
export type TriggerPatch = Partial<Omit<TriggerInput, 'filter'>> & { filter?: Partial<TriggerFilter> };

/** A rule hit, as stored and as published on the bus (CONTRACT.md "Event"). */
export interface SluiceEvent {
  id: number;
  /** Epoch ms of the record that hit. */
  time: number;
  severity: Severity;
  source: string;
  rule_id: number;
  rule_name: string;
  message: string;
  captures: Record<string, string>;
  record_seq: number;
  origin: Record<string, unknown>;
}

export type NewEvent = Omit<SluiceEvent, 'id'> & {
  /**
   * The record's identity across a cluster (`<agent id>:<agent seq>`, from a
   * JetStream server's records): a rule's second event for the same record
   * (the record delivered again) is not stored. Absent: always stored. Not
   * part of the stored event's shape.
   */
  record_key?: string;
};

export interface EventQuery {
  severity?: Severity[];
  source?: string[];
  rule_id?: number;
  /** Full-text query over messages (words, AND-composed). */
  q?: string;
  /** Epoch ms bounds on `time`, inclusive `since`, exclusive `until`. */
  since?: number;
  until?: number;
  /** Cursor from a previous page's `next`. */
  before?: string;
  limit?: number;
}

export interface EventPage {
  events: SluiceEvent[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: string | null;
}

export const DELIVERY_RESULTS = ['ok', 'failed', 'dropped'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];

export interface Delivery {
  id: number;
  trigger_id: number;
  delivery_id: string;
  event_id: number | null;
  result: DeliveryResult;
  /** HTTP status of the last attempt; null when none was received. */
  status: number | null;
  latency_ms: number | null;
  attempts: number;
  error: string | null;
  response_snippet: string | null;
  test: boolean;
  time: number;
}

export type NewDelivery = Omit<Delivery, 'id'>;

/** Last time a rule fired for one source instance (cooldowns survive restarts). */
export interface RuleStateRow {
  rule_id: number;
  instance: string;
  last_fired: number;
}

/** A hit that local knowledge lets through, to be decided on the state shared by every process of the store (rules/flood.ts). */
export interface FloodCandidate {
  rule_id: number;
  instance: string;
  cooldownMs: number;
}

/** A token bucket as a process left it. */
export interface BucketRow {
  instance: string;
  tokens: number;
  last: number;
}

/** The locked state of a slice's candidates (rows that do not exist are absent). */
export interface FloodState {
  cooldowns: RuleStateRow[];
  buckets: BucketRow[];
  /** Per candidate: the store has its rule's event for its record already (record_key: a redelivery). */
  repeated: boolean[];
}

export interface FloodDecision {
  /** Per candidate: its event is to be stored. */
  fire: boolean[];
  /** Per candidate, for counting (rules/flood.ts VERDICT and REPEAT). */
  verdicts: number[];
  /** The state to write back: cooldowns started, buckets taken from. */
  cooldowns: RuleStateRow[];
  buckets: BucketRow[];
}

export interface PruneLimits {
  /** Delete rows with time < olderThan (epoch ms). */
  olderThan?: number;
  /** Keep at most this many rows, deleting the oldest first. */
  maxCount?: number;
}
