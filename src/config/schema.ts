/**
 * The root configuration schema: the single source of truth for types,
 * defaults, descriptions and validation. Each component owns its slice
 * (sources/file/config.ts, store/config.ts, ...); this module assembles them
 * and adds the cross-field checks (unique names, port clashes).
 */
import { z } from 'zod';
import { duration, isLoopbackListen, listenAddr, size } from './common.js';
import { fileSourceSchema } from '../sources/file/config.js';
import { dockerSourceSchema } from '../sources/docker/config.js';
import { syslogSourceSchema } from '../sources/syslog/config.js';
import { socketSourceSchema } from '../sources/socket/config.js';
import { httpSourceSchema } from '../sources/http/config.js';
import { storeSchema } from '../store/config.js';
import { rulesSchema } from '../rules/config.js';
import { triggersSchema } from '../triggers/config.js';
import { forwardSchema } from '../sinks/forward/config.js';
import { archiveSchema } from '../sinks/archive/archive.js';
import { busSchema, roleChecks, roleSchema } from '../bus/config.js';
import { LOG_FORMATS, LOG_LEVELS } from '../core/log.js';

export const serverSchema = z
  .strictObject({
    listen: listenAddr('HTTP listener for the UI, API, SSE and metrics. Loopback by default.').default('127.0.0.1:8080'),
    admin_token: z.string().min(16, 'at least 16 characters').optional().describe('Bearer token for every mutation (or env SLUICE_ADMIN_TOKEN). Generated and stored under data_dir when absent.'),
    viewer_token: z.string().min(16, 'at least 16 characters').optional().describe('Optional read-only bearer token.'),
    tls: z
      .strictObject({
        cert: z.string().describe('PEM certificate file.'),
        key: z.string().describe('PEM private key file.'),
      })
      .optional()
      .describe('Serve HTTPS instead of HTTP.'),
    heartbeat: duration('Interval of SSE `: ping` comments on quiet connections.').default(15_000),
    trust_proxy: z
      .union([z.boolean(), z.array(z.string().min(1)).min(1)])
      .default(false)
      .describe('Whose address a request comes from (the per-address slow-down of wrong tokens): false = the connecting peer (default); a list of proxy addresses or CIDRs = the client X-Forwarded-For names when the peer is one of them (recommended behind a reverse proxy); true = trust X-Forwarded-For from anyone (only when nothing but the proxy can reach Sluice).'),
    cors_origins: z
      .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected an origin like "https://ui.example.com" (scheme://host[:port], no path)'))
      .default([])
      .describe('Browser origins allowed to call the API across origins (CORS). Empty (default): CORS is off and browsers allow only same-origin calls.'),
  })
  .superRefine((s, ctx) => {
    if (s.admin_token !== undefined && s.admin_token === s.viewer_token) {
      ctx.addIssue({ code: 'custom', path: ['viewer_token'], message: 'must differ from server.admin_token (the viewer token would otherwise carry admin rights)' });
    }
  })
  .describe('The HTTP server.');

export const logSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info').describe('The daemon\'s own log: the least severe level written (`silent` writes nothing).'),
    format: z.enum(LOG_FORMATS).default('auto').describe('`json`: one JSON object a line; `pretty`: readable lines; `auto`: pretty when stderr is a terminal, else JSON.'),
  })
  .describe('The daemon\'s own log, on stderr: start-up summary, state changes of sources and sinks, failed webhook deliveries (rate-limited; never a token or secret).');

/** Floors: below them Sluice cannot do its job (a ring holds a few records; every stop times out). */
const MIN_MEMORY = 16 * 1024 * 1024;
const MIN_SHUTDOWN_MS = 1000;

