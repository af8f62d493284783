/**
 * The webhook sender's delivery of one event (ARCHITECTURE.md §2, "events → webhook"): the
 * request as sent, retries up to `retries` and no further, the backoff to the millisecond (equal
 * jitter, doubling, capped, Retry-After honoured and capped), the delivery log row, the test
 * delivery, metrics. The network attempt is answered by hand (test/helpers/webhook-sender.ts)
 * and time is a fake clock. The queue (bound, drop-oldest, cancel, close) is in
 * webhook-queue.test.ts.
 */
import crypto from 'node:crypto';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { wireEvent } from '../store/wire.js';
import { busy, cfg, event, OK, refused, settle, startSender, trigger, type Harness } from '../../test/helpers/webhook-sender.js';

vi.mock('./webhook-client.js', async (orig) => ({ ...(await orig<typeof import('./webhook-client.js')>()), postOnce: vi.fn() }));

const NOW = 1_700_000_123_456;
beforeEach(() => { vi.useFakeTimers({ now: NOW }); });
afterEach(() => { vi.useRealTimers(); });

/** The next attempt comes exactly `ms` after now: not a millisecond earlier. */
async function expectNextAttemptIn(h: Harness, ms: number): Promise<void> {
  const n = h.calls.length;
  await vi.advanceTimersByTimeAsync(ms - 1);
  expect(h.calls.length, `no attempt before ${ms} ms`).toBe(n);
  await vi.advanceTimersByTimeAsync(1);
  expect(h.calls.length, `the attempt at ${ms} ms`).toBe(n + 1);
}

