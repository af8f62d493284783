/**
 * Wiring and shutdown order: the only place that starts and stops components
 * (and, through the CLI, the only place that exits).
 *
 * Start: data_dir -> TLS files checked -> seq counter -> metrics -> hub ->
 * store -> sources restore (crash replay) -> hub sealed -> TCP + HTTP
 * listeners -> a generated admin token saved and printed -> sources start
 * (role = "server": then the JetStream consumer; role = "agent": no store or
 * rules, a publisher stage after the hub instead; bus/wiring.ts).
 * Each step that can fail throws its own SLUICE_ERR_ code naming the config
 * key (docs/operations.md, "Start-up failures"); a token is made in memory
 * and written only once every listener is bound, so a start that fails
 * before writes no admin_token file and prints no token.
 * Stop (SIGTERM/SIGINT): the JetStream consumer stops (NAKs what it holds) -> sources stop (each resolves once its last records
 * were accepted and its checkpoints written) -> live clients flushed and
 * ended -> listeners closed -> seq counter saved; all within
 * limits.shutdown_timeout.
 * Reload (SIGHUP, POST /api/config/reload): the new config is validated and
 * its new/changed components built and started before the old ones are torn
 * down; a bad config is refused and the old one keeps running.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Hub } from './hub/hub.js';
import { Metrics, type ListenerView } from './core/metrics.js';
import { PipelineRuntime } from './core/pipeline-runtime.js';
import type { Source } from './core/pipeline.js';
import { SeqState } from './core/seq-state.js';
import { openDataDir, usePrivateUmask } from './core/private-dir.js';
import { E } from './core/errors.js';
import { checkTlsFiles } from './core/tls-files.js';
import { STORE_ERR } from './store/errors.js';
import { loadConfig } from './config/load.js';
import type { Config, SourceConfig } from './config/schema.js';
import { createSource } from './sources/index.js';
import { ParsePool } from './parse/pool.js';
import { ParseStage } from './parse/stage.js';
import { Forwards } from './sinks/forward/index.js';
import { busUrls } from './bus/jetstream.js';
import { Archives } from './sinks/archive/index.js';
import type { ForwardStage } from './sinks/forward/forward.js';
import type { BusSource } from './sources/nats/source.js';
import { busConsumer, startControl, startPublisher } from './bus/wiring.js';
import { ClusterTail } from './bus/tail.js';
import type { BusControl } from './bus/control.js';
import { buildServer } from './api/server.js';
import type { DaemonView, ReloadResult } from './api/view.js';
import { TcpStreamServer, splitHostPort } from './sinks/tcp/server.js';
import { closeAllSse } from './sinks/sse/sse.js';
import { configureClientSlack } from './sinks/write.js';
import { VERSION } from './version.js';
import { defaultRingLimits, keepRunning, parseThreads, restartRequired, ringLimits, sourceStreams, step, streamLimits } from './daemon-config.js';
import { Alerting } from './alerting.js';
import type { WebhookFailure } from './triggers/webhook.js';
import { loadAdminToken, registerAuth, saveAdminToken, type AdminToken, type AuthStats } from './api/auth.js';
import { routeTable, type RouteEntry } from './api/access.js';
import { registerIngestRoute } from './api/routes/ingest.js';
import { IngestRegistry } from './sources/http/registry.js';
import { createLog, type Log } from './core/log.js';
import { Reporter } from './core/reporter.js';
import { describeSource } from './core/describe.js';

export interface DaemonOptions {
  configFile: string | null;
  /** Re-read configuration (reload). */
  loadAgain: () => ReturnType<typeof loadConfig>;
  /** The daemon's log (default: one made from `[log]`, on stderr). */
  log?: Log;
  /** Where a generated admin token is printed once (default: stderr, outside the log). */
  print?: (line: string) => void;
}

interface RunningSource {
  cfg: SourceConfig;
  key: string;
  source: Source;
}

