/**
 * How far the rule engine is done: every record up to `seq` was matched and
 * its events stored (or their store write failed, or the record was dropped
 * at the queue's hard limit: then not stored). Records reach the engine in
 * seq order and are matched in that order, so one mark answers "are this
 * record's events stored?" for any record pushed. A server acknowledges a
 * JetStream message only once its last record's events are stored
 * (sources/nats/source.ts), so a server that dies before leaves the message
 * to another.
 */
interface Waiter {
  seq: number;
  resolve: (stored: boolean) => void;
}

export class StoredMark {
  #mark = 0;
  /** Ranges whose events were not stored (a store error, an overflow drop), until every waiter in them heard. */
  #failed: [number, number][] = [];
  #waiters: Waiter[] = [];

  get seq(): number {
    return this.#mark;
  }

  /** Records `from`..`to` will not have their events stored. */
  fail(from: number, to: number): void {
    if (to >= from) this.#failed.push([from, to]);
  }

  /** Every record up to `seq` is done. */
  advance(seq: number): void {
    if (seq <= this.#mark) return;
    this.#mark = seq;
    if (this.#waiters.length > 0) {
      const keep: Waiter[] = [];
      for (const w of this.#waiters) {
        if (w.seq > seq) keep.push(w);
        else w.resolve(!this.#isFailed(w.seq));
      }
      this.#waiters = keep;
    }
    // a range wholly behind the mark can concern no waiter any more (they ask right after their push)
    if (this.#failed.length > 0) this.#failed = this.#failed.filter(([, to]) => to > seq);
  }

  /** Resolves true once record `seq`'s events are stored, false when they will not be. Ask right after the record's push. */
  when(seq: number): Promise<boolean> {
    if (seq <= this.#mark) return Promise.resolve(!this.#isFailed(seq));
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  #isFailed(seq: number): boolean {
    return this.#failed.some(([a, b]) => seq >= a && seq <= b);
  }
}
