/**
 * Flood control: a cooldown per (rule, source instance) and a token bucket per
 * source instance. Checked in that order: a hit inside its cooldown does not
 * spend a token; a hit refused by the bucket does not start a cooldown.
 * Time is passed in (epoch ms) so the engine reads the clock once per batch
 * and tests control it.
 *
 * Memory stays bounded by `sweep`: cooldown entries older than the longest
 * cooldown and buckets that have refilled completely carry no information and
 * are removed (so containers that come and go do not accumulate state).
 */

import type { BucketRow, FloodCandidate, FloodDecision, FloodState, RuleStateRow } from '../store/types.js';

export const VERDICT = { FIRE: 0, COOLDOWN: 1, BUCKET: 2 } as const;
export type Verdict = (typeof VERDICT)[keyof typeof VERDICT];

interface Bucket {
  tokens: number;
  last: number;
}

export class TokenBuckets {
  readonly capacity: number;
  readonly windowMs: number;
  readonly #perMs: number;
  #buckets = new Map<string, Bucket>();

  constructor(capacity: number, windowMs: number) {
    this.capacity = capacity;
    this.windowMs = Math.max(1, windowMs);
    this.#perMs = capacity / this.windowMs;
  }

  #refill(b: Bucket, now: number): void {
    if (now > b.last) {
      b.tokens = Math.min(this.capacity, b.tokens + (now - b.last) * this.#perMs);
      b.last = now;
    }
  }

