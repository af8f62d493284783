/**
 * The JetStream messages this server has taken, by stream sequence, so a
 * message delivered to it again is not pushed again. JetStream redelivers a
 * message whose acknowledgement it did not record: the ack was lost when the
 * consumer's leader changed (a NATS node died), or `ack_wait` ran out while
 * the server waited for the store; and a NATS stopped before it kept the
 * consumer's acks delivers such messages again as first deliveries (every
 * delivery is looked up, not only those JetStream counts as redelivered). Its records are in this server's hub
 * already: a second push would show them twice and make their events again.
 * So a message seen before is answered as the first delivery was (acked
 * when that one was, NAKed when that one's events could not be stored) and
 * counted. Only this server's memory: a redelivery to another server is not
 * caught here (docs/deployment.md).
 *
 * Bounded: the oldest entries go past MAX_ENTRIES (a redelivery comes within
 * ack_wait or a leader election, long before).
 */
const MAX_ENTRIES = 100_000;

export interface AckTarget {
  ack(): void;
  nak(millis?: number): void;
}

export class HandledMessages {
  /** Stream sequence -> acked (true), or the pending answer of its events' store write. */
  readonly #seen = new Map<number, true | Promise<boolean>>();
  readonly #max: number;

  constructor(max = MAX_ENTRIES) {
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Taken before? Then `m` is answered like the first delivery and true is returned. */
  answerRepeat(seq: number, m: AckTarget, retryMs: number): boolean {
    const prior = this.#seen.get(seq);
    if (prior === undefined) return false;
    if (prior === true) m.ack();
    else void prior.then((ok) => (ok ? m.ack() : m.nak(retryMs)));
    return true;
  }

  /** The message was pushed; `stored` answers whether its events are stored (true at once without a store). */
  taken(seq: number, stored: true | Promise<boolean>): void {
    this.#seen.set(seq, stored);
    if (stored !== true) {
      void stored.then((ok) => {
        // a failed write: the message comes again and must be taken again
        if (ok) this.#seen.set(seq, true);
        else this.#seen.delete(seq);
      });
    }
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value!);
  }
}
