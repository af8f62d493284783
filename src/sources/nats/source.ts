/**
 * `role = "server"`: records from JetStream into this server's pipeline.
 * Every server pulls from one durable consumer (`bus.consumer`, explicit
 * acknowledgement), so each message is handled by one live server at a
 * time. A message's records are pushed to the pipeline (hub: seq, replay
 * ring, live clients; then rules -> store) and the message is acknowledged
 * once the rule engine has stored their events (`stored`, the engine's
 * stored mark, rules/stored-mark.ts); a failed store write NAKs it (it
 * comes again, to any server: at least once). Without `stored` (tests) it
 * is acknowledged once the pipeline accepted the records.
 *
 * A server that dies or hangs holds its fetched messages unacknowledged;
 * after `bus.ack_wait` JetStream delivers them to another server (counted
 * there as `redelivered`). A message the server cannot take now (stopping,
 * a push that throws) is NAKed: delivered again at once, to any server. One
 * that can never be read (not gzip when it says so) is terminated, counted.
 * While the pipeline pushes back the consumer waits before the next message
 * and tells JetStream it is still working on it (no redelivery meanwhile);
 * so it does for messages whose events are still being stored. A message
 * delivered again to the server that took it (an ack lost when a NATS node
 * died) is answered like the first delivery, not pushed twice (handled.ts).
 * NATS unreachable: the state is degraded and the consumer retries; the
 * client reconnects by itself.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Pipeline, Source, SourceStatus } from '../../core/pipeline.js';
import { Health, problemOf } from '../../core/health.js';
import type { BusConfig } from '../../bus/config.js';
import { AGENT_HEADER, connectBus, ensureRecordsStream, isNotFound, recordsStreamName, recordsWildcard } from '../../bus/jetstream.js';
import { decodeRecords } from './decode.js';
import { HandledMessages } from './handled.js';

const gunzipAsync = promisify(gunzip);
const CONNECT_TIMEOUT_MS = 5_000;
const RETRY_MS = 1_000;
/**
 * How long one pull request stays open at the server. `consume()` keeps
 * pulls outstanding and renews them (a missed heartbeat under load re-pulls;
 * with `fetch()` it ended the iterator, and the messages it had buffered
 * waited out ack_wait: seen under a loaded machine).
 */
const PULL_EXPIRES_MS = 30_000;
/** A message whose events could not be stored comes again after this long. */
const STORE_RETRY_MS = 1_000;
/** At stop, how long acknowledgements still waiting for the store are waited for. */
const STOP_ACK_WAIT_MS = 5_000;

/** Resolves true once the events of the record with this seq are stored, false when they will not be. */
export type StoredFn = (seq: number) => Promise<boolean>;

export interface BusCounters {
  messages: number;
  /** Messages acknowledged (their records' events stored). */
  acked: number;
  /** Messages NAKed because their events could not be stored. */
  store_failed: number;
  records: number;
  bytes: number;
  /** Messages that came again (their first server did not acknowledge them in time, or NAKed them). */
  redelivered: number;
  /** Redelivered messages this server had taken already: answered like the first delivery, not pushed again. */
  repeats_skipped: number;
  naked: number;
  bad_messages: number;
  bad_records: number;
}

export class BusSource implements Source {
  readonly name = 'bus';
  readonly type = 'nats';
  readonly stream = '*';
  readonly health = new Health('source', 'bus', 'nats');
  readonly counters: BusCounters = { messages: 0, acked: 0, store_failed: 0, records: 0, bytes: 0, redelivered: 0, repeats_skipped: 0, naked: 0, bad_messages: 0, bad_records: 0 };
  readonly #cfg: BusConfig;
  readonly #clientName: string;
  readonly #storedFn: StoredFn | undefined;
  /** Acknowledgements waiting for the store. */
  readonly #pending = new Set<Promise<void>>();
  /** Messages whose acknowledgement waits for the store: told "still working" on one shared timer. */
  readonly #waiting = new Set<JsMsg>();
  #working: NodeJS.Timeout | undefined;
  readonly #handled = new HandledMessages();
  #pipeline: Pipeline | undefined;
  #nc: NatsConnection | undefined;
  #iter: ConsumerMessages | undefined;
  #run: Promise<void> | undefined;
  #stopping = false;
  #wakeRetry: (() => void) | undefined;
  /** The pipeline asked to wait; resolved on its drain. */
  #paused: Promise<void> | undefined;
  #stopSignal: () => void = () => undefined;
  readonly #stopped = new Promise<void>((r) => (this.#stopSignal = r));

  constructor(cfg: BusConfig, clientName: string, stored?: StoredFn) {
    this.#cfg = cfg;
    this.#clientName = clientName;
    this.#storedFn = stored;
  }

