/**
 * The daemon's part in a scale-out, by `role` (docs/deployment.md): an
 * agent's publisher (a forward stage with the JetStream transport, spooled
 * under data_dir/spool/bus) and a server's consumer (sources/nats). main.ts
 * builds the one its role needs; `role = "all"` builds neither.
 */
import { hostname } from 'node:os';
import type { PipelineRuntime } from '../core/pipeline-runtime.js';
import type { HealthObserver } from '../core/health.js';
import { ForwardStage } from '../sinks/forward/forward.js';
import { JetStreamTransport } from '../sinks/forward/jetstream.js';
import { BusSource, type StoredFn } from '../sources/nats/source.js';
import type { BusConfig } from './config.js';
import type { Alerting } from '../alerting.js';
import { BusControl } from './control.js';

/** The publisher's name: its spool directory (data_dir/spool/bus) and its `forward` label in metrics. */
export const PUBLISHER_NAME = 'bus';

export interface PublisherDeps {
  dataDir: string;
  drop(stage: string, reason: string, n: number): void;
  log(msg: string): void;
  observe?: HealthObserver;
}

/** role = "agent": every record after the hub goes to JetStream through the spool. */
export function startPublisher(cfg: BusConfig, pipeline: PipelineRuntime, deps: PublisherDeps): ForwardStage {
  const transport = new JetStreamTransport(cfg, clientName('agent'));
  const st = new ForwardStage(cfg.publish, { name: PUBLISHER_NAME, dataDir: deps.dataDir, drop: deps.drop, log: deps.log, transport });
  st.health.observe(deps.observe);
  const r = st.start();
  if (r.batches > 0) deps.log(`${st.name}: ${r.batches} spooled batch(es) (${r.records} records) from an earlier run are published first`);
  pipeline.addStage(st);
  return st;
}

/** role = "server": the consumer, not yet started (main.ts starts it once the API listens); a message is acknowledged once `stored` says its events are. */
export function busConsumer(cfg: BusConfig, stored: StoredFn, observe?: HealthObserver): BusSource {
  const s = new BusSource(cfg, clientName('server'), stored);
  s.health.observe(observe);
  return s;
}

function clientName(role: string): string {
  return `sluice-${role}-${hostname()}-${process.pid}`;
}

/** role = "server": rule and trigger changes told to and heard from the other servers (started at once, in the background). */
export function startControl(cfg: BusConfig, alerting: Alerting, log: (msg: string) => void): BusControl {
  const c = new BusControl(cfg, clientName('server-control'), (what) => alerting.reloadFromStore(what), log);
  alerting.onChange = (what) => c.changed(what);
  c.start();
  return c;
}
