/**
 * The HTTP ingest source (`type = "http"`): records posted to
 * `POST /api/ingest?source=NAME` (api/routes/ingest.ts finds the source in
 * the IngestRegistry it joins at start). One request is all or nothing: it
 * is refused before any of it is ingested (413 too large or a bomb, 429
 * while the pipeline pushes back, 400 when no record in it is acceptable),
 * or its good records are committed together and the answer says how many
 * (and which were bad, by line). An `Idempotency-Key` makes a repeated
 * request answer as the first one did and ingest nothing (idempotency.ts,
 * remembered across restarts).
 */
import crypto from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Pipeline, Source, SourceStatus } from '../../core/pipeline.js';
import { Health } from '../../core/health.js';
import { SluiceError } from '../../core/errors.js';
import type { ParseStage, StageCounters } from '../../parse/stage.js';
import { RecordLane } from '../records/lane.js';
import { RECORD_REASONS, type RecordReason } from '../records/record.js';
import { decodeBody, firstNonBlankByte, INGEST_ERR, parseBody, readBody, skipBom } from './body.js';
import type { Origin } from '../../core/record.js';
import { THREAD_MIN_SIZE } from '../../parse/stage.js';
import type { RecordTally } from '../records/ndjson.js';
import type { HttpSourceConfig } from './config.js';
import { IdempotencyStore } from './idempotency.js';
import type { IngestAnswer, IngestRegistry, IngestRequest, IngestTarget } from './registry.js';

/** Seconds a client is told to wait (Retry-After) while the pipeline pushes back. */
export const RETRY_AFTER_S = 1;
/** Idempotency keys longer than this are refused (they are hashed, but a client sending 1 MB keys has a bug). */
const MAX_KEY_LENGTH = 256;

export interface HttpCounters extends StageCounters, Record<RecordReason, number> {
  requests: number;
  /** Bytes as sent (compressed or not), and after inflating. */
  bytes: number;
  bytes_inflated: number;
  /** Answered 413: too large as sent, or inflating past the cap. */
  too_large: number;
  /** Answered 429 while the pipeline pushed back. */
  busy: number;
  /** Answered 400 or 415: unreadable encoding, no acceptable record, a bad key. */
  bad_request: number;
  /** Bodies cut short (the client went away mid-request): nothing of them ingested. */
  aborted: number;
  /** Repeated Idempotency-Keys answered from memory (nothing ingested). */
  replayed: number;
  /** Bodies that were not valid UTF-8 (decoded with U+FFFD in place of the bad bytes). */
  repaired_utf8: number;
}

function newCounters(): HttpCounters {
  const c = { requests: 0, aborted: 0, bytes: 0, bytes_inflated: 0, too_large: 0, busy: 0, bad_request: 0, replayed: 0, repaired_utf8: 0, lines: 0, records: 0, parsed_inline: 0, push_errors: 0 } as HttpCounters;
  for (const r of RECORD_REASONS) c[r] = 0;
  return c;
}

export interface HttpSourceOptions {
  dataDir: string;
  stage: ParseStage;
  registry: IngestRegistry;
}

export class HttpSource implements Source, IngestTarget {
  readonly name: string;
  readonly type = 'http';
  readonly stream: string;
  readonly health: Health;
  readonly tokenDigest: Buffer | undefined;
  readonly #cfg: HttpSourceConfig;
  readonly #opts: HttpSourceOptions;
  readonly #counters = newCounters();
  readonly #keys: IdempotencyStore;
  #lane: RecordLane | undefined;
  #pipeline: Pipeline | undefined;
  /** Keys of requests being ingested now, resolved when each is answered. */
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Requests past their last check, committing (each resolved once its records and key are written). */
  readonly #committing = new Set<Promise<void>>();

