/**
 * The forward stage's JetStream transport (`role = "agent"`): a spooled
 * batch becomes one message per stream and source in it (subject
 * `<prefix>.records.<stream>.<source>`, bus/jetstream.ts), each published
 * with a publish acknowledgement and `Nats-Msg-Id` = `<batch key>-<part>`.
 * The parts of a batch are cut the same way every time it is sent (by the
 * lines' order of first appearance, and by max_payload), so a batch sent
 * again after a crash or a lost acknowledgement carries the same ids, and
 * JetStream's duplicate window (`bus.duplicate_window`) stores it once. The
 * batch is safe (it leaves the spool) only when every part is acknowledged.
 *
 * Unreachable NATS, no JetStream answer within `timeout`, no stream yet:
 * retryable (the spool holds, the sources pause at its limit). A connection
 * lost while parts are in flight fails the send at once (their answers may
 * never come; waiting out `timeout` would stall the spool after NATS is
 * back), and while the client reconnects sends fail fast; the retry sends
 * every part again under the same ids. A single
 * record larger than the server's max_payload can never be published: a
 * permanent failure (dead-letter file).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { BusConfig } from '../../bus/config.js';
import { busUrls, connectBus, ensureRecordsStream, messageHeaders, recordsStreamName, recordsSubject } from '../../bus/jetstream.js';
import type { ForwardTransport, OutgoingBatch, SendResult } from './transport.js';

const gzipAsync = promisify(gzip);
/** Room left in a message for its headers and subject. */
const HEADROOM = 4096;

export interface BatchPart {
  stream: string;
  source: string;
  /** Its NDJSON lines, in the batch's order. */
  ndjson: Buffer;
  records: number;
}

export class JetStreamTransport implements ForwardTransport {
  readonly target: string;
  readonly peer = 'JetStream';
  /** Parts JetStream answered as duplicates (a batch sent again within the duplicate window). */
  duplicates = 0;
  /** Messages published (acknowledged). */
  published = 0;
  readonly #cfg: BusConfig;
  readonly #name: string;
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #closed = false;
  /** False from a disconnect until the client reconnected. */
  #connected = false;
  /** Sends in flight, failed when the connection is lost. */
  readonly #onLost = new Set<(err: Error) => void>();

  constructor(cfg: BusConfig, name: string) {
    this.#cfg = cfg;
    this.#name = name;
    this.target = `${busUrls(cfg.url)} (JetStream stream ${recordsStreamName(cfg.prefix)})`;
  }

