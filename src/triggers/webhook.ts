/**
 * Webhook delivery (ARCHITECTURE.md §2, "events → webhook"): a bounded queue
 * with retries. Each delivery has one id for all its attempts (receivers can
 * dedupe); each attempt is signed with a fresh timestamp. Retries back off
 * exponentially with jitter (honouring Retry-After, capped). Past
 * `queue_size` waiting deliveries the oldest is dropped, logged as "dropped"
 * and counted as sluice_dropped_total{stage="webhook",reason="queue_full"}.
 * One timer serves the whole queue. Every delivery ends with one row in the
 * delivery log.
 */
import crypto from 'node:crypto';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Store } from '../store/store.js';
import type { Delivery, SluiceEvent, Trigger } from '../store/types.js';
import { wireEvent } from '../store/wire.js';
import type { TriggersConfig } from './config.js';
import type { BaseLookup } from './ssrf.js';
import { sign } from './sign.js';
import { postOnce, type AttemptOptions, type AttemptResult } from './webhook-client.js';

export type DropFn = (stage: string, reason: string, n?: number) => void;

export interface WebhookSenderDeps {
  store: Store;
  config: TriggersConfig;
  metrics?: { registry: Registry };
  drop?: DropFn;
  onError?: (err: unknown) => void;
  /** Base DNS lookup (tests); the SSRF guard wraps it. */
  lookup?: BaseLookup;
  tls?: AttemptOptions['tls'];
  /** 0..1, for jitter (tests pass a fixed one). */
  random?: () => number;
  userAgent?: string;
  /** A delivery that ended failed or dropped (the daemon's log; never given the URL or the secret). */
  onFailure?: (f: WebhookFailure) => void;
}

export interface WebhookFailure {
  triggerId: number;
  triggerName: string;
  deliveryId: string;
  result: 'failed' | 'dropped';
  attempts: number;
  status: number | null;
  error: string | null;
}

/** What the delivery log and the failure report need of a delivery that ended (bus/deliveries.ts ends its own). */
export interface EndedDelivery {
  triggerId: number;
  triggerName: string;
  eventId: number | null;
  deliveryId: string;
  attempts: number;
  last?: AttemptResult;
}

interface Job extends EndedDelivery {
  url: string;
  secret: string;
  body: string;
  kind: string;
  notBefore: number;
  inFlight: boolean;
}

export interface TestDeliveryResult {
  delivery_id: string;
  ok: boolean;
  status: number | null;
  latency_ms: number;
  response_snippet: string | null;
  error: string | null;
}

export interface WebhookStats {
  queued: number;
  in_flight: number;
  capacity: number;
  delivered: number;
  failed: number;
  dropped: number;
  retries: number;
}

export function buildPayload(trigger: Pick<Trigger, 'id' | 'name'>, event: SluiceEvent, deliveryId: string): string {
  return JSON.stringify({ trigger: { id: trigger.id, name: trigger.name }, event: wireEvent(event), delivery_id: deliveryId });
}

export class WebhookSender {
  readonly #store: Store;
  readonly #cfg: TriggersConfig;
  readonly #drop: DropFn;
  readonly #onError: (err: unknown) => void;
  readonly #onFailure: (f: WebhookFailure) => void;
  readonly #random: () => number;
  readonly #attemptOpts: AttemptOptions;
  readonly #ua: string;
  /** Unfinished deliveries in arrival order (in flight ones included). */
  #jobs: Job[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  #stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  #m?: { deliveries: Counter<'result'>; latency: Histogram };