  constructor(cfg: HttpSourceConfig, opts: HttpSourceOptions) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.name = cfg.name;
    this.stream = cfg.stream ?? cfg.name;
    this.health = new Health('source', cfg.name, 'http');
    this.tokenDigest = cfg.token !== undefined ? crypto.createHash('sha256').update(cfg.token).digest() : undefined;
    this.#keys = new IdempotencyStore(opts.dataDir, cfg.name, cfg.idempotency_window, cfg.idempotency_max_keys);
  }

  async start(pipeline: Pipeline): Promise<void> {
    this.#pipeline = pipeline;
    this.#keys.open();
    this.#lane = new RecordLane(this.#opts.stage, { source: this.name, stream: this.stream, format: 'json', maxLineBytes: this.#cfg.max_inflated_bytes, dropStage: 'http', counters: this.#counters, transforms: this.#opts.stage.plan(this.name, this.stream, this.#cfg.transforms) });
    this.health.set('running');
    this.#opts.registry.register(this);
  }

  async stop(): Promise<void> {
    if (this.health.state === 'stopped') return;
    this.health.set('stopped');
    this.#opts.registry.unregister(this);
    // a request still reading its body is answered 503 when it gets to its commit (the state check
    // and the commit's start run in one turn); one already committing finishes first: a body checked
    // in a parse thread commits turns later, and its key must be written before the keys close, or a
    // client told "accepted" would retry after a restart and be ingested twice
    await Promise.allSettled([...this.#committing]);
    this.#lane?.close();
    this.#keys.close();
  }

  status(): SourceStatus {
    // the token is write-only: never part of status
    return {
      name: this.name,
      type: this.type,
      stream: this.stream,
      ...this.health.view(),
      counters: { ...this.#counters },
      route: `/api/ingest?source=${encodeURIComponent(this.name)}`,
      token: this.#cfg.token !== undefined,
      idempotency_keys: this.#keys.size,
      paused: this.#lane?.paused ?? false,
    };
  }

  async ingest(req: IngestRequest): Promise<IngestAnswer> {
    const c = this.#counters;
    c.requests++;
    try {
      return await this.#ingest(req);
    } catch (err) {
      if (err instanceof SluiceError) {
        if (err.code === INGEST_ERR.ABORTED.code) c.aborted++;
        else if (err.status === 413) c.too_large++;
        else if (err.status === 429) c.busy++;
        else if (err.status === 400 || err.status === 415) c.bad_request++;
      }
      throw err;
    }
  }

  async #ingest(req: IngestRequest): Promise<IngestAnswer> {
    const c = this.#counters;
    const cfg = this.#cfg;
    if (this.health.state !== 'running') throw new SluiceError(INGEST_ERR.STOPPED, `source "${this.name}" is not running`);
    let hash: string | undefined;
    if (req.idempotencyKey !== undefined) {
      const k = req.idempotencyKey;
      if (k.length === 0 || k.length > MAX_KEY_LENGTH) throw new SluiceError(INGEST_ERR.BAD_KEY, `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
      hash = IdempotencyStore.hash(k);
      const seen = this.#replay(hash);
      if (seen) return seen;
    }
    this.#busyCheck();
    if (req.contentLength !== undefined && req.contentLength > cfg.max_body_bytes) {
      throw new SluiceError(INGEST_ERR.TOO_LARGE, `the body (Content-Length ${req.contentLength}) is larger than max_body_bytes (${cfg.max_body_bytes} bytes)`);
    }
    const raw = req.body ? await readBody(req.body, cfg.max_body_bytes) : Buffer.alloc(0);
    c.bytes += raw.length;
    const body = await decodeBody(raw, req.contentEncoding, cfg.max_inflated_bytes);
    c.bytes_inflated += body.length;
    if (body.length === 0) throw new SluiceError(INGEST_ERR.BAD_BODY, 'the body is empty; send NDJSON or a JSON array of records');
    if (!isUtf8(body)) c.repaired_utf8++;
    if (hash !== undefined) {
      const seen = await this.#afterSameKey(hash);
      if (seen) return seen;
    }
    if (this.health.state !== 'running') throw new SluiceError(INGEST_ERR.STOPPED, `source "${this.name}" is not running`);
    this.#busyCheck();
    // Until its answer, this request's key is taken: a request with the same key waits for it and is
    // answered as it was (or, when it failed, is tried in its turn).
    let done: () => void = () => undefined;
    const answered = new Promise<void>((r) => (done = r));
    if (hash !== undefined) this.#inFlight.set(hash, answered);
    this.#committing.add(answered);
    try {
      const parsed = await this.#check(body, Object.freeze({ kind: 'http', peer: req.peer }), Date.now());
      c.lines += parsed.accepted;
      for (const [reason, n] of Object.entries(parsed.reasons)) {
        c[reason as RecordReason] += n;
        this.#pipeline!.drop('http', reason, n);
      }
      const answer: Record<string, unknown> = { accepted: parsed.accepted };
      if (parsed.rejected > 0) {
        answer.rejected = parsed.rejected;
        answer.errors = parsed.errors;
      }
      if (parsed.accepted === 0) {
        throw new SluiceError(INGEST_ERR.BAD_BODY, `none of the ${parsed.rejected} records is acceptable (a record is a JSON object with a string "message", optional "time", "level", "fields")`, answer);
      }
      if (hash !== undefined) this.#keys.put(hash, answer);
      return { status: 200, body: answer, headers: {} };
    } finally {
      if (hash !== undefined) this.#inFlight.delete(hash);
      this.#committing.delete(answered);
      done();
    }
  }

  /**
   * Check the body's records and commit the good ones; every refusal of the
   * whole body comes before its first record is committed. A large NDJSON
   * body is checked in the parse threads (RecordLane.commitNdjson), the
   * rest here, committed in chunks as they are found.
   */
  async #check(body: Buffer, origin: Origin, now: number): Promise<RecordTally> {
    const lane = this.#lane!;
    if (body.length >= THREAD_MIN_SIZE && lane.threaded && !startsArray(body)) return lane.commitNdjson(skipBom(body), origin, now);
    return parseBody(body, { source: this.name, stream: this.stream, origin, now }, (records) => lane.commit(records));
  }

  /** The answer to a key already taken: at once when it was answered, after it when it is being ingested. */
  async #afterSameKey(hash: string): Promise<IngestAnswer | undefined> {
    for (let p = this.#inFlight.get(hash); p !== undefined; p = this.#inFlight.get(hash)) await p;
    return this.#replay(hash);
  }

  #replay(hash: string): IngestAnswer | undefined {
    const a = this.#keys.get(hash);
    if (a === undefined) return undefined;
    this.#counters.replayed++;
    return { status: 200, body: a, headers: { 'idempotent-replayed': 'true' } };
  }

  /** 429 while the pipeline pushes back: nothing of this request is ingested. */
  #busyCheck(): void {
    if (this.#lane!.paused) throw new SluiceError(INGEST_ERR.BUSY, `the pipeline is pushing back; retry in ${RETRY_AFTER_S}s`);
  }
}

/** Does the body start with '[' (a JSON array, parsed whole) past whitespace and BOMs? */
function startsArray(body: Buffer): boolean {
  return body[firstNonBlankByte(body)] === 91;
}