  async send(b: OutgoingBatch, timeoutMs: number): Promise<SendResult> {
    const started = performance.now();
    const done = (r: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...r, latencyMs: Math.round((performance.now() - started) * 100) / 100 });
    let js: JetStreamClient;
    try {
      js = await this.#ready(timeoutMs);
    } catch (err) {
      return done({ ok: false, status: null, retryable: true, error: `cannot reach JetStream at ${this.target}: ${(err as Error).message}`, snippet: '' });
    }
    if (!this.#connected) return done({ ok: false, status: null, retryable: true, error: 'the NATS connection is lost: reconnecting', snippet: '' });
    const max = (this.#nc?.info?.max_payload ?? 1024 * 1024) - HEADROOM;
    const parts = splitBatch(b.ndjson, max);
    if (parts === undefined) return done({ ok: false, status: null, retryable: false, error: 'a record is larger than the NATS server\'s max_payload', snippet: `a record of this batch is larger than max_payload (${max + HEADROOM} bytes) and cannot be published` });
    const agent = b.key.slice(0, b.key.lastIndexOf('-'));
    let lost: ((err: Error) => void) | undefined;
    try {
      await Promise.race([
        Promise.all(parts.map(async (p, i) => {
          const data = this.#cfg.publish.gzip ? await gzipAsync(p.ndjson, { level: 1 }) : p.ndjson;
          const ack = await js.publish(recordsSubject(this.#cfg.prefix, p.stream, p.source), data, { msgID: `${b.key}-${i}`, timeout: timeoutMs, headers: messageHeaders(agent, this.#cfg.publish.gzip) });
          if (ack.duplicate) this.duplicates++;
          else this.published++;
        })),
        new Promise<never>((_, reject) => this.#onLost.add((lost = reject))),
      ]);
    } catch (err) {
      // some parts may be stored: the retry sends every part again under the same ids (stored once)
      return done({ ok: false, status: null, retryable: true, error: (err as Error).message, snippet: '' });
    } finally {
      if (lost !== undefined) this.#onLost.delete(lost);
    }
    return done({ ok: true, status: null, retryable: false, error: null, snippet: '' });
  }

  stats(): Record<string, number> {
    return { published: this.published, duplicates: this.duplicates };
  }

  close(): void {
    this.#closed = true;
    const nc = this.#nc;
    this.#nc = undefined;
    this.#js = undefined;
    void nc?.close().catch(() => undefined);
  }

  async #ready(timeoutMs: number): Promise<JetStreamClient> {
    if (this.#js !== undefined && this.#nc !== undefined && !this.#nc.isClosed()) return this.#js;
    if (this.#closed) throw new Error('closed');
    const nc = await connectBus(this.#cfg, this.#name, timeoutMs);
    try {
      await ensureRecordsStream(await jetstreamManager(nc, { timeout: timeoutMs }), this.#cfg);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await nc.close();
      throw new Error('closed');
    }
    this.#nc = nc;
    this.#js = jetstream(nc, { timeout: timeoutMs });
    this.#connected = true;
    void this.#watch(nc);
    return this.#js;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'staleConnection') {
        this.#connected = false;
        for (const f of this.#onLost) f(new Error('the NATS connection was lost'));
      } else if (s.type === 'reconnect') this.#connected = true;
    }
  }
}

/**
 * A batch's lines grouped by stream and source (in the order each first
 * appears), a group cut where it would pass `max` bytes; undefined when a
 * single line is larger than `max`. The same batch is always cut the same way.
 */
export function splitBatch(ndjson: Buffer, max: number): BatchPart[] | undefined {
  const groups = new Map<string, { stream: string; source: string; lines: [number, number][] }>();
  for (let start = 0; start < ndjson.length; ) {
    let end = ndjson.indexOf(0x0a, start);
    if (end < 0) end = ndjson.length;
    else end++;
    if (end - start > 1) {
      const r = lineRoute(ndjson, start, end);
      const key = r.stream + '\u0000' + r.source;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { ...r, lines: [] }));
      g.lines.push([start, end]);
    }
    start = end;
  }
  const out: BatchPart[] = [];
  for (const g of groups.values()) {
    let from = 0;
    while (from < g.lines.length) {
      let bytes = 0;
      let to = from;
      for (; to < g.lines.length; to++) {
        const len = g.lines[to]![1] - g.lines[to]![0];
        if (bytes + len > max) break;
        bytes += len;
      }
      if (to === from) return undefined;
      out.push({ stream: g.stream, source: g.source, records: to - from, ndjson: Buffer.concat(g.lines.slice(from, to).map(([a, b]) => ndjson.subarray(a, b))) });
      from = to;
    }
  }
  return out;
}

/** The `"source"` and `"stream"` of a wire record line (`{"seq":N,"time":"...","source":"...","stream":"...",...`), without parsing the rest. */
export function lineRoute(buf: Buffer, start: number, end: number): { stream: string; source: string } {
  const source = jsonStringAt(buf, buf.indexOf('"source":"', start) + 9, end);
  const stream = source === undefined ? undefined : jsonStringAt(buf, buf.indexOf('"stream":"', source.end) + 9, end);
  if (source === undefined || stream === undefined) {
    // not the wire layout (not expected: the forward stage writes it): read the whole line
    const o = JSON.parse(buf.toString('utf8', start, end)) as { source?: unknown; stream?: unknown };
    return { source: String(o.source ?? ''), stream: String(o.stream ?? '') };
  }
  return { source: source.value, stream: stream.value };
}

function jsonStringAt(buf: Buffer, at: number, end: number): { value: string; end: number } | undefined {
  if (at < 9 || at >= end || buf[at] !== 0x22) return undefined;
  for (let i = at + 1; i < end; i++) {
    if (buf[i] === 0x5c) i++;
    else if (buf[i] === 0x22) return { value: JSON.parse(buf.toString('utf8', at, i + 1)) as string, end: i + 1 };
  }
  return undefined;
}

