/**
 * The webhook sender's queue (ARCHITECTURE.md §2: "bounded retry queue with backoff; past the
 * bound drop oldest and count"): at most `queue_size` deliveries waiting and `concurrency` in
 * flight, the oldest waiting one dropped (logged and counted) when a new one comes, order kept,
 * one timer for the whole queue, a deleted trigger's waiting deliveries cancelled, close() and
 * idle(). Attempts are answered by hand (test/helpers/webhook-sender.ts) on a fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { busy, cfg, event, OK, startSender, trigger, type Harness } from '../../test/helpers/webhook-sender.js';

vi.mock('./webhook-client.js', async (orig) => ({ ...(await orig<typeof import('./webhook-client.js')>()), postOnce: vi.fn() }));

const NOW = 1_700_000_000_000;
beforeEach(() => { vi.useFakeTimers({ now: NOW }); });
afterEach(() => { vi.useRealTimers(); });

/** Which events the attempts so far were for, in order. */
const sentEvents = (h: Harness) => h.calls.map((c) => (JSON.parse(c.body) as { event: { id: number } }).event.id);

/** Resolves a flag when the promise settles, so a test can see whether it has yet. */
function watch(p: Promise<void>): { done: boolean } {
  const w = { done: false };
  void p.then(() => { w.done = true; });
  return w;
}

