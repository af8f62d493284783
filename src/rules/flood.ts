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