describe('WebhookSender: one delivery', () => {
  it('sends the event signed with an HMAC over timestamp "." body, then logs it ok', async () => {
    const lookup = vi.fn();
    const tls = { ca: 'x' };
    const h = startSender(cfg({ allow_hosts: ['10.0.0.1:80'], connect_timeout: 111, timeout: 222 }), { lookup, tls });
    const t = trigger(3, { name: 'ops', secret: 'whsec' });
    h.sender.enqueue(t, event(42));
    expect(h.calls).toHaveLength(1);
    const c = h.calls[0]!;
    expect(c.url).toBe('https://hooks.example.com/t3');
    const id = c.headers['x-sluice-delivery']!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(c.body)).toEqual({ trigger: { id: 3, name: 'ops' }, event: wireEvent(event(42)), delivery_id: id });
    const ts = String(Math.floor(NOW / 1000));
    expect(c.headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'Sluice-Webhook/1',
      'x-sluice-event': 'rule.hit',
      'x-sluice-delivery': id,
      'x-sluice-timestamp': ts,
      'x-sluice-signature-256': 'sha256=' + crypto.createHmac('sha256', 'whsec').update(`${ts}.${c.body}`).digest('hex'),
    });
    expect(c.opts).toEqual({ allowHosts: ['10.0.0.1:80'], connectTimeoutMs: 111, timeoutMs: 222, lookup, tls });
    expect(h.sender.stats()).toEqual({ queued: 0, in_flight: 1, capacity: 10, delivered: 0, failed: 0, dropped: 0, retries: 0 });

    vi.setSystemTime(NOW + 40);
    await c.answer(OK);
    expect(h.rows).toEqual([{
      trigger_id: 3, delivery_id: id, event_id: 42, result: 'ok', status: 200, latency_ms: 12, attempts: 1, error: null,
      response_snippet: 'fine', test: false, time: NOW + 40,
    }]);
    expect(h.failures).toEqual([]);
    expect(h.sender.stats()).toEqual({ queued: 0, in_flight: 0, capacity: 10, delivered: 1, failed: 0, dropped: 0, retries: 0 });
    // nothing waiting: no timer left running (it would spin or hold the process)
    expect(vi.getTimerCount()).toBe(0);
  });

  it('no secret, no signature header; the user agent can be set', async () => {
    const h = startSender(cfg(), { userAgent: 'Sluice/9' });
    h.sender.enqueue(trigger(1), event(1));
    expect(Object.keys(h.calls[0]!.headers).sort()).toEqual(['content-type', 'user-agent', 'x-sluice-delivery', 'x-sluice-event', 'x-sluice-timestamp']);
    expect(h.calls[0]!.headers['user-agent']).toBe('Sluice/9');
  });

  it('retries a retryable failure `retries` times, no more, then logs it failed with the last answer', async () => {
    const h = startSender(cfg({ retries: 2 }));
    h.sender.enqueue(trigger(1, { name: 'ops' }), event(5));
    await h.calls[0]!.answer(busy());
    await vi.advanceTimersByTimeAsync(750);
    await h.calls[1]!.answer(busy());
    expect(h.sender.stats()).toMatchObject({ queued: 1, in_flight: 0, retries: 1, failed: 0 });
    await vi.advanceTimersByTimeAsync(1500);
    expect(h.calls).toHaveLength(3);
    await h.calls[2]!.answer({ ...busy(), status: 502, error: 'HTTP 502' });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(3);
    // one delivery id for every attempt
    expect(new Set(h.calls.map((c) => c.headers['x-sluice-delivery'])).size).toBe(1);
    const id = h.calls[0]!.headers['x-sluice-delivery'];
    expect(h.rows).toEqual([{
      trigger_id: 1, delivery_id: id, event_id: 5, result: 'failed', status: 502, latency_ms: 5, attempts: 3, error: 'HTTP 502',
      response_snippet: 'busy', test: false, time: NOW + 2250,
    }]);
    expect(h.failures).toEqual([{ triggerId: 1, triggerName: 'ops', deliveryId: id, result: 'failed', attempts: 3, status: 502, error: 'HTTP 502' }]);
    expect(h.sender.stats()).toMatchObject({ queued: 0, in_flight: 0, delivered: 0, failed: 1, retries: 2 });
  });

  it('retries = 0: one attempt only', async () => {
    const h = startSender(cfg({ retries: 0 }));
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy());
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(1);
    expect(h.rows.map((r) => [r.result, r.attempts])).toEqual([['failed', 1]]);
  });

  it('a failure that is not retryable ends the delivery at once', async () => {
    const h = startSender(cfg());
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(refused);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(1);
    expect(h.rows).toMatchObject([{ result: 'failed', status: 400, attempts: 1, error: 'HTTP 400', response_snippet: 'bad' }]);
    expect(h.sender.stats()).toMatchObject({ failed: 1, retries: 0 });
  });

  it('an attempt that throws counts as a network error and is retried', async () => {
    const h = startSender(cfg({ retries: 1 }));
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.throws(new Error('boom'));
    await expectNextAttemptIn(h, 750);
    await h.calls[1]!.throws(new Error('boom again'));
    expect(h.rows).toMatchObject([{ result: 'failed', status: null, latency_ms: 0, attempts: 2, error: 'Error: boom again', response_snippet: null }]);
  });

  it('a success after failures is logged ok with no error and the attempts counted', async () => {
    const h = startSender(cfg());
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy());
    await vi.advanceTimersByTimeAsync(750);
    await h.calls[1]!.answer(OK);
    expect(h.rows).toMatchObject([{ result: 'ok', status: 200, attempts: 2, error: null }]);
    expect(h.failures).toEqual([]);
    expect(h.sender.stats()).toMatchObject({ delivered: 1, failed: 0, retries: 1 });
  });
});

describe('WebhookSender: backoff', () => {
  it('base·2^(n-1), half fixed and half jitter, capped at backoff_max', async () => {
    const h = startSender(cfg({ retries: 6, backoff_base: 1000, backoff_max: 5000 }));
    h.sender.enqueue(trigger(1), event(1));
    // random 0.5: 3/4 of 1000, 2000, 4000, then the cap 5000
    for (const ms of [750, 1500, 3000, 3750, 3750]) {
      await h.calls.at(-1)!.answer(busy());
      await expectNextAttemptIn(h, ms);
    }
  });

  it('the jitter spans the upper half: random 0 waits half, random 0.75 seven eighths', async () => {
    const lo = startSender(cfg(), { random: () => 0 });
    lo.sender.enqueue(trigger(1), event(1));
    await lo.calls[0]!.answer(busy());
    await expectNextAttemptIn(lo, 500);
    await lo.calls[1]!.answer(OK);
    const hi = startSender(cfg(), { random: () => 0.75 });
    hi.sender.enqueue(trigger(1), event(1));
    await hi.calls[0]!.answer(busy());
    await expectNextAttemptIn(hi, 875);
  });

  it('Retry-After is honoured when longer than the backoff, capped at backoff_max', async () => {
    const h = startSender(cfg({ backoff_max: 60_000 }));
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(busy(10));
    await expectNextAttemptIn(h, 10_000);
    // shorter than the backoff (1500 for the second retry): the backoff wins
    await h.calls[1]!.answer(busy(1));
    await expectNextAttemptIn(h, 1500);
    // Retry-After 0 is no reason to hurry
    await h.calls[2]!.answer(busy(0));
    await expectNextAttemptIn(h, 3000);
    await h.calls[3]!.answer(busy(3600));
    await expectNextAttemptIn(h, 60_000);
  });
});