describe('WebhookSender: the queue bound', () => {
  it('holds queue_size waiting besides those in flight; one more drops the oldest waiting, logged and counted', async () => {
    const h = startSender(cfg({ queue_size: 2, concurrency: 1 }));
    for (const id of [1, 2, 3]) h.sender.enqueue(trigger(1, { name: 'ops' }), event(id));
    // 1 in flight, 2 and 3 waiting: exactly at the bound, nothing dropped
    expect(sentEvents(h)).toEqual([1]);
    expect(h.sender.stats()).toMatchObject({ queued: 2, in_flight: 1, capacity: 2, dropped: 0 });
    expect(h.rows).toEqual([]);
    expect(h.drops).toEqual([]);

    h.sender.enqueue(trigger(1, { name: 'ops' }), event(4));
    expect(h.sender.stats()).toMatchObject({ queued: 2, in_flight: 1, dropped: 1 });
    expect(h.drops).toEqual([['webhook', 'queue_full', 1]]);
    expect(h.rows).toMatchObject([{
      trigger_id: 1, event_id: 2, result: 'dropped', status: null, latency_ms: null, attempts: 0, error: 'queue full: dropped before delivery',
      response_snippet: null, test: false, time: NOW,
    }]);
    expect(h.failures).toEqual([{
      triggerId: 1, triggerName: 'ops', deliveryId: h.rows[0]!.delivery_id, result: 'dropped', attempts: 0, status: null,
      error: 'queue full: dropped before delivery',
    }]);
    // the one in flight was untouched; the rest go in arrival order
    await h.calls[0]!.answer(OK);
    await h.calls[1]!.answer(OK);
    await h.calls[2]!.answer(OK);
    expect(sentEvents(h)).toEqual([1, 3, 4]);
    expect(h.rows.map((r) => [r.event_id, r.result])).toEqual([[2, 'dropped'], [1, 'ok'], [3, 'ok'], [4, 'ok']]);
    expect(h.sender.stats()).toMatchObject({ queued: 0, in_flight: 0, delivered: 3, dropped: 1 });
  });

  it('a delivery waiting to retry is waiting too: the oldest, it is dropped with its last answer', async () => {
    const h = startSender(cfg({ queue_size: 1, concurrency: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy());
    expect(h.sender.stats()).toMatchObject({ queued: 1, in_flight: 0 });
    h.sender.enqueue(trigger(1), event(2));
    expect(h.rows).toMatchObject([{ event_id: 1, result: 'dropped', attempts: 1, status: 503, latency_ms: 5, error: 'HTTP 503', response_snippet: 'busy' }]);
    expect(h.drops).toEqual([['webhook', 'queue_full', 1]]);
    // the new one goes out at once; the dropped one never again
    expect(sentEvents(h)).toEqual([1, 2]);
    await h.calls[1]!.answer(OK);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(sentEvents(h)).toEqual([1, 2]);
    expect(h.sender.stats()).toMatchObject({ queued: 0, delivered: 1, dropped: 1 });
  });

  it('the oldest waiting is dropped even behind a later one in flight', async () => {
    const h = startSender(cfg({ queue_size: 2, concurrency: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    await h.calls[0]!.answer(busy()); // 1 waits to retry; 2 goes out
    expect(sentEvents(h)).toEqual([1, 2]);
    h.sender.enqueue(trigger(1), event(3));
    h.sender.enqueue(trigger(1), event(4)); // waiting: 1, 3 -> drop 1
    expect(h.rows.map((r) => [r.event_id, r.result])).toEqual([[1, 'dropped']]);
    expect(h.sender.stats()).toMatchObject({ queued: 2, in_flight: 1 });
  });

  it('starts `concurrency` attempts at once, the next when one ends', async () => {
    const h = startSender(cfg({ concurrency: 2 }));
    for (const id of [1, 2, 3, 4]) h.sender.enqueue(trigger(1), event(id));
    expect(sentEvents(h)).toEqual([1, 2]);
    expect(h.sender.stats()).toMatchObject({ queued: 2, in_flight: 2 });
    await h.calls[1]!.answer(OK);
    expect(sentEvents(h)).toEqual([1, 2, 3]);
    await h.calls[0]!.answer(OK);
    expect(sentEvents(h)).toEqual([1, 2, 3, 4]);
    expect(h.sender.stats()).toMatchObject({ queued: 0, in_flight: 2, delivered: 2 });
  });

  it('a retry waits for a free slot, then goes before later deliveries', async () => {
    const h = startSender(cfg({ concurrency: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    h.sender.enqueue(trigger(1), event(3));
    await h.calls[0]!.answer(busy()); // 1 retries at +750; 2 goes out now
    await vi.advanceTimersByTimeAsync(1000);
    expect(sentEvents(h)).toEqual([1, 2]);
    await h.calls[1]!.answer(OK);
    expect(sentEvents(h)).toEqual([1, 2, 1]);
  });
});

describe('WebhookSender: one timer', () => {
  it('one timer serves every delivery waiting to retry, armed for the earliest', async () => {
    const h = startSender(cfg({ concurrency: 2, retries: 5 }));
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    await h.calls[0]!.answer(busy(10)); // 1 at +10 s
    expect(vi.getTimerCount()).toBe(1);
    await h.calls[1]!.answer(busy(2)); // 2 at +2 s: the earlier one, the same single timer
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(sentEvents(h)).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sentEvents(h)).toEqual([1, 2, 2]);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(7999);
    expect(sentEvents(h)).toEqual([1, 2, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sentEvents(h)).toEqual([1, 2, 2, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a later retry does not push the timer back', async () => {
    const h = startSender(cfg({ concurrency: 2 }));
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    await h.calls[0]!.answer(busy(2)); // 1 at +2 s
    await vi.advanceTimersByTimeAsync(500);
    await h.calls[1]!.answer(busy(10)); // 2 at +10.5 s
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(sentEvents(h)).toEqual([1, 2, 1]);
  });
});

describe('WebhookSender.cancelTrigger', () => {
  it("forgets a deleted trigger's waiting deliveries and says how many; the one in flight finishes", async () => {
    const h = startSender(cfg({ concurrency: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    h.sender.enqueue(trigger(2), event(3));
    h.sender.enqueue(trigger(1), event(4));
    expect(h.sender.cancelTrigger(9)).toBe(0);
    expect(h.sender.cancelTrigger(1)).toBe(2);
    expect(h.sender.stats()).toMatchObject({ queued: 1, in_flight: 1, dropped: 0 });
    expect(h.sender.cancelTrigger(1)).toBe(0);
    await h.calls[0]!.answer(OK);
    await h.calls[1]!.answer(OK);
    expect(sentEvents(h)).toEqual([1, 3]);
    // cancelled ones leave no row (their trigger is gone) and are no drop
    expect(h.rows.map((r) => [r.event_id, r.result])).toEqual([[1, 'ok'], [3, 'ok']]);
    expect(h.drops).toEqual([]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(2);
  });

  it('cancels deliveries waiting to retry, and wakes idle() when nothing is left', async () => {
    const h = startSender(cfg());
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy());
    const idle = watch(h.sender.idle());
    await vi.advanceTimersByTimeAsync(0);
    expect(idle.done).toBe(false);
    expect(h.sender.cancelTrigger(1)).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(idle.done).toBe(true);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(1);
  });
});

describe('WebhookSender: idle and close', () => {
  it('cancelling one trigger does not wake idle() while another still has deliveries', async () => {
    const h = startSender(cfg({ concurrency: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy());
    h.sender.enqueue(trigger(2), event(2));
    await h.calls[1]!.answer(busy());
    const idle = watch(h.sender.idle());
    expect(h.sender.cancelTrigger(1)).toBe(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(idle.done).toBe(false);
    await vi.advanceTimersByTimeAsync(750);
    await h.calls[2]!.answer(OK);
    expect(idle.done).toBe(true);
  });

  it('idle() works round after round', async () => {
    const h = startSender(cfg());
    for (const id of [1, 2, 3]) {
      h.sender.enqueue(trigger(1), event(id));
      const idle = watch(h.sender.idle());
      await h.calls.at(-1)!.answer(OK);
      expect(idle.done, `round ${id}`).toBe(true);
    }
  });

  it('idle() resolves at once when empty, else when the last delivery ends', async () => {
    const h = startSender(cfg());
    const empty = watch(h.sender.idle());
    await vi.advanceTimersByTimeAsync(0);
    expect(empty.done).toBe(true);
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    const idle = watch(h.sender.idle());
    await h.calls[0]!.answer(OK);
    expect(idle.done).toBe(false);
    await h.calls[1]!.answer(busy());
    expect(idle.done).toBe(false);
    await vi.advanceTimersByTimeAsync(750);
    await h.calls[2]!.answer(OK);
    expect(idle.done).toBe(true);
  });

  it('close() with a delivery waiting to retry: dropped, its timer cleared, closed at once', async () => {
    const h = startSender(cfg());
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy());
    expect(vi.getTimerCount()).toBe(1);
    await h.sender.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.rows).toMatchObject([{ event_id: 1, result: 'dropped', attempts: 1, status: 503, error: 'shutdown before delivery' }]);
    expect(h.failures).toMatchObject([{ result: 'dropped', attempts: 1, error: 'shutdown before delivery' }]);
  });

  it('close(): waiting deliveries are logged dropped and counted, the one in flight ends without a retry, nothing after', async () => {
    const h = startSender(cfg({ concurrency: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    await h.calls[0]!.answer(busy()); // 1 waits to retry, 2 in flight
    h.sender.enqueue(trigger(1), event(3));
    const closed = watch(h.sender.close());
    expect(h.rows.map((r) => [r.event_id, r.result, r.error, r.attempts])).toEqual([
      [1, 'dropped', 'shutdown before delivery', 1],
      [3, 'dropped', 'shutdown before delivery', 0],
    ]);
    expect(h.drops).toEqual([['webhook', 'shutdown', 1], ['webhook', 'shutdown', 1]]);
    expect(h.sender.stats()).toMatchObject({ queued: 0, in_flight: 1, dropped: 2 });
    // no timer left to hold the process
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(closed.done).toBe(false);
    await h.calls[1]!.answer(busy());
    expect(closed.done).toBe(true);
    expect(h.rows.at(-1)).toMatchObject({ event_id: 2, result: 'failed', attempts: 1, error: 'HTTP 503' });
    expect(vi.getTimerCount()).toBe(0);
    // enqueue after close does nothing
    h.sender.enqueue(trigger(1), event(4));
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(sentEvents(h)).toEqual([1, 2]);
    expect(h.rows).toHaveLength(3);
    expect(h.sender.stats()).toMatchObject({ queued: 0, in_flight: 0, failed: 1, dropped: 2 });
  });
});