  /** Take one token for `key`; false when the bucket is empty. */
  take(key: string, now: number): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      b = { tokens: this.capacity, last: now };
      this.#buckets.set(key, b);
    } else {
      this.#refill(b, now);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Set a bucket as another process left it (shared flood control, arbitrate below). */
  seed(key: string, tokens: number, last: number): void {
    this.#buckets.set(key, { tokens, last });
  }

  /** A bucket's state (undefined: never taken from, i.e. full). */
  row(key: string): { tokens: number; last: number } | undefined {
    const b = this.#buckets.get(key);
    return b && { tokens: b.tokens, last: b.last };
  }

  /** When a bucket left with `tokens` at `last` has a whole token again (epoch ms). */
  refilledAt(tokens: number, last: number): number {
    return tokens >= 1 ? last : last + Math.ceil((1 - tokens) / this.#perMs);
  }

  sweep(now: number): void {
    for (const [k, b] of this.#buckets) {
      this.#refill(b, now);
      if (b.tokens >= this.capacity) this.#buckets.delete(k);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}

export class FloodControl {
  readonly buckets: TokenBuckets;
  /** `${ruleId}\0${instance}` -> last fired (epoch ms). */
  #lastFired = new Map<string, number>();

  constructor(bucketCapacity: number, bucketWindowMs: number) {
    this.buckets = new TokenBuckets(bucketCapacity, bucketWindowMs);
  }

  static key(ruleId: number, instance: string): string {
    return ruleId + '\u0000' + instance;
  }

  check(ruleId: number, cooldownMs: number, instance: string, now: number): Verdict {
    const key = FloodControl.key(ruleId, instance);
    if (cooldownMs > 0) {
      const last = this.#lastFired.get(key);
      if (last !== undefined && now - last < cooldownMs) return VERDICT.COOLDOWN;
    }
    if (!this.buckets.take(instance, now)) return VERDICT.BUCKET;
    if (cooldownMs > 0) this.#lastFired.set(key, now);
    return VERDICT.FIRE;
  }

  /** Restore persisted cooldown state (keeps the newer time on conflict). */
  restore(ruleId: number, instance: string, lastFired: number): void {
    const key = FloodControl.key(ruleId, instance);
    const cur = this.#lastFired.get(key);
    if (cur === undefined || cur < lastFired) this.#lastFired.set(key, lastFired);
  }

  /** A rule's last fire for one instance, if known. */
  lastFired(ruleId: number, instance: string): number | undefined {
    return this.#lastFired.get(FloodControl.key(ruleId, instance));
  }

  /** Forget a rule's cooldowns (it was deleted or changed). */
  forgetRule(ruleId: number): void {
    const prefix = ruleId + '\u0000';
    for (const k of this.#lastFired.keys()) if (k.startsWith(prefix)) this.#lastFired.delete(k);
  }

  sweep(now: number, maxCooldownMs: number): void {
    for (const [k, t] of this.#lastFired) if (now - t >= maxCooldownMs) this.#lastFired.delete(k);
    this.buckets.sweep(now);
  }

  get cooldownEntries(): number {
    return this.#lastFired.size;
  }
}

// ---- shared flood control ----------------------------------------------------
//
// Processes that share a store (servers of a cluster on one PostgreSQL
// database) decide flood control together: the store locks the state of a
// slice's candidates, `arbitrate` decides them on it with the same rules as
// FloodControl.check, and the store writes the result and the events that
// fire in the same transaction (docs/deployment.md says why there and not in
// a JetStream key-value bucket).

/** The store holds the rule's event for the candidate's record already (FloodState.repeated): no token, no cooldown. */
export const REPEAT = 3;
export type SharedVerdict = Verdict | typeof REPEAT;

/** Decide `cands` in order on the shared `state`, as one FloodControl would have. */
export function arbitrate(cands: readonly FloodCandidate[], state: FloodState, capacity: number, windowMs: number, now: number): FloodDecision {
  // (`state` holds the rows of the candidates' keys only; a missing one: never fired, bucket full)
  const fc = new FloodControl(capacity, windowMs);
  for (const r of state.cooldowns) fc.restore(r.rule_id, r.instance, r.last_fired);
  for (const b of state.buckets) fc.buckets.seed(b.instance, b.tokens, b.last);
  const verdicts: SharedVerdict[] = [];
  const started = new Map<string, RuleStateRow>();
  const taken = new Set<string>();
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i]!;
    if (state.repeated[i]) {
      verdicts.push(REPEAT);
      continue;
    }
    const v = fc.check(c.rule_id, c.cooldownMs, c.instance, now);
    verdicts.push(v);
    if (v === VERDICT.COOLDOWN) continue;
    taken.add(c.instance);
    if (v === VERDICT.FIRE && c.cooldownMs > 0) started.set(FloodControl.key(c.rule_id, c.instance), { rule_id: c.rule_id, instance: c.instance, last_fired: now });
  }
  const buckets: BucketRow[] = [];
  for (const instance of taken) buckets.push({ instance, ...fc.buckets.row(instance)! });
  return { fire: verdicts.map((v) => v === VERDICT.FIRE), verdicts, cooldowns: [...started.values()], buckets };
}

/**
 * What a process sharing its flood state knows locally, so that most hits
 * need no store round trip: a cooldown it saw started (by itself or another
 * process) holds for every process, and a bucket seen empty stays empty until
 * it refills (nobody adds tokens faster). Everything else is a candidate.
 */
export class FloodCache {
  readonly #known: FloodControl;
  /** instance -> when its bucket has a token again (epoch ms). */
  readonly #emptyUntil = new Map<string, number>();

  constructor(bucketCapacity: number, bucketWindowMs: number) {
    this.#known = new FloodControl(bucketCapacity, bucketWindowMs);
  }

  /** COOLDOWN or BUCKET when local knowledge settles it; FIRE: a candidate for arbitrate. */
  precheck(ruleId: number, cooldownMs: number, instance: string, now: number): Verdict {
    if (cooldownMs > 0) {
      const last = this.#known.lastFired(ruleId, instance);
      if (last !== undefined && now - last < cooldownMs) return VERDICT.COOLDOWN;
    }
    const until = this.#emptyUntil.get(instance);
    if (until !== undefined && now < until) return VERDICT.BUCKET;
    return VERDICT.FIRE;
  }

  /** Learn from a decision and the state it was made on. */
  learn(state: FloodState, d: FloodDecision): void {
    for (const r of state.cooldowns) this.#known.restore(r.rule_id, r.instance, r.last_fired);
    for (const r of d.cooldowns) this.#known.restore(r.rule_id, r.instance, r.last_fired);
    for (const b of d.buckets) {
      if (b.tokens >= 1) this.#emptyUntil.delete(b.instance);
      else this.#emptyUntil.set(b.instance, this.#known.buckets.refilledAt(b.tokens, b.last));
    }
  }

  restore(ruleId: number, instance: string, lastFired: number): void {
    this.#known.restore(ruleId, instance, lastFired);
  }

  forgetRule(ruleId: number): void {
    this.#known.forgetRule(ruleId);
  }

  sweep(now: number, maxCooldownMs: number): void {
    this.#known.sweep(now, maxCooldownMs);
    for (const [k, t] of this.#emptyUntil) if (t <= now) this.#emptyUntil.delete(k);
  }

  get cooldownEntries(): number {
    return this.#known.cooldownEntries;
  }

  get buckets(): number {
    return this.#emptyUntil.size;
  }
}