export const limitsSchema = z
  .strictObject({
    memory: size('One memory budget for replay rings and queues; rings get the larger share. At least 16MiB.')
      .refine((n) => n >= MIN_MEMORY, 'must be at least 16MiB (replay rings and queues are carved from it)')
      .default(256 * 1024 * 1024),
    client_lag: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('How many records a live client (SSE, TCP) may fall behind before its oldest are dropped with a `gap` notice. Default: as far as the stream\'s replay ring reaches (clients are cursors into the ring, so lag costs no memory of its own).'),
    shutdown_timeout: duration('Deadline for an ordered shutdown (stop sources, drain, flush); past it the process exits 1. At least 1s.')
      .refine((ms) => ms >= MIN_SHUTDOWN_MS, 'must be at least 1s (an ordered stop flushes checkpoints and the store)')
      .default(10_000),
    parse_threads: z
      .union([z.literal('auto', { error: 'expected "auto" or a whole number from 0 to 64' }), z.number().int().min(0).max(64)])
      .default('auto')
      .describe('Worker threads that parse and serialize the backlogs of the sources (files, Docker) beside the main thread (the parse stage, operations.md). `auto`: one per core, at most 4 (none on a single core); 0: parse on the main thread. A reload resizes the pool (from 0 to more needs a restart); a worker that fails has its lines parsed on the main thread, counted as `parsed_inline`.'),
  })
  .describe('Bounds on memory and queues.');

/** A stream's ring when nothing configures it (a source's own stream without a [[streams]] entry gets these too). */
export const STREAM_RING_DEFAULTS = { replay: 10_000, replay_bytes: 32 * 1024 * 1024 } as const;

export const streamSchema = z
  .strictObject({
    name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/).describe('Stream name (a source publishes on the stream named by its `stream` key, default its name).'),
    tcp: listenAddr('Serve this stream as NDJSON over raw TCP on this address.').optional(),
    replay: z.number().int().positive().default(STREAM_RING_DEFAULTS.replay).describe('Records kept for resume (Last-Event-ID, ?since=) and /api/records.'),
    replay_bytes: size('Bytes kept for resume; the smaller of this and the memory budget share wins.').default(STREAM_RING_DEFAULTS.replay_bytes),
  })
  .describe('A named stream and its outputs.');

const sourceSchemas = [fileSourceSchema, dockerSourceSchema, syslogSourceSchema, socketSourceSchema, httpSourceSchema] as const;
export const sourceSchema = z.discriminatedUnion('type', [...sourceSchemas]);
export const sourceTypeNames: string[] = sourceSchemas.map((s) => s.shape.type.value);

/** Table sections whose keys take env overrides SLUICE_<SECTION>_<KEY>. */
export const sectionSchemas = { server: serverSchema, log: logSchema, limits: limitsSchema, store: storeSchema, rules: rulesSchema, triggers: triggersSchema, bus: busSchema } as const;

export const configSchema = z
  .strictObject({
    data_dir: z.string().default('./data').describe('Where checkpoints, the seq counter, the store and the generated admin token live.'),
    role: roleSchema,
    server: serverSchema.default(serverSchema.parse({})),
    log: logSchema.prefault({}),
    limits: limitsSchema.default(limitsSchema.parse({})),
    // prefault: an absent section is parsed as {} so its own defaults apply
    store: storeSchema.prefault({}),
    rules: rulesSchema.prefault({}),
    triggers: triggersSchema.prefault({}),
    bus: busSchema.prefault({}),
    sources: z.array(sourceSchema).default([]).describe('Where logs come from.'),
    streams: z.array(streamSchema).default([]).describe('Streams and their outputs (streams named by sources exist even without an entry).'),
    forward: z.array(forwardSchema).default([]).describe('Agent mode: ship records to a central Sluice (its HTTP source), with a disk spool.'),
    archive: z.array(archiveSchema).default([]).describe('Write streams to rotated files (NDJSON records or raw lines).'),
  });

/**
 * Checks across entries (unique names, address clashes). They run on the raw
 * (unvalidated) input so they are reported together with type errors.
 */
