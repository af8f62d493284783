/**
 * How the forward stage delivers one spooled batch: the seam between the
 * spool discipline (forward.ts: journal, spool, one sender in order, retries
 * with backoff, one stable key per batch) and the wire. HTTP to a central
 * Sluice's ingest route is one transport (here); JetStream publish is
 * another (jetstream.ts, for `role = "agent"`). A transport never throws: it
 * answers whether the batch is safe at the other end, and if not, whether a
 * retry can help.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ForwardClient, type SendResult } from './client.js';
import type { ForwardConfig } from './config.js';
import type { BaseLookup } from '../../triggers/ssrf.js';

export type { SendResult } from './client.js';

const gzipAsync = promisify(gzip);

export interface OutgoingBatch {
  /** The batch's wire NDJSON, as spooled. */
  readonly ndjson: Buffer;
  readonly records: number;
  /** Stable across retries and restarts: `<agent id>-<batch id>`. */
  readonly key: string;
}

export interface ForwardTransport {
  /** Where batches go, for status and messages (no secret in it). */
  readonly target: string;
  /** Who answers, in messages: "the central", "JetStream". */
  readonly peer: string;
  send(batch: OutgoingBatch, timeoutMs: number): Promise<SendResult>;
  /** Start the work `send` will need for this batch (compression) while the one before it is on its way. */
  prepare?(batch: OutgoingBatch): void;
  close(): void;
  /** The transport's own counters, shown in the stage's status (JetStream: messages published, duplicates). */
  stats?(): Record<string, number>;
}

/** zlib's output chunk: the 16 KiB default made compressing a 9 MiB batch ~25 % slower (a callback per chunk). */
const GZIP_CHUNK = 256 * 1024;

/**
 * POST to a central Sluice's `/api/ingest` with `Idempotency-Key` (gzip level
 * 1, on libuv's pool). The next batch is compressed while the one before it
 * is on its way (`prepare`): the central parses one while this side deflates
 * the next, instead of each waiting for the other.
 */
export class HttpTransport implements ForwardTransport {
  readonly target: string;
  readonly peer = 'the central';
  readonly #cfg: ForwardConfig;
  readonly #client: ForwardClient;
  /** Bodies being compressed ahead, by batch key (at most the next one). */
  readonly #ahead = new Map<string, Promise<Buffer>>();

  constructor(cfg: ForwardConfig, lookup?: BaseLookup) {
    this.#cfg = cfg;
    this.#client = new ForwardClient(cfg.url, cfg.allow_hosts, lookup);
    this.target = redactUrl(cfg.url);
    this.prepare = cfg.gzip ? (b) => this.#compressAhead(b) : undefined;
  }

  /** Only with gzip (without it there is nothing to do ahead, and the sender need not read the next batch). */
  readonly prepare: ((b: OutgoingBatch) => void) | undefined;

  #compressAhead(b: OutgoingBatch): void {
    if (this.#ahead.has(b.key)) return;
    // only the next batch is kept ahead: a batch dropped from the spool meanwhile leaves no body behind
    this.#ahead.clear();
    const p = gzipAsync(b.ndjson, { level: 1, chunkSize: GZIP_CHUNK });
    p.catch(() => undefined);
    this.#ahead.set(b.key, p);
  }

  async send(b: OutgoingBatch, timeoutMs: number): Promise<SendResult> {
    let body = b.ndjson;
    if (this.#cfg.gzip) {
      const ahead = this.#ahead.get(b.key);
      this.#ahead.delete(b.key);
      body = await (ahead ?? gzipAsync(b.ndjson, { level: 1, chunkSize: GZIP_CHUNK }));
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', 'idempotency-key': b.key };
    if (this.#cfg.gzip) headers['content-encoding'] = 'gzip';
    if (this.#cfg.token !== undefined) headers.authorization = `Bearer ${this.#cfg.token}`;
    return this.#client.send(body, headers, timeoutMs);
  }

  close(): void {
    this.#ahead.clear();
    this.#client.close();
  }
}

/** The URL without its query's values (a token in a query stays out of status). */
export function redactUrl(u: string): string {
  try {
    const x = new URL(u);
    for (const k of [...x.searchParams.keys()]) if (k !== 'source') x.searchParams.set(k, '***');
    if (x.password) x.password = '***';
    return x.toString();
  } catch {
    return '(invalid)';
  }
}
