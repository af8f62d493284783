/**
 * The syslog source: lifecycle and wiring of its listeners (UDP, TCP, TLS;
 * udp.ts, stream.ts), one lane spec for all of them, and `status()`: the
 * listeners' counters summed with the parse stage's (records, lines, ...)
 * for /api/status and `sluice_source_events_total`, plus per-listener
 * counters and bound addresses under `listeners`.
 *
 * Records carry `origin = { kind: "syslog", transport: "udp" | "tcp" |
 * "tls", peer: "ip:port" }`. Nothing is checkpointed: a network source has
 * no position to resume from (TCP senders keep what we have not read).
 */
import type { Pipeline, Source, SourceStatus } from '../../core/pipeline.js';
import { Health, problemOf } from '../../core/health.js';
import { ParseStage, type LaneSpec, type StageCounters } from '../../parse/stage.js';
import type { ParsePool } from '../../parse/pool.js';
import type { SyslogSourceConfig } from './config.js';
import { newStageCounters, sumCounters } from './counters.js';
import type { ListenerContext, SyslogListener } from './listener.js';

/** Batches of at least this much text go to a parse thread (when the daemon has them). */
const THREAD_MIN_SIZE = 16 * 1024;
import { StreamListener } from './stream.js';
import { UdpListener } from './udp.js';

export interface SyslogSourceOptions {
  /** The daemon's parse stage; without it the source makes its own at start. */
  stage?: ParseStage;
  parsePool?: ParsePool;
}

export class SyslogSource implements Source {
  readonly name: string;
  readonly type = 'syslog';
  readonly stream: string;
  readonly health: Health;
  readonly #cfg: SyslogSourceConfig;
  readonly #opts: SyslogSourceOptions;
  readonly #stage: StageCounters = newStageCounters();
  #listeners: SyslogListener[] = [];

  constructor(cfg: SyslogSourceConfig, opts: SyslogSourceOptions = {}) {
    this.#cfg = cfg;
    this.#opts = opts;
    this.name = cfg.name;
    this.stream = cfg.stream ?? cfg.name;
    this.health = new Health('source', cfg.name, 'syslog');
  }

  async start(pipeline: Pipeline): Promise<void> {
    const cfg = this.#cfg;
    const spec: LaneSpec = {
      source: cfg.name,
      stream: this.stream,
      format: cfg.format,
      // frames are capped by the decoder (an oversize head carries its marker as a string item)
      maxLineBytes: cfg.max_frame_bytes,
      dropStage: 'syslog',
      counters: this.#stage,
      // A TCP read is at most 64 KiB and its frames' run a little less: the stage's 64 Ki default would keep
      // every batch on the main thread (measured: 150k lines/s on one connection, inline).
      threadMinSize: THREAD_MIN_SIZE,
    };
    const stage = this.#opts.stage ?? new ParseStage(pipeline, this.#opts.parsePool);
    // the source's transforms (the stateless prefix where a batch is parsed, the rest at commit)
    const plan = stage.plan(cfg.name, this.stream, cfg.transforms);
    if (plan !== undefined) spec.transforms = plan;
    const ctx: ListenerContext = { cfg, stage, pipeline, spec };
    this.health.set('starting');
    const ls: SyslogListener[] = [];
    try {
      if (cfg.udp !== undefined) ls.push(new UdpListener(ctx));
      if (cfg.tcp !== undefined) ls.push(new StreamListener(ctx, 'tcp'));
      if (cfg.tls !== undefined) ls.push(new StreamListener(ctx, 'tls'));
      // each one settles (a failed one must not leave the others bound), then the first failure is raised
      const r = await Promise.allSettled(ls.map((l) => l.start()));
      const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (err) {
      await Promise.allSettled(ls.map((l) => l.stop()));
      this.health.set('error', problemOf(err));
      throw err;
    }
    this.#listeners = ls;
    this.health.set('running');
    this.health.note('listening', `listening on ${ls.map((l) => `${l.transport} ${l.status().address}`).join(', ')}`, { listeners: ls.map((l) => `${l.transport}://${l.status().address}`) });
  }

  async stop(): Promise<void> {
    const ls = this.#listeners;
    await Promise.all(ls.map((l) => l.stop()));
    if (this.health.state !== 'error') this.health.set('stopped');
  }

  status(): SourceStatus {
    const listeners = this.#listeners.map((l) => l.status());
    const st: SourceStatus = {
      name: this.name,
      type: this.type,
      stream: this.stream,
      ...this.health.view(),
      counters: { ...sumCounters(listeners.map((l) => l.counters)), ...this.#stage },
      listeners,
    };
    return st;
  }

  /** A listener (tests). */
  listener(transport: 'udp' | 'tcp' | 'tls'): SyslogListener | undefined {
    return this.#listeners.find((l) => l.transport === transport);
  }

  /** The bound "host:port" of a listener (tests and the bench listen on port 0). */
  address(transport: 'udp' | 'tcp' | 'tls'): string | null {
    return this.#listeners.find((l) => l.transport === transport)?.status().address ?? null;
  }
}
