/**
 * A Pipeline for source-level tests of the Docker source: it assigns seqs,
 * keeps every accepted record, and can exert back-pressure (`hold()`: every
 * push returns false and drain waits for `release()`), which is also how a
 * test "abandons" a source right after a checkpoint write.
 */
import type { Pipeline } from '../../src/core/pipeline.js';
import type { LogRecord } from '../../src/core/record.js';
import { isEncoded, recordsOf, type Batch } from '../../src/wire/encoded.js';

export class CollectingPipeline implements Pipeline {
  /** Records pushed by the source (seqs assigned here). */
  readonly records: LogRecord[] = [];
  /** Records re-published by `restore` with their pre-crash seqs (kept apart from `records`). */
  readonly replayed: LogRecord[] = [];
  readonly drops = new Map<string, number>();
  #seq = 0;
  #held = false;
  #waiters: Array<() => void> = [];
  pushes = 0;
  /** Pushes of an encoded batch: one a parse thread rendered (the others were parsed on the main thread). */
  encodedPushes = 0;
  /** Called after each accepted batch (e.g. to hold after N records). */
  afterPush: ((p: CollectingPipeline) => void) | undefined;

  push(b: Batch): boolean {
    const batch = isEncoded(b) ? recordsOf(b, this.#seq + 1) : b;
    for (const r of batch) {
      if (isEncoded(b)) ++this.#seq;
      else r.seq = ++this.#seq;
      this.records.push(r);
    }
    this.pushes++;
    if (isEncoded(b)) this.encodedPushes++;
    this.afterPush?.(this);
    return !this.#held;
  }
  onDrain(cb: () => void): void {
    if (!this.#held) queueMicrotask(cb);
    else this.#waiters.push(cb);
  }
  lastSeq(): number {
    return this.#seq;
  }
  nextSeq(): number {
    return this.#seq + 1;
  }
  replay(batch: LogRecord[], seqFloor: number): void {
    for (const r of batch) this.replayed.push(r);
    if (seqFloor > this.#seq) this.#seq = seqFloor;
  }
  drop(stage: string, reason: string, n = 1): void {
    const k = `${stage}/${reason}`;
    this.drops.set(k, (this.drops.get(k) ?? 0) + n);
  }
  hold(): void {
    this.#held = true;
  }
  release(): void {
    this.#held = false;
    const w = this.#waiters;
    this.#waiters = [];
    for (const cb of w) cb();
  }
  messages(filter?: (r: LogRecord) => boolean): string[] {
    return this.records.filter(filter ?? (() => true)).map((r) => r.message);
  }
}

/** Poll `cond` every 50 ms, at most `timeoutMs`; throws with `what` when it never holds. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const tries = Math.ceil(timeoutMs / 50);
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}
