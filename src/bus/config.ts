/**
 * `role` and `[bus]`: how a Sluice takes part in a scaled-out deployment
 * (docs/deployment.md). `role = "all"` is the embedded daemon with the
 * in-process bus; `"agent"` reads its sources and publishes the records to
 * JetStream (through the forward stage's spool, `[bus.publish]`); `"server"`
 * consumes them through a durable pull consumer shared by every server.
 */
import { z } from 'zod';
import { duration, size } from '../config/units.js';
import { forwardSchema } from '../sinks/forward/config.js';

export const ROLES = ['all', 'agent', 'server'] as const;
export type Role = (typeof ROLES)[number];

export const roleSchema = z
  .enum(ROLES)
  .default('all')
  .describe('"all": the embedded daemon (sources, rules, store, API in one process; no outside service). "agent": sources and transforms, records published to JetStream (needs bus.kind = "nats"; no rules or store here). "server": records consumed from JetStream into rules, store, triggers, API and live tail (needs bus.kind = "nats"; no sources).');

/** Names that go into JetStream stream and consumer names: no ".", "*", ">", spaces or path separators. */
const jsName = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only');

/** The agent's batching and spool keys: those of a `[[forward]]`, without its HTTP ones. */
const publishSchema = forwardSchema
  .pick({ streams: true, spool_max: true, on_full: true, batch_records: true, batch_age: true, gzip: true, fsync: true, fsync_interval: true, backoff_base: true, backoff_max: true })
  .extend({
    timeout: duration('Limit on one publish of a batch (the JetStream acknowledgements of its messages); past it the batch is sent again (under the same ids).').default(10_000),
    batch_bytes: size('Bytes of NDJSON per batch at most (before gzip). A batch becomes one JetStream message per stream and source in it: keep it under the server\'s max_payload (1MiB by default).').default(256 * 1024),
  })
  .describe('role = "agent": how records are batched, spooled (data_dir/spool/bus) and published; the same keys and meaning as a [[forward]]\'s.');

export const busSchema = z
  .strictObject({
    kind: z.enum(['memory', 'nats']).default('memory').describe('"memory": in-process (role = "all" only). "nats": records travel on NATS JetStream between agents and servers.'),
    url: z
      .string()
      .min(1)
      .regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, 'expected "nats://host:port" (several comma-separated)')
      .default('nats://127.0.0.1:4222')
      .describe('NATS server(s), comma-separated: "nats://host:4222"; the client reconnects to any of them.'),
    user: z.string().min(1).optional().describe('NATS user name (with `password`).'),
    password: z.string().min(1).optional().describe('NATS password for `user` (write-only: never shown back).'),
    token: z.string().min(1).optional().describe('NATS authentication token, instead of `user` and `password` (write-only: never shown back).'),
    creds: z
      .string()
      .min(1)
      .optional()
      .describe('A NATS credentials file (a user JWT and its NKey seed, as `nsc` writes it) for servers in operator (JWT) mode, instead of `user` or `token`; read again at each reconnect, so a rotated file is picked up.'),
    tls: z
      .strictObject({
        ca: z.string().min(1).optional().describe('PEM file of the CA that signed the NATS servers\' certificates (else the system\'s CAs).'),
        cert: z.string().min(1).optional().describe('PEM file of this client\'s certificate, for servers that verify clients (with `key`).'),
        key: z.string().min(1).optional().describe('PEM file of the key of `cert`.'),
      })
      .optional()
      .describe('Connect with TLS (servers that require it, or "tls://" URLs): the CA to trust and, for mutual TLS, this client\'s certificate and key.'),
    prefix: jsName.default('sluice').describe('Names what Sluice makes in JetStream: the stream "<prefix>-records" with subjects "<prefix>.records.<stream>.<source>".'),
    max_age: duration('The JetStream stream keeps records at most this long (its max_age).').default(86_400_000),
    max_bytes: size('The JetStream stream keeps at most this many bytes (its max_bytes); past it the oldest messages go.').default(1024 ** 3),
    duplicate_window: duration('JetStream forgets a message id after this long: an agent that restarts within it and publishes a batch again is absorbed (Nats-Msg-Id); past it the batch would be stored twice.').default(600_000),
    replicas: z.number().int().min(1).max(5).default(1).describe('Replicas of the JetStream stream (a clustered JetStream: 3).'),
    consumer: jsName.default('sluice-servers').describe('role = "server": the durable pull consumer every server shares; each message goes to one server at a time.'),
    ack_wait: duration('role = "server": a message not acknowledged within this long (its server died or hangs) is delivered again, to any server.').default(30_000),
    fetch_batch: z.number().int().min(1).max(1000).default(16).describe('role = "server": how many messages one server keeps asked for (a pull request kept open and renewed as they are handled); about what a dying server can hold unacknowledged.'),
    publish: publishSchema.prefault({}),
  })
  .superRefine((b, ctx) => {
    if (b.password !== undefined && b.user === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'a password needs its `user`' });
    if (b.token !== undefined && b.user !== undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'give `token` or `user` and `password`, not both' });
    if (b.creds !== undefined && (b.user !== undefined || b.token !== undefined)) ctx.addIssue({ code: 'custom', path: ['creds'], message: 'give `creds`, `token` or `user` and `password`, one of them' });
    if (b.tls !== undefined && (b.tls.cert === undefined) !== (b.tls.key === undefined)) ctx.addIssue({ code: 'custom', path: ['tls', b.tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs its key (give `cert` and `key` together)' });
  })
  .describe('The bus between agents and servers (scale-out). kind = "memory" for the embedded daemon.');

export type BusConfig = z.output<typeof busSchema>;
export type PublishConfig = BusConfig['publish'];

/** Checks of role against bus.kind and the rest (on the raw input, reported with the type errors). */
export function roleChecks(raw: Record<string, unknown>): string[] {
  const out: string[] = [];
  const role = typeof raw.role === 'string' ? raw.role : 'all';
  const bus = (raw.bus && typeof raw.bus === 'object' ? raw.bus : {}) as Record<string, unknown>;
  const kind = typeof bus.kind === 'string' ? bus.kind : 'memory';
  if ((role === 'agent' || role === 'server') && kind !== 'nats') out.push(`bus.kind: role = "${role}" needs bus.kind = "nats" (agents and servers meet on JetStream)`);
  if (role === 'all' && kind === 'nats') out.push('bus.kind: "nats" is for role = "agent" or "server"; role = "all" (one process) uses "memory" (one process both publishing and consuming is not built yet)');
  if (role === 'agent' && Array.isArray(raw.forward) && raw.forward.some((f) => (f as { name?: unknown } | null)?.name === 'bus')) out.push('forward: the name "bus" is the agent\'s JetStream publisher\'s (data_dir/spool/bus); name this forward otherwise');
  if (role === 'server' && Array.isArray(raw.sources) && raw.sources.length > 0) out.push('sources: role = "server" takes its records from JetStream; run sources on an agent (or use role = "all")');
  return out;
}
