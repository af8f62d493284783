/**
 * The transforms that keep state per key (dedupe, throttle). They run on the
 * main thread when a batch commits, in each source's order, so one state per
 * source sees every record once (a parse thread sees only the batches it
 * happens to get). State is bounded (`max_keys`, least recently used
 * forgotten and counted) and can be saved and restored with the source.
 */
import type { LogRecord } from '../core/record.js';
import type { DedupeConfig, ThrottleConfig } from './config.js';
import { Lru } from './lru.js';
import { keyOf, textGetter } from './path.js';

/** What a keyed transform reports besides its drops. */
export interface KeyedCounters {
  evicted: number;
}

/** A transform with state: `pass` answers whether a record goes on. */
export interface Keyed {
  readonly reason: 'dedupe' | 'throttle';
  pass(r: LogRecord): boolean;
  readonly counters: KeyedCounters;
  /** Keys held. */
  readonly size: number;
  /** Its state as JSON-able data (oldest key first), and back. */
  save(): unknown;
  load(state: unknown): void;
}

/**
 * The first record of a key passes and opens a window of `window` ms of
 * event time; repeats inside it are dropped. A record out of order (older
 * than the window's first) counts as inside when it is within `window` of it.
 */
export class Dedupe implements Keyed {
  readonly reason = 'dedupe';
  readonly counters: KeyedCounters = { evicted: 0 };
  readonly #keys: ((r: LogRecord) => string | undefined)[];
  readonly #window: number;
  readonly #seen: Lru<number>;
  readonly #only: ((r: LogRecord) => boolean) | undefined;

  constructor(c: DedupeConfig) {
    this.#keys = c.keys.map(textGetter);
    this.#window = c.window;
    this.#seen = new Lru(c.max_keys);
    if (c.only) {
      const get = textGetter(c.only.field);
      const set = new Set(c.only.in);
      this.#only = (r) => {
        const v = get(r);
        return v !== undefined && set.has(v);
      };
    }
  }

  get size(): number {
    return this.#seen.size;
  }

  pass(r: LogRecord): boolean {
    if (this.#only !== undefined && !this.#only(r)) return true;
    const k = keyOf(this.#keys, r);
    const first = this.#seen.get(k);
    if (first !== undefined && Math.abs(r.time - first) < this.#window) return false;
    if (this.#seen.set(k, r.time) !== undefined) this.counters.evicted++;
    return true;
  }

  save(): unknown {
    return [...this.#seen.entries()];
  }

  load(state: unknown): void {
    if (!Array.isArray(state)) return;
    for (const e of state) if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number') this.#seen.set(e[0], e[1]);
  }
}

/** A token bucket per key over arrival time: `rate` records per `per` ms, bursts up to `rate`. */
export class Throttle implements Keyed {
  readonly reason = 'throttle';
  readonly counters: KeyedCounters = { evicted: 0 };
  readonly #keys: ((r: LogRecord) => string | undefined)[];
  readonly #rate: number;
  readonly #perMs: number;
  /** key -> [tokens, at (epoch ms)] */
  readonly #buckets: Lru<[number, number]>;

  constructor(c: ThrottleConfig) {
    this.#keys = c.keys.map(textGetter);
    this.#rate = c.rate;
    this.#perMs = c.per;
    this.#buckets = new Lru(c.max_keys);
  }

  get size(): number {
    return this.#buckets.size;
  }

  pass(r: LogRecord): boolean {
    const k = keyOf(this.#keys, r);
    const now = r.received;
    let b = this.#buckets.get(k);
    if (b === undefined) {
      b = [this.#rate, now];
      if (this.#buckets.set(k, b) !== undefined) this.counters.evicted++;
    } else if (now > b[1]) {
      b[0] = Math.min(this.#rate, b[0] + ((now - b[1]) * this.#rate) / this.#perMs);
      b[1] = now;
    }
    if (b[0] < 1) return false;
    b[0] -= 1;
    return true;
  }

  save(): unknown {
    return [...this.#buckets.entries()];
  }

  load(state: unknown): void {
    if (!Array.isArray(state)) return;
    for (const e of state) {
      if (Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]) && typeof e[1][0] === 'number' && typeof e[1][1] === 'number') this.#buckets.set(e[0], [e[1][0], e[1][1]]);
    }
  }
}
