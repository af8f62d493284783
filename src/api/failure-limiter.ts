/**
 * Slow-down of token guessing: wrong tokens are counted per address in fixed
 * windows, and past `max` in a window the address's wrong tokens are answered
 * 429 with Retry-After. Only failures are ever counted or refused: a correct
 * token is never looked up here, so no number of wrong tokens from a shared
 * address (every user behind one reverse proxy) can lock the admin out.
 *
 * The table is bounded: past `maxTracked` addresses, expired windows are swept
 * and then the least recently failing addresses forgotten (a Map keeps
 * insertion order; an address is re-inserted on each failure), so a flood of
 * spoofed or distinct addresses costs bounded memory.
 */

export interface FailureLimiterOptions {
  /** Wrong tokens per address per window before 429 (default 10). */
  max?: number;
  /** Window in ms (default 60 s). */
  windowMs?: number;
  /** Addresses tracked at most (default 10,000). */
  maxTracked?: number;
  now?: () => number;
}

interface Window {
  count: number;
  start: number;
}

export class FailureLimiter {
  readonly max: number;
  readonly windowMs: number;
  readonly maxTracked: number;
  readonly #now: () => number;
  #m = new Map<string, Window>();
  /** Addresses forgotten to keep the table bounded. */
  evicted = 0;

  constructor(o: FailureLimiterOptions = {}) {
    this.max = o.max ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxTracked = o.maxTracked ?? 10_000;
    this.#now = o.now ?? Date.now;
  }

  get tracked(): number {
    return this.#m.size;
  }

  /**
   * Count one wrong token from `addr`. Returns 0 while the address is within
   * its allowance, else the ms until its window ends (answer 429).
   */
  fail(addr: string): number {
    const now = this.#now();
    let w = this.#m.get(addr);
    if (w && now - w.start >= this.windowMs) w = undefined;
    if (!w) {
      w = { count: 0, start: now };
      if (!this.#m.has(addr) && this.#m.size >= this.maxTracked) this.#makeRoom(now);
    }
    w.count++;
    this.#m.delete(addr); // re-insert: the Map's order is least recently failing first
    this.#m.set(addr, w);
    return w.count > this.max ? this.windowMs - (now - w.start) : 0;
  }

  #makeRoom(now: number): void {
    for (const [k, w] of this.#m) if (now - w.start >= this.windowMs) this.#m.delete(k);
    for (const k of this.#m.keys()) {
      if (this.#m.size < this.maxTracked) break;
      this.#m.delete(k);
      this.evicted++;
    }
  }
}
