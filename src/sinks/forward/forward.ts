/**
 * The forward sink (`[[forward]]`): a durable stage after the hub that ships
 * records to a central Sluice and loses nothing it accepted.
 *
 * Records are written as wire NDJSON (the hub's bytes copied, not
 * re-serialized) into an open batch sealed by count, bytes or age, and
 * appended to the disk spool (spool.ts) when sealed. Until then the open
 * batch's lines are journaled before `push` returns (journal.ts), because
 * the source checkpoints past them right after. One sender hands the spool's oldest batch at a time,
 * in order, to the transport (transport.ts: HTTP to a central's ingest, or
 * JetStream publish, jetstream.ts) with a key made of this agent's id and
 * the batch id (the same across retries and restarts: an `Idempotency-Key`
 * or a `Nats-Msg-Id`, so the other end takes a batch once however often it
 * arrives); a batch leaves the spool only when the transport says it is
 * safe there (a 2xx, a publish acknowledgement). What the transport calls
 * retryable (network errors, 408, 429 with its Retry-After honoured, 5xx, no
 * JetStream answer) is retried with exponential backoff and jitter; any
 * other answer is permanent: the batch goes to a dead-letter file with the
 * answer, counted.
 *
 * Past `spool_max`, `on_full = "pause"` makes `push` answer false (the
 * sources wait; files and TCP peers hold, checkpoints do not advance) and
 * `"drop_oldest"` drops whole oldest batches, counted with their records.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DurableStage } from '../../core/pipeline-runtime.js';
import { Health, type Problem } from '../../core/health.js';
import type { ForwardView } from '../../core/metrics.js';
import type { LogRecord } from '../../core/record.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/private-dir.js';
import { encodedTail, recordStart, tailStart, type EncodedBatch } from '../../wire/encoded.js';
import { SEQ_KEY_BYTES, seqDigits, seqsFit, writeSeq } from '../../wire/seq.js';
import { serializeRecord } from '../../wire/json.js';
import type { ForwardConfig } from './config.js';
import { Journal } from './journal.js';
import { HttpTransport, type ForwardTransport, type OutgoingBatch, type SendResult } from './transport.js';
import { Spool, type RecoverReport, type SpooledBatch } from './spool.js';
import type { BaseLookup } from '../../triggers/ssrf.js';


export interface ForwardOptions {
  name: string;
  dataDir: string;
  drop(stage: string, reason: string, n: number): void;
  log(msg: string): void;
  lookup?: BaseLookup;
  /** Where batches go (default: HTTP to `cfg.url`). */
  transport?: ForwardTransport;
}

/** The spool and batching settings (a `[[forward]]` without its HTTP keys; `[bus.publish]` has the same). */
export type SpoolSettings = Omit<ForwardConfig, 'name' | 'url' | 'token' | 'allow_hosts'>;

export interface ForwardCounters {
  batches_sent: number;
  records_sent: number;
  bytes_sent: number;
  retries: number;
  dead_lettered: number;
  dropped_batches: number;
  dropped_records: number;
  recovered_batches: number;
  corrupt_frames: number;
  corrupt_bytes: number;
  send_ms_total: number;
}

export class ForwardStage implements DurableStage {
  readonly name: string;
  readonly counters: ForwardCounters = { batches_sent: 0, records_sent: 0, bytes_sent: 0, retries: 0, dead_lettered: 0, dropped_batches: 0, dropped_records: 0, recovered_batches: 0, corrupt_frames: 0, corrupt_bytes: 0, send_ms_total: 0 };
  readonly #cfg: SpoolSettings;
  readonly #opts: ForwardOptions;
  readonly #spool: Spool;
  readonly #transport: ForwardTransport;
  readonly #streams: Set<string> | undefined;
  readonly #agentId: string;
  // the open batch
  #buf: Buffer;
  #len = 0;
  #count = 0;
  #openedAt = 0;
  /** The open batch's reserved id. */
  #openId = 0;
  readonly #journal: Journal;
  #drainCbs: (() => void)[] = [];
  #ageTimer: NodeJS.Timeout | undefined;
  // the sender
  #inFlight: SpooledBatch | undefined;
  #wake: (() => void) | undefined;
  #stopping = false;
  #closed = false;
  #stopCalled: Promise<void> | undefined;
  #sender: Promise<void> | undefined;
  #attempt = 0;
  /** The last batch read from the spool and its bytes (sent next after it was prepared). */
  #readAhead: { b: SpooledBatch; raw: Buffer } | undefined;
  /** The central's last refusal: its status and the start of its answer. */
  #lastAnswer: { at: string; status: number | null; snippet: string } | undefined;
  /** degraded while batches are refused or cannot be sent; the reason in its last error. */
  readonly health: Health;

