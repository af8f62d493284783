/**
 * What agents and servers share on NATS JetStream: the connection (it
 * reconnects for ever; a caller that cannot reach NATS waits and retries),
 * the records stream and its subjects, and the stream's limits from
 * `[bus]`. Both roles ensure the stream exists with the configured limits
 * (created when missing, its limits updated when they differ), so either may
 * start first.
 *
 * Subjects: `<prefix>.records.<stream>.<source>`, each name a single subject
 * token (a character outside [A-Za-z0-9_-] is written %XX, so "a.b" does not
 * become two tokens). A message carries the wire NDJSON of one stream and
 * source of one agent's batch, gzip'd when `Content-Encoding: gzip`.
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, headers, nanos, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { BusConfig } from './config.js';

/** Header: the publishing agent's id (also the first part of the Nats-Msg-Id). */
export const AGENT_HEADER = 'Sluice-Agent';

export function recordsStreamName(prefix: string): string {
  return `${prefix}-records`;
}

export function recordsSubject(prefix: string, stream: string, source: string): string {
  return `${prefix}.records.${subjectToken(stream)}.${subjectToken(source)}`;
}

/** Every records subject of this prefix (the stream's subjects, the consumer's filter). */
export function recordsWildcard(prefix: string): string {
  return `${prefix}.records.>`;
}

export function subjectToken(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''));
}

/** The servers of `[bus] url` as they may be shown: credentials in a URL (nats://user:pass@host) replaced by ***. */
export function busUrls(url: string): string {
  return url
    .split(',')
    .map((u) => u.replace(/\/\/[^@/]*@/, '//***@'))
    .join(',');
}

/** Connect (one attempt within `timeoutMs`), with `[bus]`'s credentials and TLS; once connected the client reconnects by itself, without end. */
export async function connectBus(cfg: BusConfig, name: string, timeoutMs: number): Promise<NatsConnection> {
  const t = cfg.tls;
  return connect({
    servers: cfg.url.split(','),
    name,
    timeout: timeoutMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    ...(cfg.user !== undefined ? { user: cfg.user, ...(cfg.password !== undefined ? { pass: cfg.password } : {}) } : {}),
    ...(cfg.token !== undefined ? { token: cfg.token } : {}),
    // the file is read at each (re)connect: a rotated one is picked up; an unreadable one fails the connect, saying which
    ...(cfg.creds !== undefined ? { authenticator: credsAuthenticator(() => readCreds(cfg.creds!)) } : {}),
    // the files are read by the client at each (re)connect
    ...(t !== undefined ? { tls: { ...(t.ca !== undefined ? { caFile: t.ca } : {}), ...(t.cert !== undefined ? { certFile: t.cert, keyFile: t.key! } : {}) } } : {}),
  });
}

function readCreds(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`bus.creds: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export function streamConfig(cfg: BusConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: recordsStreamName(cfg.prefix),
    subjects: [recordsWildcard(cfg.prefix)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(cfg.max_age),
    max_bytes: cfg.max_bytes,
    duplicate_window: nanos(cfg.duplicate_window),
    num_replicas: cfg.replicas,
  };
}

/** The records stream with `[bus]`'s limits: created when missing, updated when its limits differ. */
export async function ensureRecordsStream(jsm: JetStreamManager, cfg: BusConfig): Promise<void> {
  const want = streamConfig(cfg);
  let have: StreamConfig;
  try {
    have = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(want);
      return;
    } catch (e) {
      // another agent or server created it in between
      if (!(e instanceof JetStreamApiError) || !/already in use|exists/i.test(e.message)) throw e;
      have = (await jsm.streams.info(want.name)).config;
    }
  }
  if (have.max_age !== want.max_age || have.max_bytes !== want.max_bytes || have.duplicate_window !== want.duplicate_window) {
    await jsm.streams.update(want.name, { ...have, max_age: want.max_age!, max_bytes: want.max_bytes!, duplicate_window: want.duplicate_window! });
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.status === 404 || err.code === 10059 || err.code === 10014);
}

export function messageHeaders(agent: string, gzip: boolean): MsgHdrs {
  const h = headers();
  h.set(AGENT_HEADER, agent);
  if (gzip) h.set('Content-Encoding', 'gzip');
  return h;
}
