/**
 * A collecting Pipeline for the file source's tests: `push` keeps each batch
 * and assigns seqs like the hub does; `refuse` makes push return false until
 * `drain()` is called (back-pressure); `replay` records what a restore
 * re-published. Not used by the daemon.
 */
import type { LogRecord } from '../../src/core/record.js';
import type { Pipeline } from '../../src/core/pipeline.js';
import { isEncoded, recordsOf, type Batch } from '../../src/wire/encoded.js';

export class CollectingPipeline implements Pipeline {
  readonly batches: LogRecord[][] = [];
  readonly replayed: LogRecord[][] = [];
  /** Per batch: did it come encoded (from a parse thread)? */
  readonly encoded: boolean[] = [];
  readonly drops: Array<{ stage: string; reason: string; n: number }> = [];
  /** When true, push accepts the batch but returns false (the source must wait for drain). */
  refuse = false;
  seq: number;
  #drainCbs: Array<() => void> = [];

  constructor(startSeq = 0) {
    this.seq = startSeq;
  }

  /** Encoded batches (a parse thread's) are kept as the records they decode to. */
  push(b: Batch): boolean {
    const batch = isEncoded(b) ? recordsOf(b, this.seq + 1) : b;
    if (batch.length === 0) throw new Error('push called with an empty batch');
    if (isEncoded(b)) this.seq += batch.length;
    else for (const r of batch) r.seq = ++this.seq;
    this.batches.push(batch);
    this.encoded.push(isEncoded(b));
    return !this.refuse;
  }

  nextSeq(): number {
    return this.seq + 1;
  }

  /** As the daemon's (core/pipeline-runtime.ts): a callback registered while push is not refused fires on the next microtask. */
  onDrain(cb: () => void): void {
    this.#drainCbs.push(cb);
    // else a source whose last push was refused just before drain() waited for a drain that had passed
    // (a UDP test hung with 20 datagrams held, on a loaded CI run)
    if (!this.refuse) queueMicrotask(() => this.#fire());
  }

  #fire(): void {
    if (this.refuse) return;
    const cbs = this.#drainCbs;
    this.#drainCbs = [];
    for (const cb of cbs) cb();
  }

  /** How many onDrain callbacks wait. */
  get drainWaiters(): number {
    return this.#drainCbs.length;
  }

  /** Lift back-pressure and call the drain callbacks once. */
  drain(): void {
    this.refuse = false;
    this.#fire();
  }

  lastSeq(): number {
    return this.seq;
  }

  replay(batch: LogRecord[], seqFloor: number): void {
    this.replayed.push(batch);
    if (seqFloor > this.seq) this.seq = seqFloor;
  }

  drop(stage: string, reason: string, n = 1): void {
    this.drops.push({ stage, reason, n });
  }

  get records(): LogRecord[] {
    return this.batches.flat();
  }

  get messages(): string[] {
    return this.records.map((r) => r.message);
  }
}

/** Poll `cond` every `interval` ms until it holds; throws after `timeout` ms (tests end by themselves). */
export async function waitFor(cond: () => boolean, what = 'condition', timeout = 10_000, interval = 10): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Wait until `n` more poll passes of a file source completed (its `polls`
 * counter): with n = 2 at least one whole pass (scan, reads, commits) began
 * after this call, so what the source would read by then has arrived.
 */
export async function polls(s: { status(): { counters: Record<string, number> } }, n = 2): Promise<void> {
  const from = s.status().counters.polls ?? 0;
  await waitFor(() => (s.status().counters.polls ?? 0) >= from + n, `${n} poll passes`);
}

/** Let `ms` pass (for "nothing happens meanwhile" checks; never a timing assertion). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