  constructor(deps: WebhookSenderDeps) {
    this.#store = deps.store;
    this.#cfg = deps.config;
    this.#drop = deps.drop ?? (() => {});
    this.#onError = deps.onError ?? (() => {});
    this.#onFailure = deps.onFailure ?? (() => {});
    this.#random = deps.random ?? Math.random;
    this.#ua = deps.userAgent ?? 'Sluice-Webhook/1';
    this.#attemptOpts = {
      allowHosts: deps.config.allow_hosts,
      connectTimeoutMs: deps.config.connect_timeout,
      timeoutMs: deps.config.timeout,
      lookup: deps.lookup,
      tls: deps.tls,
    };
    if (deps.metrics) {
      const registers = [deps.metrics.registry];
      const depth = () => this.#jobs.length;
      this.#m = {
        deliveries: new Counter({ name: 'sluice_webhook_deliveries_total', help: 'Webhook deliveries by final result (ok, failed, dropped).', labelNames: ['result'], registers }),
        latency: new Histogram({ name: 'sluice_webhook_attempt_seconds', help: 'Latency of webhook attempts.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
      };
      new Gauge({ name: 'sluice_webhook_queue', help: 'Webhook deliveries waiting or in flight.', registers, collect() { this.set(depth()); } });
    }
  }

  /** Queue a delivery of `event` to `trigger`. Never blocks; may drop the oldest waiting delivery. */
  enqueue(trigger: Trigger, event: SluiceEvent): void {
    if (this.#closed) return;
    const deliveryId = crypto.randomUUID();
    const job: Job = {
      triggerId: trigger.id, triggerName: trigger.name, url: trigger.url, secret: trigger.secret, eventId: event.id,
      deliveryId, body: buildPayload(trigger, event, deliveryId), kind: 'rule.hit', attempts: 0, notBefore: 0, inFlight: false,
    };
    if (this.#jobs.length - this.#inFlight >= this.#cfg.queue_size) {
      const i = this.#jobs.findIndex((j) => !j.inFlight);
      if (i >= 0) {
        const [old] = this.#jobs.splice(i, 1);
        this.finish(old!, 'dropped', old!.last?.error ?? 'queue full: dropped before delivery');
        this.#drop('webhook', 'queue_full', 1);
      }
    }
    this.#jobs.push(job);
    this.#pump();
  }

  /** Forget waiting deliveries of a deleted trigger (in-flight ones finish). Returns how many. */
  cancelTrigger(triggerId: number): number {
    const before = this.#jobs.length;
    this.#jobs = this.#jobs.filter((j) => j.inFlight || j.triggerId !== triggerId);
    if (this.#jobs.length === 0) this.#wakeIdle();
    return before - this.#jobs.length;
  }

  /** `POST /api/triggers/{id}/test`: one real attempt now, no retries, logged as a test delivery. */
  async test(trigger: Trigger, event: SluiceEvent): Promise<TestDeliveryResult> {
    const deliveryId = crypto.randomUUID();
    const body = buildPayload(trigger, event, deliveryId);
    const r = await this.attempt(trigger.url, trigger.secret, body, deliveryId, 'test');
    await this.#store.insertDelivery({
      trigger_id: trigger.id, delivery_id: deliveryId, event_id: null, result: r.ok ? 'ok' : 'failed', status: r.status,
      latency_ms: r.latency_ms, attempts: 1, error: r.error, response_snippet: r.response_snippet, test: true, time: Date.now(),
    }).catch(this.#onError);
    return { delivery_id: deliveryId, ok: r.ok, status: r.status, latency_ms: r.latency_ms, response_snippet: r.response_snippet, error: r.error };
  }

  stats(): WebhookStats {
    return { queued: this.#jobs.length - this.#inFlight, in_flight: this.#inFlight, capacity: this.#cfg.queue_size, ...this.#stats };
  }

  /** Resolves when no delivery is waiting or in flight. */
  idle(): Promise<void> {
    if (this.#jobs.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Stop: waiting deliveries are logged as dropped; in-flight attempts finish (each is bounded by its timeouts). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const waiting = this.#jobs.filter((j) => !j.inFlight);
    this.#jobs = this.#jobs.filter((j) => j.inFlight);
    for (const j of waiting) {
      this.finish(j, 'dropped', 'shutdown before delivery');
      this.#drop('webhook', 'shutdown', 1);
    }
    await this.idle();
  }

  /** One signed POST (the queue's retries are the caller's). */
  attempt(url: string, secret: string, body: string, deliveryId: string, kind: string): Promise<AttemptResult> {
    const ts = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.#ua,
      'x-sluice-event': kind,
      'x-sluice-delivery': deliveryId,
      'x-sluice-timestamp': ts,
    };
    if (secret) headers['x-sluice-signature-256'] = sign(secret, ts, body);
    return postOnce(url, body, headers, this.#attemptOpts).then((r) => {
      this.#m?.latency.observe(r.latency_ms / 1000);
      return r;
    });
  }

  /** Start every ready job the concurrency allows; arm the one timer for the next not-yet-ready job. */
  #pump(): void {
    if (this.#closed) return;
    const now = Date.now();
    let next = Infinity;
    for (const job of this.#jobs) {
      if (this.#inFlight >= this.#cfg.concurrency) break;
      if (job.inFlight) continue;
      if (job.notBefore > now) {
        next = Math.min(next, job.notBefore);
        continue;
      }
      void this.#run(job);
    }
    if (this.#inFlight < this.#cfg.concurrency && next !== Infinity && next < this.#timerAt) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timerAt = next;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.#pump();
      }, Math.max(0, next - now));
    }
  }