  async start(pipeline: Pipeline): Promise<void> {
    this.#pipeline = pipeline;
    this.health.set('starting');
    this.#working = setInterval(() => {
      for (const m of this.#waiting) m.working();
    }, Math.max(100, Math.floor(this.#cfg.ack_wait / 3)));
    this.#working.unref();
    this.#run = this.#loop();
  }

  /** Stop pulling; what was fetched and not pushed is NAKed (another server takes it at once); acks flushed. */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#run;
    this.#stopping = true;
    this.#stopSignal();
    this.#wakeRetry?.();
    this.#iter?.stop();
    await this.#run;
    // what was pushed is acknowledged once its events are stored (the engine keeps working meanwhile)
    if (this.#pending.size > 0) await Promise.race([Promise.all(this.#pending), new Promise((r) => setTimeout(r, STOP_ACK_WAIT_MS).unref())]);
    clearInterval(this.#working);
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined && !nc.isClosed()) await Promise.race([nc.drain().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.health.set('stopped');
  }

  status(): SourceStatus {
    return {
      name: this.name,
      type: this.type,
      stream: this.stream,
      ...this.health.view(),
      counters: { ...this.counters },
      stream_name: recordsStreamName(this.#cfg.prefix),
      consumer: this.#cfg.consumer,
      connected: this.#nc !== undefined && !this.#nc.isClosed(),
    };
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#consume();
      } catch (err) {
        if (this.#stopping) break;
        this.health.set('degraded', { ...problemOf(err, 'nats'), message: `cannot consume from JetStream (${(err as Error).message}): retrying` });
        await new Promise<void>((r) => {
          this.#wakeRetry = r;
          setTimeout(r, RETRY_MS).unref();
        });
        this.#wakeRetry = undefined;
      }
    }
  }

  async #consume(): Promise<void> {
    if (this.#nc === undefined || this.#nc.isClosed()) this.#nc = await connectBus(this.#cfg, this.#clientName, CONNECT_TIMEOUT_MS);
    const nc = this.#nc;
    const jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
    await ensureRecordsStream(jsm, this.#cfg);
    const stream = recordsStreamName(this.#cfg.prefix);
    const want = { durable_name: this.#cfg.consumer, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(this.#cfg.ack_wait), filter_subject: recordsWildcard(this.#cfg.prefix), max_deliver: -1 };
    try {
      const info = await jsm.consumers.info(stream, this.#cfg.consumer);
      if (info.config.ack_wait !== want.ack_wait) await jsm.consumers.update(stream, this.#cfg.consumer, { ack_wait: want.ack_wait });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.consumers.add(stream, want).catch(async (e: unknown) => {
        // another server created it in between
        await jsm.consumers.info(stream, this.#cfg.consumer).catch(() => Promise.reject(e));
      });
    }
    const consumer = await jetstream(nc).consumers.get(stream, this.#cfg.consumer);
    this.health.set('running');
    const iter = await consumer.consume({ max_messages: this.#cfg.fetch_batch, expires: PULL_EXPIRES_MS });
    this.#iter = iter;
    if (this.#stopping) iter.stop();
    for await (const m of iter) {
      if (this.#stopping) {
        this.#nak(m);
        continue;
      }
      await this.#handle(m);
    }
    // ended by stop(); otherwise (the consumer deleted, the connection closed) the loop starts over
    if (!this.#stopping) throw new Error('the JetStream consumer ended');
  }

  async #handle(m: JsMsg): Promise<void> {
    const c = this.counters;
    if (m.info.deliveryCount > 1) c.redelivered++;
    // Not only a redelivery: a JetStream that lost its consumer's state (NATS stopped before it kept
    // the acks) delivers a message this server took as a first delivery again.
    if (this.#handled.answerRepeat(m.seq, m, STORE_RETRY_MS)) {
      c.repeats_skipped++;
      return;
    }
    // the pipeline pushed back on the last message: wait, telling JetStream this one is being worked on
    if (this.#paused !== undefined) {
      const keepAlive = setInterval(() => m.working(), Math.max(100, Math.floor(this.#cfg.ack_wait / 3)));
      await Promise.race([this.#paused, this.#stopped]);
      clearInterval(keepAlive);
      if (this.#stopping) return this.#nak(m);
    }
    let bytes: Buffer;
    try {
      const gz = m.headers?.get('Content-Encoding') === 'gzip';
      bytes = gz ? await gunzipAsync(m.data) : Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length);
    } catch {
      c.bad_messages++;
      this.#pipeline!.drop('bus', 'bad_message', 1);
      m.term('unreadable: not gzip');
      return;
    }
    const agent = m.headers?.get(AGENT_HEADER) || 'unknown';
    const d = decodeRecords(bytes, agent, Date.now());
    if (d.bad > 0) {
      c.bad_records += d.bad;
      this.#pipeline!.drop('bus', 'bad_record', d.bad);
    }
    if (this.#stopping) return this.#nak(m);
    let more: boolean;
    try {
      more = d.records.length === 0 ? true : this.#pipeline!.push(d.records);
    } catch {
      return this.#nak(m);
    }
    c.messages++;
    c.records += d.records.length;
    c.bytes += m.data.length;
    this.#ackWhenStored(m, d.records.length > 0 ? this.#pipeline!.lastSeq() : 0);
    if (!more && this.#paused === undefined) {
      this.#paused = new Promise<void>((r) => this.#pipeline!.onDrain(() => {
        this.#paused = undefined;
        r();
      }));
    }
  }

  /** Acknowledge `m` once the events of its records (up to `seq`) are stored; NAK it when they cannot be. */
  #ackWhenStored(m: JsMsg, seq: number): void {
    if (this.#storedFn === undefined || seq === 0) {
      m.ack();
      this.counters.acked++;
      this.#handled.taken(m.seq, true);
      return;
    }
    const answer = this.#storedFn(seq);
    this.#handled.taken(m.seq, answer);
    this.#waiting.add(m);
    const p: Promise<void> = answer.then((ok) => {
      if (ok) {
        m.ack();
        this.counters.acked++;
      } else {
        this.counters.store_failed++;
        m.nak(STORE_RETRY_MS);
      }
    }).finally(() => {
      this.#pending.delete(p);
      this.#waiting.delete(m);
    });
    this.#pending.add(p);
  }

  #nak(m: JsMsg): void {
    this.counters.naked++;
    m.nak();
  }
}
