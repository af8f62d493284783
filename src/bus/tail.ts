/**
 * `role = "server"`: the live tail of the whole cluster, the same on every
 * server. Each server reads the records stream from JetStream with an
 * ordered consumer of its own (every message, not only those it handles)
 * into a hub of its own, which the SSE routes and `/api/records` serve.
 *
 * A record's id there (its SSE `id:` and its `seq`) follows from where it
 * is in JetStream: `tailId(message seq, position in the message)` =
 * message seq × 1,000,000 + position. Every server gives a record the same
 * id, so a client that resumes with `Last-Event-ID` on another server goes
 * on where it was, with no gap and no repeat, as long as that server's ring
 * still holds the point (its `replay` limits; a point older than the ring is
 * told as a gap, as on one daemon). A server whose tail is behind the point
 * waits for it rather than serve what the client had.
 *
 * At start a server fills its ring from the stream's recent messages (about
 * the ring's bytes), then follows it. The ordered consumer resumes by itself
 * after a NATS reconnect; if it ends it is made again after the last message
 * read. A message that cannot be read (not gzip when it says so) or a line
 * that is not a wire record is skipped and counted (`bad_messages`,
 * `bad_records`, and `sluice_dropped_total{stage="tail",reason}`).
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { Hub, type HubOptions } from '../hub/hub.js';
import { decodeRecords } from '../sources/nats/decode.js';
import type { BusConfig } from './config.js';
import { AGENT_HEADER, connectBus, ensureRecordsStream, recordsStreamName } from './jetstream.js';

const gunzipAsync = promisify(gunzip);
const CONNECT_TIMEOUT_MS = 5_000;
const RETRY_MS = 1_000;
/**
 * How often a tail that got nothing checks whether the stream moved on
 * without it. An ordered consumer whose node died can sit silent with
 * messages pending (seen with a three-node cluster losing a node); it is
 * then made again after the last message read.
 */
const WATCH_MS = 3_000;
/** Messages read at start at most, whatever their size. */
const BACKFILL_MAX_MESSAGES = 10_000;

/** Ids per JetStream message: a message holds fewer records (NATS's largest payload, 64 MiB, holds < 1,000,000 wire records). */
export const TAIL_SPAN = 1_000_000;

/** A record's id in a cluster's live tail. */
export function tailId(messageSeq: number, position: number): number {
  return messageSeq * TAIL_SPAN + position;
}

export interface TailCounters {
  messages: number;
  records: number;
  bad_messages: number;
  bad_records: number;
  /** The JetStream sequence of the last message read (0: none yet). */
  last_message: number;
  /** Messages in the stream not read yet, as JetStream last said. */
  pending: number;
  /** Times the consumer was made again because it went silent while the stream moved on. */
  restarts: number;
}

