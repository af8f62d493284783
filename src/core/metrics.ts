/**
 * The metrics registry (prom-client). Owns the counters every stage shares:
 * `sluice_dropped_total{stage,reason}` (the one place a drop is counted) and
 * the per-source counters, which sources keep as plain numbers in
 * `status().counters` and are read at scrape time (no per-line metric call on
 * the hot path).
 */
import client from 'prom-client';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readdirSync } from 'node:fs';
import { COMPONENT_STATES, type ComponentState, type HealthSubject } from './health.js';

type HealthSubjectState = HealthSubject & { readonly state: ComponentState };

export interface SourceCounterView {
  name: string;
  type: string;
  counters: Record<string, number>;
  /** Per-instance tails (a Docker source's containers): lines read by each. */
  instances?: { id: string; name: string; lines: number }[];
  /** Per-listener counters (a syslog source's UDP, TCP and TLS listeners). */
  listeners?: ListenerView[];
}

/** One listener of a source: `transport://address` names it in /metrics. */
export interface ListenerView {
  transport: string;
  /** The bound address; the configured `listen` while not bound. */
  address: string | null;
  listen: string;
  counters: Record<string, number>;
}

/** Counters of a source or listener that go up and down: `sluice_listener_connections`, not part of the `_total` series. */
const GAUGE_COUNTERS = new Set(['connections_active']);

type Labels<L extends string> = Record<L, string>;

/**
 * A counter read from plain monotonic numbers at scrape time (sources and
 * sinks count without a metric call on the hot path): each series grows by
 * what its number grew since the last scrape, a new one appears at 0, and a
 * number that went back (a source started again) adds nothing until it
 * passes its old value, so the series stays monotonic.
 */
function deltaCounter<L extends string>(registry: client.Registry, name: string, help: string, labelNames: readonly L[], rows: () => Iterable<[Labels<L>, number]>): void {
  let last = new Map<string, number>();
  new client.Counter({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    collect() {
      const next = new Map(last);
      for (const [labels, n] of rows()) {
        if (typeof n !== 'number' || !Number.isFinite(n)) continue;
        const key = labelNames.map((l) => labels[l]).join('\u0000');
        const prev = last.get(key) ?? 0;
        if (n > prev) this.inc(labels, n - prev);
        else if (!last.has(key)) this.inc(labels, 0);
        next.set(key, Math.max(prev, n));
      }
      last = next;
    },
  });
}

/** "tcp://127.0.0.1:5514" */
function listenerName(l: ListenerView): string {
  return `${l.transport}://${l.address ?? l.listen}`;
}

/** What a forward sink shows /metrics (its status()). */
export interface ForwardView {
  name: string;
  spool_bytes: number;
  spool_batches: number;
  oldest_unacked_s: number | null;
  counters: Record<string, number>;
}

const AUTH_REASONS = ['missing', 'invalid', 'limited', 'forbidden'] as const;

export class Metrics {
  readonly registry = new client.Registry();
  readonly dropped: client.Counter<'stage' | 'reason'>;
  readonly records: client.Counter<'stream'>;
  readonly clients: client.Gauge<'kind'>;
  #drops = new Map<string, number>();
  #sourceViews: () => SourceCounterView[] = () => [];
  #authView: () => Record<string, number> = () => ({});
  #forwardViews: () => ForwardView[] = () => [];
  #healthViews: () => readonly HealthSubjectState[] = () => [];

  constructor() {
    registerProcessMetrics(this.registry);
    this.#registerInstanceMetrics();
    this.#registerForwardMetrics();
    this.#registerHealthMetrics();
    this.dropped = new client.Counter({
      name: 'sluice_dropped_total',
      help: 'Records or inputs dropped or repaired, by stage and bounded reason.',
      labelNames: ['stage', 'reason'],
      registers: [this.registry],
    });
    this.records = new client.Counter({
      name: 'sluice_records_total',
      help: 'Records accepted by the hub, by stream.',
      labelNames: ['stream'],
      registers: [this.registry],
    });
    this.clients = new client.Gauge({
      name: 'sluice_live_clients',
      help: 'Connected live subscribers, by kind (sse, tcp).',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    const auth = () => this.#authView();
    new client.Counter({
      name: 'sluice_auth_denied_total',
      help: 'API requests refused by authentication, by reason (missing, invalid, limited, forbidden).',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        // the auth hook counts in plain numbers (monotonic); publish them as they are
        this.reset();
        for (const reason of AUTH_REASONS) this.inc({ reason }, auth()[reason] ?? 0);
      },
    });
    const views = () => this.#sourceViews();
    deltaCounter(this.registry, 'sluice_source_events_total', 'Per-source counters (lines, bytes, records, rotations, truncated, repaired, ...), by source, type and counter.', ['source', 'type', 'counter'], function* () {
      for (const v of views()) for (const [k, n] of Object.entries(v.counters)) if (!GAUGE_COUNTERS.has(k)) yield [{ source: v.name, type: v.type, counter: k }, n];
    });
    deltaCounter(this.registry, 'sluice_listener_events_total', 'Per-listener counters of a source (connections, bytes, frames, datagrams, and each bad-input reason), by source, listener (transport://address) and counter.', ['source', 'listener', 'counter'], function* () {
      for (const v of views()) {
        for (const l of v.listeners ?? []) {
          for (const [k, n] of Object.entries(l.counters)) if (!GAUGE_COUNTERS.has(k)) yield [{ source: v.name, listener: listenerName(l), counter: k }, n];
        }
      }
    });
    new client.Gauge({
      name: 'sluice_listener_connections',
      help: 'Open connections of a listener, by source and listener (transport://address).',
      labelNames: ['source', 'listener'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const v of views()) for (const l of v.listeners ?? []) if (l.transport !== 'udp') this.set({ source: v.name, listener: listenerName(l) }, l.counters.connections_active ?? 0);
      },
    });
  }