  async #run(job: Job): Promise<void> {
    job.inFlight = true;
    this.#inFlight++;
    job.attempts++;
    if (job.attempts > 1) this.countRetry();
    let r: AttemptResult;
    try {
      r = await this.attempt(job.url, job.secret, job.body, job.deliveryId, job.kind);
    } catch (err) {
      r = { ok: false, status: null, latency_ms: 0, response_snippet: null, error: String(err), retryable: true };
    }
    job.last = r;
    job.inFlight = false;
    this.#inFlight--;
    if (!r.ok && r.retryable && job.attempts <= this.#cfg.retries && !this.#closed) {
      job.notBefore = Date.now() + this.backoff(job.attempts, r.retry_after_s);
    } else {
      const i = this.#jobs.indexOf(job);
      if (i >= 0) this.#jobs.splice(i, 1);
      this.finish(job, r.ok ? 'ok' : 'failed', r.error);
    }
    this.#pump();
    if (this.#jobs.length === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const cb of w) cb();
  }

  /** Delay before retry `attempt` (1-based): base·2^(n-1) capped, half fixed and half random ("equal jitter"). */
  backoff(attempt: number, retryAfterS?: number): number {
    const cap = this.#cfg.backoff_max;
    const exp = Math.min(cap, this.#cfg.backoff_base * 2 ** (attempt - 1));
    const jittered = exp / 2 + this.#random() * (exp / 2);
    if (retryAfterS !== undefined) return Math.min(cap, Math.max(jittered, retryAfterS * 1000));
    return jittered;
  }

  /** The delivery log has this delivery as made (bus/deliveries.ts asks before making one again). */
  deliveredOk(deliveryId: string): Promise<boolean> {
    return this.#store.deliveredOk(deliveryId);
  }

  countRetry(): void {
    this.#stats.retries++;
  }

  /** A delivery ended: counted, reported when it failed, one row in the delivery log (resolves once it is written, or failed to be). */
  finish(job: EndedDelivery, result: Delivery['result'], error: string | null): Promise<void> {
    this.#stats[result === 'ok' ? 'delivered' : result === 'failed' ? 'failed' : 'dropped']++;
    this.#m?.deliveries.inc({ result });
    const last = job.last;
    if (result !== 'ok') this.#onFailure({ triggerId: job.triggerId, triggerName: job.triggerName, deliveryId: job.deliveryId, result, attempts: job.attempts, status: last?.status ?? null, error });
    return this.#store.insertDelivery({
      trigger_id: job.triggerId, delivery_id: job.deliveryId, event_id: job.eventId, result,
      status: last?.status ?? null, latency_ms: last?.latency_ms ?? null, attempts: job.attempts,
      error: result === 'ok' ? null : error, response_snippet: last?.response_snippet ?? null, test: false, time: Date.now(),
    }).then(() => undefined, (err: unknown) => {
      // The trigger may have been deleted meanwhile (FK): nothing to log against.
      this.#onError(err);
    });
  }
}