  constructor(cfg: ForwardConfig | SpoolSettings, opts: ForwardOptions) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.name = `forward:${opts.name}`;
    this.health = new Health('sink', opts.name, 'forward');
    const dir = path.join(opts.dataDir, 'spool', opts.name);
    this.#spool = new Spool(dir, { fsync: cfg.fsync, fsyncIntervalMs: cfg.fsync_interval });
    this.#transport = opts.transport ?? new HttpTransport(cfg as ForwardConfig, opts.lookup);
    this.#streams = cfg.streams.length > 0 ? new Set(cfg.streams) : undefined;
    this.#agentId = agentId(dir);
    this.#journal = new Journal(dir);
    this.#buf = Buffer.allocUnsafe(cfg.batch_bytes + 64 * 1024);
  }

  /** Load the spool an earlier run left (sent first, in order; its open batch sealed) and start sending. */
  start(): RecoverReport {
    const r = this.#spool.open();
    this.#journal.recover(this.#spool, r);
    this.counters.recovered_batches += r.batches;
    this.counters.corrupt_frames += r.corrupt_frames;
    this.counters.corrupt_bytes += r.corrupt_bytes;
    if (r.corrupt_frames > 0) {
      this.#opts.drop('forward', 'spool_corrupt', r.corrupt_frames);
      this.#opts.log(`${this.name}: the spool had ${r.corrupt_frames} damaged frame(s), ${r.corrupt_bytes} bytes skipped; ${r.batches} good batch(es) kept`);
    }
    this.#ageTimer = setInterval(() => {
      if (this.#count > 0 && Date.now() - this.#openedAt >= this.#cfg.batch_age) this.#seal();
    }, Math.max(10, Math.min(this.#cfg.batch_age, 250)));
    this.#ageTimer.unref();
    this.#sender = this.#sendLoop();
    this.health.set('running');
    return r;
  }

  push(records: LogRecord[]): boolean {
    for (const r of records) {
      if (this.#streams !== undefined && !this.#streams.has(r.stream)) continue;
      this.#add(r);
    }
    // on disk before the source checkpoints past these records
    this.#journal.tail(this.#buf, this.#len, this.#openId);
    return this.#hasRoom();
  }

  onDrain(cb: () => void): void {
    this.#drainCbs.push(cb);
    this.#maybeDrain();
  }

  /**
   * SIGTERM: the open batch is sealed and spooled, and the sender gets until
   * `deadline` (epoch ms) to empty the spool; what is left stays on disk for
   * the next start (nothing acknowledged is sent twice: it left the spool).
   */
  async stop(deadline: number): Promise<void> {
    if (this.#stopCalled) return this.#stopCalled;
    this.#stopCalled = this.#stop(deadline);
    return this.#stopCalled;
  }

  async #stop(deadline: number): Promise<void> {
    clearInterval(this.#ageTimer);
    this.#seal();
    while (this.#spool.batches > 0 && Date.now() < deadline && this.#attempt === 0) await sleep(20);
    this.#stopping = true;
    this.#wake?.();
    await Promise.race([this.#sender, sleep(Math.max(0, deadline - Date.now()))]);
    this.#closed = true;
    this.#transport.close();
    this.#spool.close();
    this.#journal.close();
    this.health.set('stopped');
  }

  status(): ForwardView & Record<string, unknown> {
    const oldest = this.#spool.oldestCreated;
    return {
      name: this.#opts.name,
      url: this.#transport.target,
      spool_bytes: this.#spool.bytes,
      spool_batches: this.#spool.batches,
      spool_records: this.#spool.records,
      spool_max: this.#cfg.spool_max,
      oldest_unacked_s: oldest === undefined ? null : Math.max(0, (Date.now() - oldest) / 1000),
      open_batch_records: this.#count,
      avg_send_ms: this.counters.batches_sent > 0 ? Math.round((this.counters.send_ms_total / this.counters.batches_sent) * 100) / 100 : null,
      counters: { ...this.counters } as unknown as Record<string, number>,
      ...(this.#transport.stats !== undefined ? { transport: this.#transport.stats() } : {}),
      ...this.health.view(),
      ...(this.#lastAnswer !== undefined ? { last_answer: this.#lastAnswer } : {}),
    };
  }

  // ------------------------------------------------------------ batching

  /**
   * The hub's bytes of an encoded batch: each record copied whole when the
   * hub stamped its seq in place (the usual case: the batch is NDJSON as it
   * lies), else its tail behind a seq written here. No record object, no
   * string per record (those were a fifth of an agent's main thread).
   */
  pushEncoded(b: EncodedBatch, first: number): boolean {
    if (this.#streams === undefined || this.#streams.has(b.stream)) {
      const n = b.ends.length;
      const whole = b.digits > 0 && seqsFit(first, n, b.digits);
      for (let i = 0; i < n; i++) {
        const start = whole ? recordStart(b, i) : tailStart(b, i);
        const end = b.ends[i]!;
        // a whole record's '\n' is at its end; a tail gets `{"seq":N` and a '\n' here
        const need = whole ? end + 1 - start : SEQ_KEY_BYTES + seqDigits(first + i) + end - start + 1;
        this.#room(need);
        if (whole) this.#len += b.buf.copy(this.#buf, this.#len, start, end + 1);
        else {
          this.#len = writeSeq(this.#buf, this.#len, first + i);
          this.#len += b.buf.copy(this.#buf, this.#len, start, end);
          this.#buf[this.#len++] = 0x0a;
        }
        this.#count++;
      }
    }
    this.#journal.tail(this.#buf, this.#len, this.#openId);
    return this.#hasRoom();
  }

  #add(r: LogRecord): void {
    const tail = encodedTail(r);
    const head = '{"seq":' + r.seq;
    const text = tail === undefined ? serializeRecord(r) : undefined;
    this.#room(tail !== undefined ? head.length + (tail.end - tail.start) + 1 : Buffer.byteLength(text!) + 1);
    if (tail !== undefined) {
      this.#len += this.#buf.write(head, this.#len, 'latin1');
      this.#len += tail.buf.copy(this.#buf, this.#len, tail.start, tail.end);
    } else this.#len += this.#buf.write(text!, this.#len, 'utf8');
    this.#buf[this.#len++] = 0x0a;
    this.#count++;
  }

  /** Room for a record of `need` bytes in the open batch: the batch sealed first when it would pass its bounds, opened when empty. */
  #room(need: number): void {
    if (this.#count > 0 && (this.#len + need > this.#cfg.batch_bytes || this.#count >= this.#cfg.batch_records)) this.#seal();
    if (this.#len + need > this.#buf.length) this.#buf = grow(this.#buf, this.#len, this.#len + need);
    if (this.#count === 0) {
      this.#openedAt = Date.now();
      this.#openId = this.#spool.reserveId();
    }
  }

  /** Seal the open batch: into the spool under its reserved id, the journal emptied. */
  #seal(): void {
    if (this.#count === 0) return;
    // the spool writes it before append returns and keeps no reference: no copy
    const payload = this.#buf.subarray(0, this.#len);
    const records = this.#count;
    this.#len = 0;
    this.#count = 0;
    try {
      this.#spoolBatch(payload, records, this.#openedAt, this.#openId);
    } catch (err) {
      // a local write failed (disk full, ...): the records are still in the journal; counted and said
      this.#opts.drop('forward', 'spool_error', records);
      this.#opts.log(`${this.name}: could not spool a batch of ${records} records: ${(err as Error).message}`);
    }
    this.#journal.truncate();
  }

  #spoolBatch(payload: Buffer, records: number, created: number, id: number): void {
    if (this.#cfg.on_full === 'drop_oldest') {
      const d = this.#spool.dropOldest(this.#cfg.spool_max, payload.length, this.#inFlight);
      if (d.batches > 0) {
        this.counters.dropped_batches += d.batches;
        this.counters.dropped_records += d.records;
        this.#opts.drop('forward', 'spool_full', d.records);
      }
    }
    this.#spool.append(payload, records, false, created, id);
    this.#wake?.();
  }

  #hasRoom(): boolean {
    return this.#cfg.on_full !== 'pause' || this.#spool.bytes < this.#cfg.spool_max;
  }

  #maybeDrain(): void {
    if (this.#drainCbs.length === 0 || !this.#hasRoom()) return;
    const cbs = this.#drainCbs;
    this.#drainCbs = [];
    for (const cb of cbs) cb();
  }

  // ------------------------------------------------------------ sending

  async #sendLoop(): Promise<void> {
    while (!this.#stopping) {
      const b = this.#spool.peek();
      if (b === undefined) {
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
        continue;
      }
      this.#inFlight = b;
      const out = this.#outgoing(b);
      const sending = this.#transport.send(out, this.#cfg.timeout);
      // the next batch's body is made ready while this one is on its way
      const next = this.#transport.prepare !== undefined ? this.#spool.after(b) : undefined;
      if (next !== undefined) this.#transport.prepare!(this.#outgoing(next));
      const r = await sending;
      this.#inFlight = undefined;
      // stopped while the answer was on its way: the spool is closed; unacknowledged, the batch is
      // sent again at the next start under the same key (the central ingests it once)
      if (this.#closed) return;
      if (r.ok) {
        this.#spool.ack(b);
        this.#attempt = 0;
        this.counters.batches_sent++;
        this.counters.records_sent += b.records;
        this.counters.bytes_sent += b.len;
        this.counters.send_ms_total += r.latencyMs;
        this.health.recover();
        this.#maybeDrain();
        continue;
      }
      this.#lastAnswer = { at: new Date().toISOString(), status: r.status, snippet: r.snippet };
      this.health.set('degraded', sendProblem(r, !r.retryable, this.#transport.peer));
      if (!r.retryable) {
        this.#deadLetter(b, out.ndjson, r.status, r.snippet);
        this.#spool.ack(b);
        this.#attempt = 0;
        this.#maybeDrain();
        continue;
      }
      this.counters.retries++;
      const backoff = Math.min(this.#cfg.backoff_max, this.#cfg.backoff_base * 2 ** Math.min(this.#attempt, 30));
      this.#attempt++;
      const wait = r.retryAfterMs !== undefined ? Math.min(this.#cfg.backoff_max, r.retryAfterMs) : backoff / 2 + Math.random() * (backoff / 2);
      await Promise.race([sleep(wait), new Promise<void>((res) => (this.#wake = res))]);
      this.#wake = undefined;
    }
  }

  /**
   * A spooled batch as the transport sees it, its payload read from the
   * spool, once: the batch prepared ahead is sent next with the bytes read
   * for it (reading every batch twice was 5% of an agent's main thread,
   * bench/forward.ts).
   */
  #outgoing(b: SpooledBatch): OutgoingBatch {
    const ahead = this.#readAhead;
    const ndjson = ahead !== undefined && ahead.b === b ? ahead.raw : this.#spool.read(b);
    this.#readAhead = { b, raw: ndjson };
    return { ndjson, records: b.records, key: this.#key(b) };
  }

  /** A batch's key: the same across retries and restarts (`Idempotency-Key`, `Nats-Msg-Id`). */
  #key(b: SpooledBatch): string {
    return `${this.#agentId}-${b.id}`;
  }

  /** A permanent refusal: the batch and the answer go to data_dir/spool/<name>/dead/, counted; sending goes on. */
  #deadLetter(b: SpooledBatch, ndjson: Buffer, status: number | null, snippet: string): void {
    this.counters.dead_lettered++;
    this.#opts.drop('forward', 'rejected', b.records);
    const dir = path.join(this.#spool.dir, 'dead');
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    writeFileSync(path.join(dir, `${b.id}.ndjson`), ndjson, { mode: PRIVATE_FILE_MODE });
    writeFileSync(path.join(dir, `${b.id}.json`), JSON.stringify({ id: b.id, records: b.records, status, response: snippet, at: new Date().toISOString() }) + '\n', { mode: PRIVATE_FILE_MODE });
    this.#opts.log(`${this.name}: batch ${b.id} (${b.records} records) refused${status !== null ? ` with HTTP ${status}` : ''}: ${snippet.slice(0, 200)}; kept in ${dir}`);
  }
}

function grow(buf: Buffer, used: number, need: number): Buffer {
  const b = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
  buf.copy(b, 0, 0, used);
  return b;
}

/** This agent's id: random once, kept in the spool directory (idempotency keys must not collide across agents). */
function agentId(dir: string): string {
  const f = path.join(dir, 'agent-id');
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (existsSync(f)) {
    const id = readFileSync(f, 'utf8').trim();
    if (/^[0-9a-f]{16,64}$/.test(id)) return id;
  }
  const id = randomBytes(12).toString('hex');
  writeFileSync(f, id + '\n', { mode: PRIVATE_FILE_MODE });
  return id;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** A failed send as a Problem: `http_<status>`, the errno in the message (ECONNREFUSED), or `timeout`. */
function sendProblem(r: SendResult, dead: boolean, peer: string): Problem {
  const code = r.status !== null ? `http_${r.status}` : (/\b(E[A-Z0-9]{3,})\b/.exec(r.error ?? '')?.[1] ?? (r.error?.startsWith('timeout') ? 'timeout' : 'send_failed'));
  const what = r.status !== null ? `HTTP ${r.status}${r.snippet ? `: ${r.snippet.slice(0, 200)}` : ''}` : (r.error ?? 'failed');
  return { code, message: dead ? `${peer} refused a batch for good (${what}): kept in the dead-letter directory` : `cannot deliver to ${peer} (${what}): retrying` };
}