export class Daemon implements DaemonView {
  readonly version = VERSION;
  readonly startedAt = Date.now();
  #cfg: Config;
  #opts: DaemonOptions;
  #metrics = new Metrics();
  #hub!: Hub;
  #pipeline!: PipelineRuntime;
  #seq!: SeqState;
  #sources = new Map<string, RunningSource>();
  #tcp = new Map<string, TcpStreamServer>();
  #http?: FastifyInstance;
  #alerting?: Alerting;
  #stopping?: Promise<void>;
  #reloading = false;
  #parsePool?: ParsePool;
  #stage!: ParseStage;
  #forwards: Forwards | undefined;
  #archives: Archives | undefined;
  /** role = "agent": records to JetStream; role = "server": records from it (bus/wiring.ts). */
  #publisher: ForwardStage | undefined;
  #busSource: BusSource | undefined;
  #control: BusControl | undefined;
  /** role = "server": the cluster's live tail, read from JetStream (bus/tail.ts). */
  #tail: ClusterTail | undefined;
  /** HTTP sources by name, for the ingest route and its auth (sources/http/registry.ts). */
  readonly #ingest = new IngestRegistry();
  readonly #logger: Log;
  /** For components that take a plain function: their messages are warnings. */
  readonly #log: (m: string) => void;
  readonly #reporter: Reporter;
  #authStats?: () => AuthStats;

  constructor(cfg: Config, opts: DaemonOptions) {
    this.#cfg = cfg;
    configureClientSlack(cfg.limits.memory);
    this.#opts = opts;
    this.#logger = opts.log ?? createLog({ level: cfg.log.level, format: cfg.log.format });
    this.#log = (m) => this.#logger.warn(m);
    this.#reporter = new Reporter(this.#logger);
  }

