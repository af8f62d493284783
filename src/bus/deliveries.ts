/**
 * `role = "server"`: webhook deliveries shared by the servers through a
 * JetStream work queue, so each delivery is made from one server and a
 * server that dies mid-delivery hands it on (docs/deployment.md).
 *
 * - The server that stored an event publishes one message per matching
 *   trigger (stream `<prefix>-webhooks`, subject `<prefix>.webhooks`): the
 *   trigger's id, the event, and a delivery id that follows from the trigger
 *   and the event (`deliveryIdOf`), also as the message's `Nats-Msg-Id`. A
 *   record whose events are stored again after a server died (a repeat in the
 *   store) publishes them again: JetStream keeps one (its duplicate window),
 *   the receiver sees one `X-Sluice-Delivery` id.
 * - Every server pulls from one durable consumer (`<consumer>-webhooks`) and
 *   makes one attempt per delivery of a message, telling JetStream it is
 *   working while the attempt runs. Success: acknowledged, logged. A
 *   retryable failure: NAKed with the backoff (`[triggers]` retries,
 *   backoff_base, backoff_max, Retry-After), so the next attempt may be made
 *   by any server. Otherwise terminated and logged as failed.
 * - A server that dies mid-attempt never acknowledges: after `bus.ack_wait`
 *   another server makes the attempt, with the same delivery id (at least
 *   once to the receiver; it deduplicates on the id).
 * - An ended delivery is logged before it is acknowledged; a message that
 *   comes again (its acknowledgement lost with a NATS node) whose delivery the
 *   log has as made is acknowledged without sending it again. Only a server
 *   dying between the receiver's answer and the log write sends one twice.
 * - The URL and the secret are not in the message: the server making the
 *   attempt takes them from its triggers (the shared store's). A delivery of
 *   a trigger deleted or disabled meanwhile is dropped, logged, counted.
 * - The queue holds at most `[triggers] queue_size` deliveries: past it a new
 *   one is dropped (logged as dropped, counted `queue_full`), never an old one
 *   silently.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager,
  type ConsumerMessages, type JetStreamManager, type JsMsg,
} from '@nats-io/jetstream';
import type { SluiceEvent, Trigger } from '../store/types.js';
import type { TriggersConfig } from '../triggers/config.js';
import { buildPayload, type WebhookSender } from '../triggers/webhook.js';
import type { BusConfig } from './config.js';
import { connectBus, isNotFound } from './jetstream.js';

const CONNECT_TIMEOUT_MS = 5_000;
const RETRY_MS = 1_000;
/**
 * How long one pull request stays open. Its idle heartbeat is half of it and
 * two missed heartbeats make `consume()` pull again: a pull lost with a NATS
 * node (the consumer's leader moved) is renewed within ~5 s rather than 30,
 * so deliveries a dead server held are taken up within ack_wait plus that.
 */
const PULL_EXPIRES_MS = 5_000;
/** A publish not acknowledged within this long fails (the record's message is then NAKed and comes again). */
const PUBLISH_TIMEOUT_MS = 5_000;

export function webhooksStreamName(prefix: string): string {
  return `${prefix}-webhooks`;
}

export function webhooksSubject(prefix: string): string {
  return `${prefix}.webhooks`;
}

