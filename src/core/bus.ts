/**
 * The in-process Bus (ARCHITECTURE.md §1): publish/subscribe of events between
 * the rule engine and the trigger dispatcher (and, scaled out, a JetStream
 * implementation of the same interface).
 *
 * `publish` never waits for a subscriber: each subscriber has its own bounded
 * queue drained on a later turn of the event loop, one message at a time
 * (awaiting a handler's promise). A subscriber that falls behind loses its
 * oldest messages, counted as `sluice_dropped_total{stage="bus",reason="slow_subscriber"}`.
 */

export type BusHandler<T> = (msg: T) => void | Promise<void>;

export interface Bus<T> {
  publish(msg: T): void;
  /** Returns the unsubscribe function; messages still queued for it are discarded. */
  subscribe(handler: BusHandler<T>, opts?: { maxQueue?: number }): () => void;
}

export interface InProcessBusOptions {
  /** Per-subscriber queue bound (default 10,000). */
  maxQueue?: number;
  drop?: (stage: string, reason: string, n?: number) => void;
  onError?: (err: unknown) => void;
}

class Subscription<T> {
  #q: (T | undefined)[] = [];
  #head = 0;
  #running = false;
  active = true;

  constructor(
    readonly handler: BusHandler<T>,
    readonly max: number,
    readonly opts: InProcessBusOptions,
  ) {}

  get depth(): number {
    return this.#q.length - this.#head;
  }

  offer(msg: T): void {
    if (this.depth >= this.max) {
      this.#q[this.#head++] = undefined; // drop the oldest
      this.opts.drop?.('bus', 'slow_subscriber', 1);
    }
    this.#q.push(msg);
    if (!this.#running) {
      this.#running = true;
      setImmediate(() => void this.#drain());
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.active && this.#head < this.#q.length) {
        const msg = this.#q[this.#head]!;
        this.#q[this.#head++] = undefined;
        // Compact occasionally instead of shift() per message.
        if (this.#head > 1024 && this.#head * 2 > this.#q.length) {
          this.#q = this.#q.slice(this.#head);
          this.#head = 0;
        }
        try {
          const r = this.handler(msg);
          if (r && typeof (r as Promise<void>).then === 'function') await r;
        } catch (err) {
          this.opts.onError?.(err);
        }
      }
    } finally {
      this.#running = false;
      if (!this.active) {
        this.#q = [];
        this.#head = 0;
      }
    }
  }
}

export class InProcessBus<T> implements Bus<T> {
  #subs = new Set<Subscription<T>>();
  #opts: InProcessBusOptions;

  constructor(opts: InProcessBusOptions = {}) {
    this.#opts = opts;
  }

  publish(msg: T): void {
    for (const s of this.#subs) s.offer(msg);
  }

  subscribe(handler: BusHandler<T>, opts: { maxQueue?: number } = {}): () => void {
    const sub = new Subscription(handler, Math.max(1, opts.maxQueue ?? this.#opts.maxQueue ?? 10_000), this.#opts);
    this.#subs.add(sub);
    return () => {
      sub.active = false;
      this.#subs.delete(sub);
    };
  }

  /** Number of subscribers (for status). */
  get size(): number {
    return this.#subs.size;
  }
}