  // --- DaemonView
  hub(): Hub {
    return this.#hub;
  }
  liveHub(): Hub {
    return this.#tail?.hub ?? this.#hub;
  }
  metrics(): Metrics {
    return this.#metrics;
  }
  config(): Config {
    return this.#cfg;
  }
  sources() {
    const out = [...this.#sources.values()].map((s) => s.source.status());
    if (this.#busSource) out.push(this.#busSource.status());
    return out;
  }
  extraStatus() {
    return {
      auth: this.#authStats?.() ?? null, ...(this.#alerting?.status() ?? {}), parse: this.#parsePool?.status() ?? { threads: 0, running: 0, jobs: 0, failures: 0 },
      transforms: [...(this.#stage?.plans() ?? new Map()).values()].map((p) => p.status()),
      role: this.#cfg.role,
      ...(this.#control ? { bus_control: this.#control.status() } : {}),
      ...(this.#tail ? { bus_tail: this.#tail.status() } : {}),
      forward: this.#forwardViews(),
      archive: this.#archives?.status() ?? [],
      recent_errors: this.#reporter.recent() };
  }
  transformChain(source: string) {
    return this.#stage?.plans().get(source)?.chain() ?? [];
  }
  tcpOutputs() {
    return [...this.#tcp.values()].map((t) => ({ stream: t.stream, listen: t.listen, clients: t.clients() }));
  }

  /** The HTTP routes and their declared access levels (api/access.ts). */
  routeTable(): readonly RouteEntry[] {
    return this.#http ? routeTable(this.#http) : [];
  }

  get httpAddress(): string {
    const a = this.#http?.server.address();
    return a && typeof a === 'object' ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : '';
  }

  async start(): Promise<void> {
    const cfg = this.#cfg;
    // Before anything is written: data_dir holds trigger secrets and the admin token. Sluice's own
    // writes pass 0600/0700 explicitly; the umask also covers files libraries create (SQLite's
    // -wal/-shm) and any writer that forgets. Worker threads cannot set it; it is per process.
    usePrivateUmask();
    const dataDir = path.resolve(cfg.data_dir);
    openDataDir(dataDir, cfg.data_dir, this.#log);
    if (cfg.server.tls) checkTlsFiles(cfg.server.tls); // before anything is opened: a typo costs nothing
    this.#seq = new SeqState(dataDir);
    const seqStart = await step(E.DATA_DIR_STATE, 'data_dir: the seq counter', () => this.#seq.load());
    await step(E.DATA_DIR_NOT_WRITABLE, `data_dir: cannot write ${this.#seq.path}`, () => this.#seq.ensure(seqStart));
    this.#hub = new Hub({
      seqStart,
      defaults: defaultRingLimits(cfg),
      streams: streamLimits(cfg),
      drop: (stage, reason, n) => this.#metrics.drop(stage, reason, n),
    });
    for (const st of sourceStreams(cfg)) this.#hub.ensureStream(st);
    const threads = parseThreads(cfg);
    if (threads > 0) this.#parsePool = new ParsePool(threads, this.#log);
    this.#pipeline = new PipelineRuntime(this.#hub, this.#metrics);
    this.#stage = new ParseStage(this.#pipeline, this.#parsePool, { stateDir: path.join(dataDir, 'transforms') });
    this.#pipeline.afterPush = () => this.#seq.ensure(this.#hub.lastSeq);
    this.#metrics.setSourceViews(() =>
      this.sources().map((s) => ({
        name: s.name,
        type: s.type,
        counters: s.counters,
        instances: Array.isArray(s.containers) ? (s.containers as { id: string; name: string; lines: number }[]) : undefined,
        listeners: Array.isArray(s.listeners) ? (s.listeners as ListenerView[]) : undefined,
      })),
    );
    // the store's own errors (SLUICE_ERR_STORE_OPEN) already name its kind, key and cause
    const onWebhookFailure = (f: WebhookFailure) =>
      this.#reporter.failure(`trigger/${f.triggerId}`, `trigger ${f.triggerId} (${f.triggerName})`, f.status !== null ? `http_${f.status}` : 'delivery_failed', `webhook delivery ${f.deliveryId} ${f.result} after ${f.attempts} attempt(s)${f.error ? `: ${f.error}` : ''}`, { trigger_id: f.triggerId, delivery_id: f.deliveryId });
    // an agent runs no rules and no store: its servers do (events would be made twice)
    if (cfg.role !== 'agent') {
      this.#alerting = await step(STORE_ERR.OPEN_FAILED, `store: cannot open the ${cfg.store.kind} store`, () => Alerting.open(cfg, dataDir, this.#metrics, (m) => this.#logger.error(m), onWebhookFailure), true);
      this.#pipeline.addStage(this.#alerting.stage);
    }
    const drop = (stage: string, reason: string, n: number) => this.#metrics.drop(stage, reason, n);
    this.#forwards = new Forwards(cfg.forward, this.#pipeline, { dataDir, drop, log: (m) => this.#logger.info(m), observe: this.#reporter.observe });
    if (cfg.role === 'agent') this.#publisher = startPublisher(cfg.bus, this.#pipeline, { dataDir, drop, log: (m) => this.#logger.info(m), observe: this.#reporter.observe });
    const engine = this.#alerting?.engine;
    if (cfg.role === 'server' && engine) this.#busSource = busConsumer(cfg.bus, (seq) => engine.stored.when(seq), this.#reporter.observe);
    if (cfg.role === 'server' && this.#alerting) this.#control = startControl(cfg.bus, this.#alerting, this.#log);
    if (cfg.role === 'server') {
      const defaults = defaultRingLimits(cfg);
      const streams = streamLimits(cfg);
      const ringBytes = Object.values(streams).reduce((n, l) => n + l.replayBytes, 0) || defaults.replayBytes;
      this.#tail = new ClusterTail(cfg.bus, { defaults, streams, drop: (stage, reason, n) => this.#metrics.drop(stage, reason, n) }, ringBytes, this.#log);
    }
    this.#metrics.setForwardViews(() => this.#forwardViews());
    this.#archives = new Archives(cfg.archive, this.#pipeline, { drop: (stage, reason, n) => this.#metrics.drop(stage, reason, n), observe: this.#reporter.observe });
    this.#metrics.setHealthViews(() => [...[...this.#sources.values()].map((s) => s.source.health), ...(this.#forwards?.healths() ?? []), ...(this.#archives?.healths() ?? []), ...[this.#publisher?.health, this.#busSource?.health].filter((h) => h !== undefined)]);

    const built: RunningSource[] = [];
    for (const c of cfg.sources) built.push(await step(E.SOURCE_BUILD, `sources.${c.name}: cannot build the ${c.type} source`, () => this.#build(c)));
    for (const r of built) await step(E.SOURCE_RESTORE, `sources.${r.cfg.name}: cannot restore from its checkpoint`, () => r.source.restore?.(this.#pipeline));
    this.#hub.seal();
    await step(E.DATA_DIR_NOT_WRITABLE, `data_dir: cannot write ${this.#seq.path}`, () => this.#seq.ensure(this.#hub.lastSeq));

    // A token made here stays in memory until the start succeeded (saved and printed at the end).
    let newToken: AdminToken | undefined;
    let adminToken = cfg.server.admin_token;
    if (!adminToken) {
      const t = await step(E.AUTH_TOKEN_READ, `server.admin_token is not set and ${path.join(dataDir, 'admin_token')} cannot be read`, () => loadAdminToken(dataDir));
      adminToken = t.token;
      if (t.generated) newToken = t;
    }
    const alerting = this.#alerting;
    this.#http = await buildServer({
      view: this,
      tls: cfg.server.tls,
      auth: (app) => {
        const stats = registerAuth(app, { adminToken, viewerToken: cfg.server.viewer_token, ingestToken: (name) => this.#ingest.get(name)?.tokenDigest });
        this.#authStats = stats;
        this.#metrics.setAuthView(() => ({ ...stats() }));
      },
      extraRoutes: [...(alerting ? [(app: FastifyInstance) => alerting.routes(app)] : []), (app) => registerIngestRoute(app, this.#ingest)],
      ui: {},
      trustProxy: cfg.server.trust_proxy,
      corsOrigins: cfg.server.cors_origins,
    });
    for (const [i, st] of cfg.streams.entries()) {
      const tcp = st.tcp;
      if (tcp) await step(E.LISTEN_FAILED, `streams[${i}].tcp: cannot listen on ${tcp} (stream ${st.name})`, () => this.#startTcp(st.name, tcp));
    }
    // HTTP last, and a new token saved in the same turn as its bind: nothing is served (not even
    // /healthz, which scripts wait for before reading data_dir/admin_token) before the file exists.
    const { host, port } = splitHostPort(cfg.server.listen);
    const http = this.#http;
    await step(E.LISTEN_FAILED, `server.listen: cannot listen on ${cfg.server.listen}`, () => http.listen({ host, port }));
    if (newToken) {
      const t = newToken;
      await step(E.DATA_DIR_NOT_WRITABLE, `data_dir: cannot write ${t.path}`, () => saveAdminToken(t));
      // printed once, when it is created (afterwards it is in the file, mode 0600), and never into the log
      this.#logger.info({ path: t.path }, `admin token generated and saved to ${t.path} (mode 0600)`);
      (this.#opts.print ?? ((l: string) => process.stderr.write(l + '\n')))(`admin token (printed once; also in ${t.path}): ${t.token}`);
    }
    for (const r of built) {
      this.#sources.set(r.cfg.name, r); // listed before start, so stop() also ends one whose start failed
      await step(E.SOURCE_START, `sources.${r.cfg.name}: cannot start the ${r.cfg.type} source`, () => r.source.start(this.#pipeline));
    }
    // like a source, last: its records are served as soon as they arrive (NATS away: it retries, degraded)
    await this.#busSource?.start(this.#pipeline);
    this.#tail?.start();
    this.#summary(dataDir);
  }

  #build(c: SourceConfig): RunningSource {
    const source = createSource(c, { dataDir: path.resolve(this.#cfg.data_dir), stage: this.#stage, ingest: this.#ingest });
    source.health.observe(this.#reporter.observe);
    return { cfg: c, key: JSON.stringify(c), source };
  }

  /** The start-up summary: what runs, where it listens, and what each source found. */
  #summary(dataDir: string): void {
    const cfg = this.#cfg;
    const url = `${cfg.server.tls ? 'https' : 'http'}://${this.httpAddress}`;
    const tcp = [...this.#tcp.values()].map((t) => ({ stream: t.stream, listen: t.listen }));
    const sources = this.sources().map((s) => ({ name: s.name, type: s.type, state: s.state, found: describeSource(s) }));
    this.#logger.info({ version: VERSION, pid: process.pid, config: this.#opts.configFile ?? '(embedded default)', data_dir: dataDir, listen: url, tcp, sources: sources.length, forward: cfg.forward.length, archive: cfg.archive.length },
      `sluice ${VERSION} listening on ${url} (pid ${process.pid}, config ${this.#opts.configFile ?? '(embedded default)'}, data_dir ${dataDir})`);
    for (const t of tcp) this.#logger.info({ stream: t.stream, listen: t.listen }, `stream ${t.stream}: NDJSON over TCP on ${t.listen}`);
    if (this.#publisher) this.#logger.info({ role: cfg.role, bus: this.#publisher.status().url }, `role agent: records published to ${this.#publisher.status().url} through the spool in ${path.join(dataDir, 'spool', 'bus')}`);
    if (this.#busSource) this.#logger.info({ role: cfg.role, consumer: cfg.bus.consumer }, `role server: records consumed from JetStream (${busUrls(cfg.bus.url)}) through the durable consumer ${cfg.bus.consumer}`);
    for (const s of sources) this.#logger[s.state === 'error' ? 'error' : s.state === 'degraded' ? 'warn' : 'info']({ component: 'source', name: s.name, type: s.type, state: s.state }, `source ${s.name} (${s.type}, ${s.state}): ${s.found}`);
    if (sources.length === 0) this.#logger.warn('no sources configured: nothing is collected');
  }

  #forwardViews() {
    return [...(this.#forwards?.status() ?? []), ...(this.#publisher ? [this.#publisher.status()] : [])];
  }

  async #startTcp(stream: string, listen: string): Promise<TcpStreamServer> {
    this.#hub.ensureStream(stream);
    const t = new TcpStreamServer({ hub: this.#hub, stream, listen, maxLag: this.#cfg.limits.client_lag });
    await t.start();
    this.#tcp.set(stream, t);
    return t;
  }

  /** Validate and apply a new config: build and start what changed, then stop what it replaces. */
  async reload(): Promise<ReloadResult> {
    if (this.#reloading) return { ok: false, problems: ['a reload is already in progress'] };
    this.#reloading = true;
    try {
      const r = this.#opts.loadAgain();
      if (!r.ok) {
        this.#logger.warn({ problems: r.problems }, `reload refused: ${r.problems.join('; ')}`);
        return { ok: false, problems: r.problems };
      }
      for (const w of r.warnings) this.#logger.warn(`config: ${w}`);
      const next = r.config;
      const prev = this.#cfg;
      const changed: string[] = [];
      const restart = restartRequired(prev, next);
      // TCP outputs: bind new ones first; a bind failure refuses the whole reload
      const newTcp = new Map<string, TcpStreamServer>();
      for (const st of next.streams) {
        const cur = this.#tcp.get(st.name);
        if (st.tcp && (!cur || cur.listen !== st.tcp)) {
          this.#hub.ensureStream(st.name, ringLimits(next, st.replay, st.replay_bytes));
          const t = new TcpStreamServer({ hub: this.#hub, stream: st.name, listen: st.tcp, maxLag: next.limits.client_lag });
          try {
            await t.start();
          } catch (err) {
            for (const n of newTcp.values()) await n.stop();
            return { ok: false, problems: [`streams.${st.name}.tcp: cannot listen on ${st.tcp}: ${(err as Error).message}`] };
          }
          newTcp.set(st.name, t);
        }
      }
      // sources: build every new or changed one before touching the old ones
      const nextSources = new Map<string, RunningSource>();
      for (const c of next.sources) {
        const cur = this.#sources.get(c.name);
        if (cur && cur.key === JSON.stringify(c)) nextSources.set(c.name, cur);
        else {
          try {
            nextSources.set(c.name, this.#build(c));
          } catch (err) {
            for (const n of newTcp.values()) await n.stop();
            return { ok: false, problems: [`sources.${c.name}: ${(err as Error).message}`] };
          }
          changed.push(`sources.${c.name}`);
        }
      }
      // commit: stop removed/replaced sources (their checkpoints flush), then start the new ones
      for (const [name, cur] of this.#sources) {
        if (nextSources.get(name) !== cur) {
          await cur.source.stop();
          if (!nextSources.has(name)) changed.push(`sources.${name} (removed)`);
        }
      }
      // what needs a restart keeps running as it started (heartbeat, rings, slack, ...) until one
      this.#cfg = keepRunning(prev, next);
      configureClientSlack(this.#cfg.limits.memory);
      // a pool created at start is resized (sources built without one keep parsing inline)
      const threads = parseThreads(next);
      if (this.#parsePool && threads !== this.#parsePool.threads) {
        this.#parsePool.resize(threads);
        changed.push('limits.parse_threads');
      } else if (!this.#parsePool && threads > 0) restart.push('limits.parse_threads');
      // a stream the reload adds gets its configured ring (an existing ring keeps its size: restart_required)
      for (const st of next.streams) this.#hub.ensureStream(st.name, ringLimits(next, st.replay, st.replay_bytes));
      for (const st of sourceStreams(next)) this.#hub.ensureStream(st);
      for (const r of nextSources.values()) {
        if (!this.#sources.has(r.cfg.name) || this.#sources.get(r.cfg.name) !== r) await r.source.start(this.#pipeline);
      }
      this.#sources = nextSources;
      // a removed source's transforms end: their open sessions are emitted
      this.#stage.retainPlans(new Set(nextSources.keys()));
      for (const [name, t] of this.#tcp) {
        const want = next.streams.find((s) => s.name === name)?.tcp;
        if (newTcp.has(name) || !want) {
          await t.stop();
          this.#tcp.delete(name);
          changed.push(`streams.${name}.tcp`);
        }
      }
      for (const [name, t] of newTcp) {
        this.#tcp.set(name, t);
        if (!changed.includes(`streams.${name}.tcp`)) changed.push(`streams.${name}.tcp`);
      }
      this.#logger.info({ changed, restart_required: restart }, `reloaded: ${changed.length ? changed.join(', ') : 'no component changed'}${restart.length ? `; needs a restart: ${restart.join(', ')}` : ''}`);
      return { ok: true, changed, restart_required: restart };
    } finally {
      this.#reloading = false;
    }
  }

  /** Ordered shutdown. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const stopStarted = Date.now();
      // what this server fetched and did not push goes back to JetStream at once (another server takes it)
      await this.#busSource?.stop();
      await this.#control?.stop();
      await this.#tail?.stop();
      for (const s of this.#sources.values()) {
        try {
          await s.source.stop();
        } catch (err) {
          this.#logger.error({ component: 'source', name: s.cfg.name }, `source ${s.cfg.name}: stop failed: ${(err as Error).message}`);
        }
      }
      // every open session is emitted (reason "shutdown") before the clients' last records are flushed
      this.#stage?.close();
      // the forward sinks spool their open batch and try to send what is spooled, leaving time for the rest
      const fwdDeadline = stopStarted + Math.max(500, this.#cfg.limits.shutdown_timeout - 2000);
      await Promise.all([this.#forwards?.stop(fwdDeadline), this.#publisher?.stop(fwdDeadline)]);
      this.#archives?.close();
      // the clients' last records are flushed (each TCP stop waits too) before the server closes
      const sse = closeAllSse();
      for (const t of this.#tcp.values()) await t.stop();
      await sse;
      await this.#http?.close();
      await this.#alerting?.close();
      await this.#parsePool?.close();
      this.#seq?.close(this.#hub.lastSeq);
    })();
    return this.#stopping;
  }
}