describe('WebhookSender.test', () => {
  it('one signed attempt now, never retried, logged as a test delivery without an event', async () => {
    const h = startSender(cfg());
    const p = h.sender.test(trigger(2, { secret: 's' }), event(9));
    expect(h.calls).toHaveLength(1);
    const c = h.calls[0]!;
    expect(c.headers['x-sluice-event']).toBe('test');
    const ts = c.headers['x-sluice-timestamp'];
    expect(c.headers['x-sluice-signature-256']).toBe('sha256=' + crypto.createHmac('sha256', 's').update(`${ts}.${c.body}`).digest('hex'));
    await c.answer(busy());
    const r = await p;
    expect(r).toEqual({ delivery_id: c.headers['x-sluice-delivery'], ok: false, status: 503, latency_ms: 5, response_snippet: 'busy', error: 'HTTP 503' });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(h.calls).toHaveLength(1);
    expect(h.rows).toEqual([{
      trigger_id: 2, delivery_id: r.delivery_id, event_id: null, result: 'failed', status: 503, latency_ms: 5, attempts: 1, error: 'HTTP 503',
      response_snippet: 'busy', test: true, time: NOW,
    }]);
    expect(JSON.parse(c.body).delivery_id).toBe(r.delivery_id);
    expect(h.sender.stats()).toMatchObject({ delivered: 0, failed: 0, retries: 0 });
  });

  it('an ok answer is logged ok; a store that fails is reported, the answer still returned', async () => {
    const h = startSender(cfg());
    const p = h.sender.test(trigger(2), event(9));
    await h.calls[0]!.answer(OK);
    expect(await p).toMatchObject({ ok: true, status: 200, error: null });
    expect(h.rows).toMatchObject([{ result: 'ok', test: true }]);
    h.breakStore();
    const q = h.sender.test(trigger(2), event(9));
    await h.calls[1]!.answer(OK);
    expect(await q).toMatchObject({ ok: true });
    expect(h.errors).toHaveLength(1);
    expect(String(h.errors[0])).toContain('store is down');
  });
});

describe('WebhookSender: log and metrics', () => {
  it('a delivery log write that fails is reported, not thrown', async () => {
    const h = startSender(cfg());
    h.breakStore();
    h.sender.enqueue(trigger(1), event(1));
    await h.calls[0]!.answer(OK);
    await settle();
    expect(h.errors.map(String)).toEqual(['Error: store is down']);
    expect(h.sender.stats()).toMatchObject({ delivered: 1 });
  });

  it('counts deliveries by result, observes attempt latency in seconds, gauges the queue', async () => {
    const registry = new Registry();
    const h = startSender(cfg({ queue_size: 1, retries: 0 }), { metrics: { registry } });
    h.sender.enqueue(trigger(1), event(1));
    h.sender.enqueue(trigger(1), event(2));
    h.sender.enqueue(trigger(1), event(3)); // drops event 2
    expect(await registry.getSingleMetricAsString('sluice_webhook_queue')).toContain('sluice_webhook_queue 2');
    await h.calls[0]!.answer(OK);
    await h.calls[1]!.answer(busy());
    const m = await registry.metrics();
    expect(m).toContain('sluice_webhook_deliveries_total{result="ok"} 1');
    expect(m).toContain('sluice_webhook_deliveries_total{result="failed"} 1');
    expect(m).toContain('sluice_webhook_deliveries_total{result="dropped"} 1');
    expect(m).toContain('sluice_webhook_attempt_seconds_sum 0.017');
    expect(m).toContain('sluice_webhook_attempt_seconds_count 2');
    expect(m).toContain('sluice_webhook_attempt_seconds_bucket{le="0.01"} 1');
    expect(m).toContain('sluice_webhook_queue 0');
  });
});