/** The delivery id of one event to one trigger: the same on every server and every time (a UUID's shape). */
export function deliveryIdOf(triggerId: number, eventId: number): string {
  const h = createHash('sha256').update(`sluice-delivery:${triggerId}:${eventId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface DeliveryMsg {
  trigger_id: number;
  trigger_name: string;
  delivery_id: string;
  event: SluiceEvent;
}

export interface SharedDeliveryCounters {
  published: number;
  duplicates: number;
  attempts: number;
  /** Attempts on a message delivered before (a retry after a NAK, or one a server died or hung with past ack_wait). */
  redelivered: number;
  /** Messages delivered again whose delivery the log has as made (their acknowledgement was lost): acknowledged, not sent again. */
  already_made: number;
  trigger_gone: number;
  queue_full: number;
}

export class SharedDeliveries {
  readonly counters: SharedDeliveryCounters = { published: 0, duplicates: 0, attempts: 0, redelivered: 0, already_made: 0, trigger_gone: 0, queue_full: 0 };
  readonly #cfg: BusConfig;
  readonly #tcfg: TriggersConfig;
  readonly #name: string;
  readonly #sender: WebhookSender;
  readonly #trigger: (id: number) => Trigger | undefined;
  readonly #log: (msg: string) => void;
  readonly #drop: (stage: string, reason: string, n: number) => void;
  #nc: NatsConnection | undefined;
  #ready: Promise<void> | undefined;
  #iter: ConsumerMessages | undefined;
  #run: Promise<void> | undefined;
  #stopping = false;
  #inFlight = 0;
  readonly #slots: (() => void)[] = [];
  #idle: (() => void)[] = [];

  constructor(
    cfg: BusConfig, tcfg: TriggersConfig, sender: WebhookSender, trigger: (id: number) => Trigger | undefined, log: (msg: string) => void,
    drop: (stage: string, reason: string, n: number) => void = () => undefined,
  ) {
    this.#cfg = cfg;
    this.#tcfg = tcfg;
    this.#name = `sluice-server-webhooks-${hostname()}-${process.pid}`;
    this.#sender = sender;
    this.#trigger = trigger;
    this.#log = log;
    this.#drop = drop;
  }

  /** Connect, make the stream and consumer when missing, and start taking deliveries (NATS away: retried). */
  start(): void {
    this.#run = this.#loop();
  }

  /** Queue the delivery of `event` to `trigger` for the cluster; resolves once JetStream has it (or it was dropped, counted). */
  async enqueue(trigger: Trigger, event: SluiceEvent): Promise<void> {
    await this.#connected();
    const delivery_id = deliveryIdOf(trigger.id, event.id);
    const body: DeliveryMsg = { trigger_id: trigger.id, trigger_name: trigger.name, delivery_id, event };
    const h = headers();
    h.set('Nats-Msg-Id', delivery_id);
    try {
      const ack = await jetstream(this.#nc!, { timeout: PUBLISH_TIMEOUT_MS }).publish(webhooksSubject(this.#cfg.prefix), JSON.stringify(body), { headers: h });
      if (ack.duplicate) this.counters.duplicates++;
      else this.counters.published++;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || !/maximum messages/i.test(err.message)) throw err;
      this.counters.queue_full++;
      this.#drop('webhook', 'queue_full', 1);
      await this.#sender.finish({ triggerId: trigger.id, triggerName: trigger.name, eventId: event.id, deliveryId: delivery_id, attempts: 0 }, 'dropped', 'queue full: dropped before delivery');
    }
  }

  status(): Record<string, unknown> {
    return { ...this.counters, in_flight: this.#inFlight, connected: this.#nc !== undefined && !this.#nc.isClosed(), stream: webhooksStreamName(this.#cfg.prefix), consumer: this.#consumerName() };
  }

  /** Stop taking deliveries; attempts in flight finish (each bounded by its timeouts). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#iter?.stop();
    for (const s of this.#slots.splice(0)) s();
    await this.#run;
    if (this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined && !nc.isClosed()) await Promise.race([nc.drain().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  #consumerName(): string {
    return `${this.#cfg.consumer}-webhooks`;
  }

  /** The connection and the stream, made once (a failure is tried again by the next caller). */
  #connected(): Promise<void> {
    this.#ready ??= (async () => {
      if (this.#nc === undefined || this.#nc.isClosed()) this.#nc = await connectBus(this.#cfg, this.#name, CONNECT_TIMEOUT_MS);
      await this.#ensureStream(await jetstreamManager(this.#nc, { timeout: CONNECT_TIMEOUT_MS }));
    })().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #ensureStream(jsm: JetStreamManager): Promise<void> {
    const name = webhooksStreamName(this.#cfg.prefix);
    const want = {
      name, subjects: [webhooksSubject(this.#cfg.prefix)], retention: RetentionPolicy.Workqueue, storage: StorageType.File,
      discard: DiscardPolicy.New, max_msgs: this.#tcfg.queue_size, max_age: nanos(this.#cfg.max_age),
      duplicate_window: nanos(this.#cfg.duplicate_window), num_replicas: this.#cfg.replicas,
    };
    try {
      const have = (await jsm.streams.info(name)).config;
      if (have.max_msgs !== want.max_msgs || have.max_age !== want.max_age || have.duplicate_window !== want.duplicate_window) {
        await jsm.streams.update(name, { ...have, max_msgs: want.max_msgs, max_age: want.max_age, duplicate_window: want.duplicate_window });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(want).catch(async (e: unknown) => {
        await jsm.streams.info(name).catch(() => Promise.reject(e)); // another server made it in between
      });
    }
    const durable = this.#consumerName();
    const ack_wait = nanos(this.#cfg.ack_wait);
    try {
      const info = await jsm.consumers.info(name, durable);
      if (info.config.ack_wait !== ack_wait) await jsm.consumers.update(name, durable, { ack_wait });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(name, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait, max_deliver: -1 }).catch(async (e: unknown) => {
        await jsm.consumers.info(name, durable).catch(() => Promise.reject(e));
      });
    }
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#connected();
        const consumer = await jetstream(this.#nc!).consumers.get(webhooksStreamName(this.#cfg.prefix), this.#consumerName());
        const iter = await consumer.consume({ max_messages: this.#tcfg.concurrency, expires: PULL_EXPIRES_MS });
        this.#iter = iter;
        if (this.#stopping) iter.stop();
        for await (const m of iter) {
          if (this.#stopping) {
            m.nak();
            continue;
          }
          while (this.#inFlight >= this.#tcfg.concurrency && !this.#stopping) await new Promise<void>((r) => this.#slots.push(r));
          void this.#deliver(m);
        }
        if (!this.#stopping) throw new Error('the webhooks consumer ended');
      } catch (err) {
        if (this.#stopping) break;
        this.#log(`webhooks on JetStream: ${(err as Error).message}: retrying`);
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }

  async #deliver(m: JsMsg): Promise<void> {
    this.#inFlight++;
    try {
      await this.#attempt(m);
    } catch (err) {
      this.#log(`webhooks on JetStream: ${(err as Error).message}`);
      m.nak(RETRY_MS);
    } finally {
      this.#inFlight--;
      this.#slots.shift()?.();
      if (this.#inFlight === 0) for (const r of this.#idle.splice(0)) r();
    }
  }

  async #attempt(m: JsMsg): Promise<void> {
    let d: DeliveryMsg;
    try {
      d = m.json<DeliveryMsg>();
    } catch {
      m.term('not a delivery');
      return;
    }
    const attempts = m.info.deliveryCount;
    const ended = { triggerId: d.trigger_id, triggerName: d.trigger_name, eventId: d.event.id, deliveryId: d.delivery_id, attempts };
    const t = this.#trigger(d.trigger_id);
    if (t === undefined) {
      this.counters.trigger_gone++;
      this.#drop('webhook', 'trigger_gone', 1);
      m.term('trigger deleted or disabled');
      this.#sender.finish(ended, 'dropped', 'trigger deleted or disabled before delivery');
      return;
    }
    if (attempts > 1) {
      // delivered again: its acknowledgement may be what was lost (a NATS node died with it); the log says
      if (await this.#sender.deliveredOk(d.delivery_id)) {
        this.counters.already_made++;
        m.ack();
        return;
      }
      this.counters.redelivered++;
      this.#sender.countRetry();
    }
    this.counters.attempts++;
    const working = setInterval(() => m.working(), Math.max(100, Math.floor(this.#cfg.ack_wait / 3)));
    let r;
    try {
      r = await this.#sender.attempt(t.url, t.secret, buildPayload(t, d.event, d.delivery_id), d.delivery_id, 'rule.hit');
    } finally {
      clearInterval(working);
    }
    if (!r.ok && r.retryable && attempts <= this.#tcfg.retries) {
      // stopping: another server takes the next attempt now
      m.nak(this.#stopping ? 0 : this.#sender.backoff(attempts, r.retry_after_s));
      return;
    }
    // logged before the acknowledgement: a delivery whose acknowledgement is lost is found made when it comes again
    await this.#sender.finish({ ...ended, last: r }, r.ok ? 'ok' : 'failed', r.error);
    if (r.ok) m.ack();
    else m.term(r.error ?? 'failed');
  }
}