  /** The forward sinks (sinks/forward): spool gauges, and their counters published as they count. */
  #registerForwardMetrics(): void {
    const views = () => this.#forwardViews();
    const gauge = (name: string, help: string, pick: (v: ForwardView) => number | null) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['forward'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const v of views()) {
            const x = pick(v);
            if (x !== null) this.set({ forward: v.name }, x);
          }
        },
      });
    gauge('sluice_forward_spool_bytes', 'Bytes of unacknowledged batches in the forward spool.', (v) => v.spool_bytes);
    gauge('sluice_forward_spool_batches', 'Unacknowledged batches in the forward spool.', (v) => v.spool_batches);
    gauge('sluice_forward_oldest_unacked_seconds', 'Age of the oldest unacknowledged batch (absent when none).', (v) => v.oldest_unacked_s);
    deltaCounter(this.registry, 'sluice_forward_events_total', 'Forward sink counters (batches_sent, records_sent, bytes_sent, retries, dead_lettered, dropped_batches, dropped_records, send_ms_total, ...), by forward and counter.', ['forward', 'counter'], function* () {
      for (const v of views()) for (const [k, n] of Object.entries(v.counters)) yield [{ forward: v.name, counter: k }, n];
    });
  }

  setForwardViews(fn: () => ForwardView[]): void {
    this.#forwardViews = fn;
  }

  /** Sources and sinks with their state (core/health.ts). */
  setHealthViews(fn: () => readonly HealthSubjectState[]): void {
    this.#healthViews = fn;
  }

  /** `sluice_component_state{kind,name,type,state}`: 1 for the state a component is in, 0 for the others. */
  #registerHealthMetrics(): void {
    const views = () => this.#healthViews();
    new client.Gauge({
      name: 'sluice_component_state',
      help: `State of each source and sink: 1 for the current one of ${COMPONENT_STATES.join(', ')}.`,
      labelNames: ['kind', 'name', 'type', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const v of views()) for (const st of COMPONENT_STATES) this.set({ kind: v.kind, name: v.name, type: v.type, state: st }, v.state === st ? 1 : 0);
      },
    });
  }

  /** Per-container (per-instance) series: active tails and lines read by each. */
  #registerInstanceMetrics(): void {
    const views = () => this.#sourceViews();
    new client.Gauge({
      name: 'sluice_source_tails',
      help: 'Active per-instance tails of a source (e.g. followed containers).',
      labelNames: ['source'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const v of views()) if (v.instances) this.set({ source: v.name }, v.instances.length);
      },
    });
    deltaCounter(this.registry, 'sluice_source_instance_lines_total', 'Lines read per instance (container) of a source; instances that ended keep their last value until restart.', ['source', 'instance', 'instance_name'], function* () {
      for (const v of views()) for (const i of v.instances ?? []) yield [{ source: v.name, instance: i.id.slice(0, 12), instance_name: i.name }, i.lines];
    });
  }

  /** Count `n` drops at `stage` for a bounded `reason` (never free text). */
  drop(stage: string, reason: string, n = 1): void {
    if (n <= 0) return;
    this.dropped.inc({ stage, reason }, n);
    const key = stage + '/' + reason;
    this.#drops.set(key, (this.#drops.get(key) ?? 0) + n);
  }

  /** Drops as `{ "stage/reason": n }` for /api/status. */
  drops(): Record<string, number> {
    return Object.fromEntries(this.#drops);
  }

  /** The API's refusal counters (api/auth.ts). */
  setAuthView(fn: () => Record<string, number>): void {
    this.#authView = fn;
  }

  setSourceViews(fn: () => SourceCounterView[]): void {
    this.#sourceViews = fn;
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Process metrics. prom-client's collectDefaultMetrics names some gauges
 * `*_total`, which `promtool check metrics` rejects; these few are what an
 * operator needs, named by the Prometheus conventions.
 */
function registerProcessMetrics(registry: client.Registry): void {
  const registers = [registry];
  const start = Math.round(Date.now() / 1000 - process.uptime());
  new client.Gauge({ name: 'sluice_process_start_time_seconds', help: 'Start time of the process since the Unix epoch in seconds.', registers, collect() { this.set(start); } });
  new client.Counter({
    name: 'sluice_process_cpu_seconds_total',
    help: 'User and system CPU time spent in seconds.',
    registers,
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  new client.Gauge({
    name: 'sluice_process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() { this.set(process.memoryUsage.rss()); },
  });
  new client.Gauge({
    name: 'sluice_process_heap_bytes',
    help: 'V8 heap used in bytes.',
    registers,
    collect() { this.set(process.memoryUsage().heapUsed); },
  });
  new client.Gauge({
    name: 'sluice_process_open_fds',
    help: 'Number of open file descriptors.',
    registers,
    collect() {
      try {
        this.set(readdirSync('/proc/self/fd').length);
      } catch {
        /* not Linux */
      }
    },
  });
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  new client.Gauge({
    name: 'sluice_process_event_loop_delay_p99_seconds',
    help: 'p99 event loop delay since the previous scrape, in seconds.',
    registers,
    collect() {
      this.set(lag.percentile(99) / 1e9);
      lag.reset();
    },
  });
}