export function crossChecks(raw: Record<string, unknown>): string[] {
  const out: string[] = roleChecks(raw);
  const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
  const seen = new Map<string, number>();
  arr(raw.sources).forEach((s, i) => {
    if (typeof s.name !== 'string') return;
    const prev = seen.get(s.name);
    if (prev !== undefined) out.push(`sources[${i}].name: duplicate source name "${s.name}" (also sources[${prev}])`);
    else seen.set(s.name, i);
  });
  const streams = new Map<string, number>();
  const server = (raw.server && typeof raw.server === 'object' ? raw.server : {}) as Record<string, unknown>;
  const ports = new Map<string, string>();
  ports.set(normalizeListen(typeof server.listen === 'string' ? server.listen : '127.0.0.1:8080'), 'server.listen');
  arr(raw.streams).forEach((s, i) => {
    if (typeof s.name === 'string') {
      const prev = streams.get(s.name);
      if (prev !== undefined) out.push(`streams[${i}].name: duplicate stream "${s.name}" (also streams[${prev}])`);
      else streams.set(s.name, i);
    }
    if (typeof s.tcp === 'string') {
      const key = normalizeListen(s.tcp);
      const other = ports.get(key);
      if (other) out.push(`streams[${i}].tcp: address ${s.tcp} is already used by ${other}`);
      else ports.set(key, `streams[${i}].tcp`);
    }
  });
  // syslog listeners: tcp and tls.listen share the TCP ports above, udp has its own
  const udp = new Map<string, string>();
  arr(raw.sources).forEach((s, i) => {
    if (s.type !== 'syslog') return;
    const tls = s.tls && typeof s.tls === 'object' ? (s.tls as Record<string, unknown>).listen : undefined;
    for (const [where, addr, used] of [[`sources[${i}].tcp`, s.tcp, ports], [`sources[${i}].tls.listen`, tls, ports], [`sources[${i}].udp`, s.udp, udp]] as const) {
      if (typeof addr !== 'string') continue;
      const key = normalizeListen(addr);
      const other = used.get(key);
      if (other) out.push(`${where}: address ${addr} is already used by ${other}`);
      else used.set(key, where);
    }
  });
  return out;
}

/**
 * Valid but risky: listeners reachable from other hosts. The HTTP API without
 * TLS sends tokens and logs in clear text; a TCP stream output has no
 * authentication at all. Said by `sluice check` and at start, not refused
 * (a private network or a TLS-terminating proxy may make them fine).
 */
export function exposureWarnings(cfg: Config): string[] {
  const out: string[] = [];
  if (!isLoopbackListen(cfg.server.listen) && !cfg.server.tls) {
    out.push(`server.listen: ${cfg.server.listen} is reachable from other hosts and server.tls is not set: tokens and logs cross the network in clear text`);
  }
  cfg.streams.forEach((s, i) => {
    if (s.tcp && !isLoopbackListen(s.tcp)) out.push(`streams[${i}].tcp: ${s.tcp} is reachable from other hosts; the TCP stream has no authentication, anyone who connects reads stream "${s.name}"`);
  });
  cfg.sources.forEach((s, i) => {
    if (s.type !== 'syslog') return;
    for (const [k, addr] of [['udp', s.udp], ['tcp', s.tcp]] as const) {
      if (addr !== undefined && !isLoopbackListen(addr)) out.push(`sources[${i}].${k}: ${addr} is reachable from other hosts; syslog over ${k} has no authentication, anyone who can reach it writes records into stream "${s.stream ?? s.name}" (tls with ca requires client certificates)`);
    }
  });
  if (cfg.server.trust_proxy === true) out.push('server.trust_proxy: true trusts X-Forwarded-For from any peer; list the proxy addresses instead unless only the proxy can reach Sluice');
  return out;
}

function normalizeListen(a: string): string {
  const i = a.lastIndexOf(':');
  const host = a.slice(0, i).replace(/^\[|\]$/g, '');
  const port = a.slice(i + 1);
  return (host === '' || host === '0.0.0.0' || host === '::' ? '*' : host) + ':' + port;
}

export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['sources'][number];
export type StreamConfig = Config['streams'][number];