/** `p`, or an error after CONNECT_TIMEOUT_MS (what it gives later is handed to `late`). */
function within<T>(p: Promise<T>, what: string, late?: (v: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what}: no answer within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
  });
  void p.then((v) => {
    if (timedOut) late?.(v);
  }, () => undefined);
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class ClusterTail {
  readonly hub: Hub;
  readonly counters: TailCounters = { messages: 0, records: 0, bad_messages: 0, bad_records: 0, last_message: 0, pending: 0, restarts: 0 };
  readonly #cfg: BusConfig;
  readonly #backfillBytes: number;
  readonly #log: (msg: string) => void;
  readonly #drop: HubOptions['drop'];
  #nc: NatsConnection | undefined;
  #iter: ConsumerMessages | undefined;
  #run: Promise<void> | undefined;
  #stopping = false;

  /** `hub` as the daemon's (its streams' ring limits and drop counter); `backfillBytes`: about what its rings hold. */
  constructor(cfg: BusConfig, hub: Omit<HubOptions, 'seqStart'>, backfillBytes: number, log: (msg: string) => void) {
    this.#cfg = cfg;
    this.hub = new Hub({ ...hub, seqStart: 0, resumeAhead: true });
    for (const name of Object.keys(hub.streams)) this.hub.ensureStream(name);
    this.#backfillBytes = backfillBytes;
    this.#drop = hub.drop;
    this.#log = log;
  }

  /** Connect and follow the stream in the background (NATS away: retried every second). */
  start(): void {
    this.#run = this.#loop();
  }

  status(): Record<string, unknown> {
    return { ...this.counters, connected: this.#nc !== undefined && !this.#nc.isClosed(), stream: recordsStreamName(this.#cfg.prefix) };
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#iter?.stop();
    await this.#run;
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined && !nc.isClosed()) await Promise.race([nc.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#follow();
      } catch (err) {
        if (this.#stopping) break;
        this.#log(`live tail from JetStream: ${(err as Error).message}: retrying`);
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
      }
    }
  }

  async #follow(): Promise<void> {
    if (this.#nc === undefined || this.#nc.isClosed()) this.#nc = await connectBus(this.#cfg, `sluice-server-tail-${hostname()}-${process.pid}`, CONNECT_TIMEOUT_MS);
    const nc = this.#nc;
    const jsm = await jetstreamManager(nc, { timeout: CONNECT_TIMEOUT_MS });
    await ensureRecordsStream(jsm, this.#cfg);
    const stream = recordsStreamName(this.#cfg.prefix);
    let start = this.counters.last_message + 1;
    if (this.counters.last_message === 0) {
      // the first time: the recent messages, about what the rings hold
      const { state } = await jsm.streams.info(stream);
      const avg = state.messages > 0 ? state.bytes / state.messages : 1;
      const n = Math.min(BACKFILL_MAX_MESSAGES, Math.max(1, Math.ceil(this.#backfillBytes / Math.max(1, avg))));
      start = Math.max(state.first_seq, state.last_seq - n + 1, 1);
      // from the stream's first message a resume from before it missed nothing the stream has
      this.hub.startAfter(tailId(start, 0) - 1, start > state.first_seq);
    }
    // (bounded: with a JetStream cluster electing a leader these could wait on and on, and the watch below
    // only looks at a consumer that has started)
    const consumer = await within(jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }), 'getting an ordered consumer');
    const iter = await within(consumer.consume(), 'starting the ordered consumer', (late) => late.stop());
    this.#iter = iter;
    if (this.#stopping) iter.stop();
    let seen = this.counters.last_message;
    let stalled = false;
    const watch = setInterval(() => {
      if (this.counters.last_message !== seen) {
        seen = this.counters.last_message;
        return;
      }
      jsm.streams.info(stream).then((i) => {
        if (i.state.last_seq > this.counters.last_message && this.counters.last_message === seen && !this.#stopping) {
          stalled = true;
          this.counters.restarts++;
          iter.stop();
        }
      }, () => undefined);
    }, WATCH_MS);
    try {
      for await (const m of iter) {
        if (this.#stopping) break;
        await this.#take(m);
      }
    } finally {
      clearInterval(watch);
    }
    if (!this.#stopping) throw new Error(stalled ? `no message for ${WATCH_MS} ms while the stream has more: following it again` : 'the ordered consumer ended');
  }

  async #take(m: JsMsg): Promise<void> {
    const c = this.counters;
    // a message read already (a consumer made again while the old one still had some buffered): its records are held
    if (m.seq <= c.last_message) return;
    c.last_message = m.seq;
    c.pending = m.info.pending;
    c.messages++;
    let bytes: Buffer;
    try {
      const gz = m.headers?.get('Content-Encoding') === 'gzip';
      bytes = gz ? await gunzipAsync(m.data) : Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length);
    } catch {
      c.bad_messages++;
      this.#drop('tail', 'bad_message', 1);
      return;
    }
    const d = decodeRecords(bytes, m.headers?.get(AGENT_HEADER) || 'unknown', Date.now());
    c.bad_records += d.bad;
    if (d.bad > 0) this.#drop('tail', 'bad_record', d.bad);
    const recs = d.records;
    if (recs.length === 0) return;
    for (let i = 0; i < recs.length; i++) recs[i]!.seq = tailId(m.seq, i);
    if (this.hub.publishWithSeqs(recs)) c.records += recs.length;
  }
}
