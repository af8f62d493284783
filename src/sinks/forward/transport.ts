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
  close(): void;
  /** The transport's own counters, shown in the stage's status (JetStream: messages published, duplicates). */
  stats?(): Record<string, number>;
}

/** POST to a central Sluice's `/api/ingest` with `Idempotency-Key` (gzip level 1, on libuv's pool). */
export class HttpTransport implements ForwardTransport {
  readonly target: string;
  readonly peer = 'the central';
  readonly #cfg: ForwardConfig;
  readonly #client: ForwardClient;

  constructor(cfg: ForwardConfig, lookup?: BaseLookup) {
    this.#cfg = cfg;
    this.#client = new ForwardClient(cfg.url, cfg.allow_hosts, lookup);
    this.target = redactUrl(cfg.url);
  }

  async send(b: OutgoingBatch, timeoutMs: number): Promise<SendResult> {
    const body = this.#cfg.gzip ? await gzipAsync(b.ndjson, { level: 1 }) : b.ndjson;
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', 'idempotency-key': b.key };
    if (this.#cfg.gzip) headers['content-encoding'] = 'gzip';
    if (this.#cfg.token !== undefined) headers.authorization = `Bearer ${this.#cfg.token}`;
    return this.#client.send(body, headers, timeoutMs);
  }

  close(): void {
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
